"""Each number's last four digits in their own indexed column, for the desk's search (the mask shows them)."""

from django.db import migrations, models

from consent_app.phones import last_four


def fill_last_four(apps, schema_editor):
    PhoneNumber = apps.get_model("consent_app", "PhoneNumber")
    batch = []
    for phone in PhoneNumber.objects.only("pk", "e164").iterator(chunk_size=500):  # e164 is decrypted here
        phone.last_four = last_four(phone.e164)
        batch.append(phone)
        if len(batch) == 500:
            PhoneNumber.objects.bulk_update(batch, ["last_four"])
            batch = []
    if batch:
        PhoneNumber.objects.bulk_update(batch, ["last_four"])


class Migration(migrations.Migration):

    dependencies = [
        ("consent_app", "0004_key_canary"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalphonenumber",
            name="last_four",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=4,
                                   verbose_name="last four digits"),
        ),
        migrations.AddField(
            model_name="phonenumber",
            name="last_four",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=4,
                                   verbose_name="last four digits"),
        ),
        migrations.RunPython(fill_last_four, migrations.RunPython.noop),
    ]
