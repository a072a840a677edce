"""Grant the roles their permissions on policies, holidays and contact attempts."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Compliance officer": ["view_contactpolicy", "view_contactpolicyversion", "add_contactpolicyversion",
                           "view_publicholiday", "add_publicholiday", "change_publicholiday",
                           "view_contactattempt"],
    "Supervisor": ["view_contactpolicy", "view_contactpolicyversion", "view_contactattempt"],
    "Collector": ["view_contactattempt"],
}


def grant(apps, schema_editor):
    from django.apps import apps as global_apps

    create_permissions(global_apps.get_app_config("collections_app"), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.get(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="collections_app", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [("collections_app", "0005_policy_presets")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
