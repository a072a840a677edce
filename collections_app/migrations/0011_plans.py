"""Repayment plans and promises (issue 5): default approval limits (editable in admin) and the roles' admin
permissions on the plans models. The tables themselves were created by 0008_plans_and_complaints (generated while
the plans and complaints models landed together)."""

from decimal import Decimal

from django.db import migrations

# Mirrors settings.PLAN_DEFAULT_APPROVAL_LIMITS when this was written (a migration must not read settings that may
# change later). Beyond the collector's row a plan goes to the team supervisor; beyond the supervisor's, to
# compliance.
DEFAULT_LIMITS = {
    "Collector": {"max_installments": 6, "max_discount_percent": Decimal("10.00"), "max_first_payment_delay_days": 14},
    "Supervisor": {"max_installments": 12, "max_discount_percent": Decimal("30.00"),
                   "max_first_payment_delay_days": 30},
}

PLAN_MODELS = ["promise", "repaymentplan", "installment", "allocation", "approvallimit"]
GRANTS = {
    # Compliance edits the limits; plans, promises and allocations are written by the services only.
    "Compliance officer": [f"view_{m}" for m in PLAN_MODELS] + ["add_approvallimit", "change_approvallimit"],
    "Supervisor": [f"view_{m}" for m in PLAN_MODELS],
}


def install(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    ApprovalLimit = apps.get_model("collections_app", "ApprovalLimit")
    for role, values in DEFAULT_LIMITS.items():
        ApprovalLimit.objects.get_or_create(role=role, defaults=values)
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


def uninstall(apps, schema_editor):
    apps.get_model("collections_app", "ApprovalLimit").objects.filter(role__in=DEFAULT_LIMITS).delete()
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="collections_app", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [("collections_app", "0010_compliance_add_permissions")]
    operations = [migrations.RunPython(install, uninstall)]
