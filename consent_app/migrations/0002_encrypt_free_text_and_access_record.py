"""Free text typed about a borrower is encrypted, like names and numbers: a restriction's reason and lift reason
(and their history copies), and the reason for a number's last status change (new). Reveals get their access
record (`PiiAccess`): the reason a reader gave is kept there, encrypted, instead of in the audit log.

fernet_fields cannot convert a plaintext column in place (an AlterField would leave plaintext in a column that is
decrypted on every read), so each column is renamed aside, an encrypted column is added, every row is copied
across (encrypted on the way), and the plaintext column is dropped. Reversible: going back decrypts into the
plaintext columns again (cut to their old length), and status reasons back into the change reasons.

Status-change reasons used to be written as the number's history change reason, in plaintext: they move into the
new encrypted field of each history row (and of the number, for its latest change) and the change reason becomes
"status changed".
"""

import django.db.models.deletion
import fernet_fields.fields
from django.conf import settings
from django.db import migrations, models

ASIDE = "{}_plaintext"
# model -> {field: old plaintext max_length}
CONVERTED = {
    "restriction": {"reason": 500, "lift_reason": 500},
    "historicalrestriction": {"reason": 500, "lift_reason": 500},
}
REQUIRED = {"reason"}  # columns without blank=True: the aside copy needs a default to be re-added on the way back
STATUS_CHANGED = "status changed"
NOT_STATUS_CHANGES = {"number added", STATUS_CHANGED}  # change reasons of phone saves that are not status changes


def _encrypted(name):
    verbose = {"reason": "reason", "lift_reason": "lift reason"}[name]
    return fernet_fields.fields.EncryptedTextField(
        blank=name not in REQUIRED, default="", max_length=2000, verbose_name=verbose
    )


def _convert_operations():
    before, after = [], []
    for model_name, fields in CONVERTED.items():
        for name, length in fields.items():
            aside = ASIDE.format(name)
            before.append(migrations.RenameField(model_name, name, aside))
            if name in REQUIRED:
                before.append(migrations.AlterField(
                    model_name, aside, models.CharField(default="", max_length=length, verbose_name=name)
                ))
            before.append(migrations.AddField(model_name, name, _encrypted(name), preserve_default=False))
            after.append(migrations.RemoveField(model_name, aside))
    return before, after


def _batches(queryset, size=500):
    """The rows of `queryset` (a values_list starting with the pk), read in pk batches: the table is updated
    while it is read, so no cursor stays open on it."""
    pks = list(queryset.values_list("pk", flat=True).order_by("pk"))
    for start in range(0, len(pks), size):
        yield from queryset.filter(pk__in=pks[start:start + size]).order_by("pk")


def _copy(apps, *, encrypt):
    for model_name, fields in CONVERTED.items():
        model = apps.get_model("consent_app", model_name)
        pairs = [(ASIDE.format(name), name, length) for name, length in fields.items()]
        sources = [aside if encrypt else name for aside, name, _length in pairs]
        for pk, *values in _batches(model.objects.values_list("pk", *sources)):
            if encrypt and not any(values):
                continue  # the new column already holds the encrypted empty string
            if encrypt:
                update = {name: value for (_aside, name, _length), value in zip(pairs, values, strict=True)}
            else:
                update = {aside: (value or "")[:length]
                          for (aside, _name, length), value in zip(pairs, values, strict=True)}
            # update(): no history row for a change of storage; get_db_prep_save encrypts the new column.
            model.objects.filter(pk=pk).update(**update)


def _move_status_reasons(apps, *, forward):
    PhoneNumber = apps.get_model("consent_app", "PhoneNumber")
    HistoricalPhoneNumber = apps.get_model("consent_app", "HistoricalPhoneNumber")
    latest = {}
    changes = (
        HistoricalPhoneNumber.objects.filter(history_type="~")
        .exclude(history_change_reason__isnull=True).exclude(history_change_reason__in=NOT_STATUS_CHANGES)
        if forward
        else HistoricalPhoneNumber.objects.filter(history_type="~", history_change_reason=STATUS_CHANGED)
    )
    rows = _batches(changes.values_list("pk", "id", "history_date", "history_change_reason", "last_status_reason"))
    for history_id, phone_id, at, change_reason, status_reason in rows:
        if forward:
            update = {"last_status_reason": change_reason, "history_change_reason": STATUS_CHANGED}
            if phone_id not in latest or at >= latest[phone_id][0]:
                latest[phone_id] = (at, change_reason)
        else:
            update = {"history_change_reason": (status_reason or STATUS_CHANGED)[:100]}
        HistoricalPhoneNumber.objects.filter(pk=history_id).update(**update)
    for phone_id, (_at, reason) in latest.items():
        PhoneNumber.objects.filter(pk=phone_id).update(last_status_reason=reason)


def _fire_deferred_checks(schema_editor):
    """The rows were updated in this migration's transaction; on PostgreSQL their deferred foreign-key checks are
    still pending, and ALTER TABLE refuses a table with pending trigger events. Run the checks now."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def forward(apps, schema_editor):
    _copy(apps, encrypt=True)
    _move_status_reasons(apps, forward=True)
    _fire_deferred_checks(schema_editor)


def backward(apps, schema_editor):
    _move_status_reasons(apps, forward=False)
    _copy(apps, encrypt=False)
    _fire_deferred_checks(schema_editor)


BEFORE, AFTER = _convert_operations()


class Migration(migrations.Migration):

    dependencies = [
        ("consent_app", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # New encrypted columns get an explicit "" for the existing rows: without a default, Django fills a blank
    # binary column with b"", which fernet_fields stores as the encrypted text "b''".
    operations = [
        migrations.AddField(
            model_name="historicalphonenumber",
            name="last_status_reason",
            preserve_default=False,
            field=fernet_fields.fields.EncryptedTextField(
                default="", blank=True, verbose_name="reason for the last status change"
            ),
        ),
        migrations.AddField(
            model_name="phonenumber",
            name="last_status_reason",
            preserve_default=False,
            field=fernet_fields.fields.EncryptedTextField(
                default="", blank=True, verbose_name="reason for the last status change"
            ),
        ),
        *BEFORE,
        migrations.RunPython(forward, backward),
        *AFTER,
        migrations.CreateModel(
            name="PiiAccess",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reason", fernet_fields.fields.EncryptedTextField(max_length=200, verbose_name="reason")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="read at")),
                ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="+", to=settings.AUTH_USER_MODEL)),
                ("phone", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="accesses",
                                            to="consent_app.phonenumber")),
            ],
            options={
                "verbose_name": "personal-data access",
                "verbose_name_plural": "personal-data accesses",
                "ordering": ["-created_at", "-id"],
            },
        ),
    ]
