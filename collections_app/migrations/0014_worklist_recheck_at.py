"""Worklist entries say until when the clock alone leaves their verdict unchanged (`recheck_at`)."""

from django.db import migrations, models
from django.db.models import F


def entries_built_before_are_due(apps, schema_editor):
    # Entries stored before this field existed do not know how long they hold: the page judges them again the
    # first time it shows them.
    apps.get_model("collections_app", "WorklistEntry").objects.update(recheck_at=F("built_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("collections_app", "0013_user_sessions_with_user_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="worklistentry",
            name="recheck_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="recheck at"),
        ),
        migrations.RunPython(entries_built_before_are_due, migrations.RunPython.noop),
    ]
