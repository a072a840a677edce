"""Borrowers' legacy zone names are stored as the zone they stand for (`US/Eastern` as `America/New_York`), as
`consent_app.validators.canonical_timezone` now stores them. The same clock under its current name: no history row
is written. Every other value is left as it is; those that are not a place's zone (UTC, Etc/GMT+8, EST5EDT) or are
unknown are listed in the borrowers' admin under "Zone needs review" for compliance to correct."""

from django.core.exceptions import ValidationError
from django.db import migrations

from consent_app.validators import LEGACY_ZONES, canonical_timezone


def rewrite_legacy_zones(apps, schema_editor):
    Borrower = apps.get_model("consent_app", "Borrower")
    in_use = set(Borrower.objects.filter(timezone__in=list(LEGACY_ZONES)).values_list("timezone", flat=True))
    for legacy in sorted(in_use):
        try:
            zone = canonical_timezone(legacy)
        except ValidationError:
            continue  # its zone is missing from this tz database: left for review
        Borrower.objects.filter(timezone=legacy).update(timezone=zone)


class Migration(migrations.Migration):
    dependencies = [
        ("consent_app", "0002_encrypt_free_text_and_access_record"),
    ]

    operations = [
        migrations.RunPython(rewrite_legacy_zones, migrations.RunPython.noop),
    ]
