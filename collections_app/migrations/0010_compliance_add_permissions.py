"""Compliance officers add numbers, borrowers and third-party contacts in admin (a changed number is a new
number), and read API tokens."""

from django.db import migrations

GRANTS = {
    "Compliance officer": [
        ("consent_app", "add_phonenumber"), ("consent_app", "add_borrower"),
        ("consent_app", "add_thirdpartycontact"), ("collections_app", "view_apitoken"),
        ("collections_app", "change_apitoken"),
    ],
}


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GRANTS.items():
        group = Group.objects.get(name=name)
        for app_label, codename in perms:
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [("collections_app", "0009_complaints")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
