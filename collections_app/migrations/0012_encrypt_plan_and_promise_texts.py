"""Free text typed on promises and plans is encrypted, like account notes: a promise's note and its reason for
withdrawing (new), a plan's reason, decision comment and cancellation reason, and their history copies.

fernet_fields cannot convert a plaintext column in place (an AlterField would leave plaintext in a column that is
decrypted on every read), so each column is renamed aside, an encrypted column is added, every row is copied
across (encrypted on the way), and the plaintext column is dropped. Reversible: going back decrypts into the
plaintext columns again (cut to their old length).

A withdrawal's reason used to live only in its audit event and, cut to 100 characters, in the history change
reason ("pending → cancelled: <reason>"). It is copied from the audit event onto the promise (and its cancelled
history rows), and the change reasons of withdrawn promises and cancelled plans become "<state> → cancelled:
withdrawn". The audit events themselves are sealed in the chain and stay as written.
"""

import re

import fernet_fields.fields
from django.db import migrations

ASIDE = "{}_plaintext"
# model -> {field: (verbose name, old plaintext max_length or None for a TextField)}
CONVERTED = {
    "promise": {"note": ("note", 300)},
    "historicalpromise": {"note": ("note", 300)},
    "repaymentplan": {
        "reason": ("collector's reason", None), "decision_comment": ("decision comment", None),
        "cancel_reason": ("cancellation reason", 300),
    },
    "historicalrepaymentplan": {
        "reason": ("collector's reason", None), "decision_comment": ("decision comment", None),
        "cancel_reason": ("cancellation reason", 300),
    },
}
WITHDRAWN = "withdrawn"
# The one fixed reason of a promise cancelled by the service (not typed by anyone).
FIXED_CANCEL_REASONS = {"superseded by a new promise", WITHDRAWN}
CANCELLED_CHANGE = re.compile(r"^(?P<prefix>\w+ → cancelled): (?P<reason>.*)$", re.DOTALL)


def _convert_operations():
    before, after = [], []
    for model_name, fields in CONVERTED.items():
        for name, (verbose, _length) in fields.items():
            aside = ASIDE.format(name)
            before.append(migrations.RenameField(model_name, name, aside))
            before.append(migrations.AddField(
                model_name, name,
                fernet_fields.fields.EncryptedTextField(blank=True, default="", max_length=2000, verbose_name=verbose),
                preserve_default=False,
            ))
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
        model = apps.get_model("collections_app", model_name)
        pairs = [(ASIDE.format(name), name, length) for name, (_verbose, length) in fields.items()]
        sources = [aside if encrypt else name for aside, name, _length in pairs]
        for pk, *values in _batches(model.objects.values_list("pk", *sources)):
            if encrypt and not any(values):
                continue  # the new column already holds the encrypted empty string
            if encrypt:
                update = {name: value for (_aside, name, _length), value in zip(pairs, values, strict=True)}
            else:
                update = {aside: (value or "")[:length] if length else (value or "")
                          for (aside, _name, length), value in zip(pairs, values, strict=True)}
            # update(): no history row for a change of storage; get_db_prep_save encrypts the new column.
            model.objects.filter(pk=pk).update(**update)


def _withdrawal_reasons(apps):
    """promise id -> the reason its withdrawal's audit event recorded."""
    AuditEvent = apps.get_model("audit_app", "AuditEvent")
    reasons = {}
    events = AuditEvent.objects.filter(action="promise.cancelled", subject_type="collections_app.promise")
    for subject_id, data in events.values_list("subject_id", "data").iterator(chunk_size=1000):
        if isinstance(data, dict) and data.get("why") == WITHDRAWN and data.get("reason"):
            reasons[int(subject_id)] = str(data["reason"])
    return reasons


def _scrub_cancelled_changes(model):
    changes = model.objects.filter(state="cancelled", history_change_reason__contains="→ cancelled: ")
    for history_id, change_reason in _batches(changes.values_list("pk", "history_change_reason")):
        match = CANCELLED_CHANGE.match(change_reason)
        if match and match["reason"] not in FIXED_CANCEL_REASONS:
            model.objects.filter(pk=history_id).update(history_change_reason=f"{match['prefix']}: {WITHDRAWN}")


def _fire_deferred_checks(schema_editor):
    """The rows were updated in this migration's transaction; on PostgreSQL their deferred foreign-key checks are
    still pending, and ALTER TABLE refuses a table with pending trigger events. Run the checks now."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def forward(apps, schema_editor):
    _copy(apps, encrypt=True)
    Promise = apps.get_model("collections_app", "Promise")
    HistoricalPromise = apps.get_model("collections_app", "HistoricalPromise")
    for promise_id, reason in _withdrawal_reasons(apps).items():
        Promise.objects.filter(pk=promise_id, state="cancelled").update(cancel_reason=reason)
        HistoricalPromise.objects.filter(id=promise_id, state="cancelled").update(cancel_reason=reason)
    _scrub_cancelled_changes(HistoricalPromise)
    _scrub_cancelled_changes(apps.get_model("collections_app", "HistoricalRepaymentPlan"))
    _fire_deferred_checks(schema_editor)


def backward(apps, schema_editor):
    # The scrubbed change reasons are not restored: plans keep their reasons on the row, and the withdrawal
    # reasons of promises are still in their audit events.
    _copy(apps, encrypt=False)
    _fire_deferred_checks(schema_editor)


BEFORE, AFTER = _convert_operations()


class Migration(migrations.Migration):

    dependencies = [
        ("audit_app", "0006_seal_existing_events"),
        ("collections_app", "0011_plans"),
    ]

    # New encrypted columns get an explicit "" for the existing rows: without a default, Django fills a blank
    # binary column with b"", which fernet_fields stores as the encrypted text "b''".
    operations = [
        migrations.AddField(
            model_name="historicalpromise",
            name="cancel_reason",
            preserve_default=False,
            field=fernet_fields.fields.EncryptedTextField(default="", blank=True, max_length=2000,
                                                          verbose_name="reason for withdrawing"),
        ),
        migrations.AddField(
            model_name="promise",
            name="cancel_reason",
            preserve_default=False,
            field=fernet_fields.fields.EncryptedTextField(default="", blank=True, max_length=2000,
                                                          verbose_name="reason for withdrawing"),
        ),
        *BEFORE,
        migrations.RunPython(forward, backward),
        *AFTER,
    ]
