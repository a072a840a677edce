"""Complaints (issue 6): the roles' admin permissions on complaints. The complaint tables themselves were created
by 0008_plans_and_complaints (generated while the plans and complaints models landed together).

Compliance officers record complaints in admin and move any of them; supervisors read their team's and move the
ones assigned to them (object-level rules in collections_app.complaints.permissions)."""

from django.db import migrations

GRANTS = {
    "Compliance officer": ["view_complaint", "add_complaint", "change_complaint"],
    "Supervisor": ["view_complaint", "change_complaint"],
}


def grant(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    # On a fresh database permissions are created only after all migrations (post_migrate): create them now.
    create_permissions(global_apps.get_app_config("collections_app"), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label="collections_app", codename__in=codenames)
            )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="collections_app", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [("collections_app", "0008_plans_and_complaints")]
    operations = [migrations.RunPython(grant, revoke)]
