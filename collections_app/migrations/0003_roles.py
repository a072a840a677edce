"""Create the four role groups with their model permissions. Object-level access (which loans) is decided
in collections_app.permissions; these are the admin's model permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ("audit_app", "consent_app", "collections_app")

ROLES = {
    # Collectors work the desk only: read what they are assigned, never the admin (they are not staff).
    "Collector": {
        "consent_app": {"view": ["borrower", "phonenumber", "thirdpartycontact", "consent", "restriction",
                                 "inconvenienttime"]},
        "collections_app": {"view": ["loan", "payment"]},
    },
    "Supervisor": {
        "consent_app": {"view": ["borrower", "phonenumber", "thirdpartycontact", "consent", "restriction",
                                 "inconvenienttime"], "add": ["restriction"], "change": ["restriction"]},
        "collections_app": {"view": ["loan", "payment", "team", "teammember"], "change": ["loan"]},
    },
    # Compliance officers manage consents, restrictions and policies in admin and read the audit trail.
    "Compliance officer": {
        "consent_app": {
            "view": ["borrower", "phonenumber", "thirdpartycontact", "consent", "restriction", "inconvenienttime"],
            "add": ["consent", "restriction", "inconvenienttime"],
            "change": ["borrower", "phonenumber", "thirdpartycontact", "consent", "restriction", "inconvenienttime"],
        },
        "collections_app": {"view": ["loan", "payment", "team", "teammember"],
                            "change": ["loan", "team", "teammember"], "add": ["team", "teammember"]},
        "audit_app": {"view": ["auditevent"]},
    },
    "Integration": {},
}


def create_roles(apps, schema_editor):
    # On a fresh database the permissions are created only after all migrations (post_migrate); create them
    # now from the real app configs so the groups can be granted them.
    from django.apps import apps as global_apps

    for label in APPS:
        app_config = global_apps.get_app_config(label)
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        codenames = []
        for app_label, actions in grants.items():
            for action, models in actions.items():
                codenames += [(app_label, f"{action}_{m}") for m in models]
        perms = [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in codenames
        ]
        group.permissions.set(perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("collections_app", "0002_initial"),
        ("consent_app", "0001_initial"),
        ("audit_app", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
