"""Re-encrypt every encrypted column (and its history copy) under the first key of FERNET_KEYS.

Key rotation: prepend the new key to FERNET_KEYS (old keys stay, so everything still decrypts), deploy, run
this command, then drop the old key."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from fernet_fields import EncryptedField

from audit_app.models import AuditAction
from audit_app.services import audit_log

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt personal data under the newest FERNET key."

    def handle(self, *args, **options):
        totals: dict[str, int] = {}
        for model in apps.get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
            if not fields:
                continue
            count = 0
            pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
            for start in range(0, len(pks), BATCH):
                with transaction.atomic():
                    rows = model._default_manager.select_for_update().filter(pk__in=pks[start:start + BATCH])
                    for row in rows:
                        # Decrypt with any key, write back encrypted under the first key. update() on purpose:
                        # the plaintext does not change, so no history row is due.
                        values = {name: getattr(row, name) for name in fields}
                        model._default_manager.filter(pk=row.pk).update(**values)
                        count += 1
            totals[model._meta.label] = count
        with transaction.atomic():
            audit_log(action=AuditAction.PII_REENCRYPTED, subject_type="pii", subject_id="all", data=totals)
        for label, count in totals.items():
            self.stdout.write(f"{label}: {count} rows re-encrypted")
