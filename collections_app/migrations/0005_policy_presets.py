"""Load the CN, US and UK contact policy presets (version 1), each rule with its legal source.

Existing versions are never touched: a change to the preset data later reaches databases as a new version
(a later migration, or a compliance officer in admin), never as an edit of version 1."""

import datetime

from django.db import migrations

from collections_app.policy.presets import PRESETS

NAMES = {
    "CN": "China — CBA 2026 collection guideline, Civil Code art. 1033, PIPL",
    "US": "United States — FDCPA and Regulation F (12 CFR part 1006)",
    "UK": "United Kingdom — FCA CONC 7",
}
EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


def load_presets(apps, schema_editor):
    ContactPolicy = apps.get_model("collections_app", "ContactPolicy")
    ContactPolicyVersion = apps.get_model("collections_app", "ContactPolicyVersion")
    for code, data in PRESETS.items():
        policy, _ = ContactPolicy.objects.get_or_create(
            code=code, defaults={"name": NAMES.get(code, code), "jurisdiction": code}
        )
        if ContactPolicyVersion.objects.filter(policy=policy).exists():
            continue
        fields = {k: v for k, v in data.items() if k != "code"}
        ContactPolicyVersion.objects.create(
            policy=policy, version=1, effective_from=EPOCH, change_note="Preset loaded at installation.", **fields
        )


class Migration(migrations.Migration):
    dependencies = [("collections_app", "0004_contact_policy_attempts")]
    operations = [migrations.RunPython(load_presets, migrations.RunPython.noop)]
