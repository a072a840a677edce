"""Append-only audit log, chained and sealed.

Writers only INSERT (``audit_log`` / ``audit_log_bulk``), inside their own transaction and without any shared
lock. The sealer (``audit_chain_seal``, the ``audit_app.seal_chain`` task) then appends committed, unsealed events
to the chain in id order, giving each a consecutive ``seq`` and an HMAC seal over the previous seal and the
event's content (audit_app.chain). ``manage.py verify_audit_chain`` checks the seals, the head and the signed
checkpoints written outside the database. Events never hold personal data: subjects are referenced by type and
primary key, and ``data`` carries codes, ids and amounts only."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .chain import EventContent


class AuditAction(models.TextChoices):
    BORROWER_CREATED = "borrower.created", _("Borrower created")
    BORROWER_UPDATED = "borrower.updated", _("Borrower updated")
    PHONE_ADDED = "phone.added", _("Phone number added")
    PHONE_STATUS_CHANGED = "phone.status_changed", _("Phone number status changed")
    THIRD_PARTY_SAVED = "third_party.saved", _("Third-party contact saved")
    CONSENT_GRANTED = "consent.granted", _("Consent granted")
    CONSENT_WITHDRAWN = "consent.withdrawn", _("Consent withdrawn")
    RESTRICTION_PLACED = "restriction.placed", _("Restriction placed")
    RESTRICTION_LIFTED = "restriction.lifted", _("Restriction lifted")
    LOAN_CREATED = "loan.created", _("Loan created")
    LOAN_UPDATED = "loan.updated", _("Loan updated")
    LOAN_ASSIGNED = "loan.assigned", _("Loan assigned")
    PAYMENT_RECORDED = "payment.recorded", _("Payment recorded")
    IMPORT_RUN = "import.run", _("Import run")
    PII_REVEALED = "pii.revealed", _("Personal data revealed")
    PII_REENCRYPTED = "pii.reencrypted", _("Personal data re-encrypted")
    POLICY_VERSION_CREATED = "policy.version_created", _("Contact policy version created")
    CONTACT_CHECKED = "contact.checked", _("Contact checked")
    CONTACT_BATCH_CHECKED = "contact.batch_checked", _("Contacts checked in a batch")
    CONTACT_ATTEMPT_RECORDED = "contact.attempt_recorded", _("Contact attempt recorded")
    API_TOKEN_CREATED = "api.token_created", _("API token created")
    API_READ = "api.read", _("Read through the API")
    ADMIN_CHANGE = "admin.change", _("Changed in admin")
    PROMISE_CREATED = "promise.created", _("Promise to pay created")
    PROMISE_KEPT = "promise.kept", _("Promise to pay kept")
    PROMISE_BROKEN = "promise.broken", _("Promise to pay broken")
    PROMISE_CANCELLED = "promise.cancelled", _("Promise to pay cancelled")
    PLAN_PROPOSED = "plan.proposed", _("Repayment plan proposed")
    PLAN_SUBMITTED = "plan.submitted", _("Repayment plan submitted for approval")
    PLAN_APPROVED = "plan.approved", _("Repayment plan approved")
    PLAN_DECLINED = "plan.declined", _("Repayment plan declined")
    PLAN_ACTIVATED = "plan.activated", _("Repayment plan activated")
    PLAN_COMPLETED = "plan.completed", _("Repayment plan completed")
    PLAN_BROKEN = "plan.broken", _("Repayment plan broken")
    PLAN_CANCELLED = "plan.cancelled", _("Repayment plan cancelled")
    PAYMENT_ALLOCATED = "payment.allocated", _("Payment allocated")
    APPROVAL_LIMIT_CHANGED = "approval_limit.changed", _("Approval limit changed")
    CALLBACK_SCHEDULED = "callback.scheduled", _("Callback scheduled")
    NOTE_ADDED = "note.added", _("Note added")
    COMPLAINT_OPENED = "complaint.opened", _("Complaint opened")
    COMPLAINT_STATE_CHANGED = "complaint.state_changed", _("Complaint state changed")
    COMPLAINT_ESCALATED = "complaint.escalated", _("Complaint escalated to compliance")
    COMPLAINT_REPORT_EXPORTED = "complaint.report_exported", _("Complaint report exported")
    SECOND_FACTOR_ENROLLED = "staff.second_factor_enrolled", _("Second factor enrolled")
    RECOVERY_CODE_USED = "staff.recovery_code_used", _("Recovery code used")
    SECOND_FACTOR_RESET = "staff.second_factor_reset", _("Second factor reset")
    USER_DEACTIVATED = "staff.user_deactivated", _("User deactivated")
    TIME_ZONE_CHANGED = "staff.time_zone_changed", _("Own time zone changed")
    AUDIT_TRAIL_EXPORTED = "audit.exported", _("Audit trail exported")
    ATTEMPTS_EXPORTED = "contact.attempts_exported", _("Contact attempts exported")
    MESSAGE_TEMPLATE_SAVED = "message_template.saved", _("Message template saved")
    TEMPLATE_VERSION_SAVED = "message_template.version_saved", _("Message template version saved")
    TEMPLATE_VERSION_SUBMITTED = "message_template.version_submitted", _("Message template version submitted")
    TEMPLATE_VERSION_APPROVED = "message_template.version_approved", _("Message template version approved")
    TEMPLATE_VERSION_REJECTED = "message_template.version_rejected", _("Message template version rejected")
    FORBIDDEN_PHRASE_SAVED = "forbidden_phrase.saved", _("Forbidden phrase saved")
    INCIDENT_PAUSE_STARTED = "incident.pause_started", _("Incident pause started")
    INCIDENT_PAUSE_LIFTED = "incident.pause_lifted", _("Incident pause lifted")


# Events per INSERT statement (9 parameters each). Bounded, so that statements come in few shapes: SQLite keeps
# its last 128 prepared statements, and large ones of varying sizes made an import's memory grow with its file.
_BULK_EVENTS = 250


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events are append-only.")

    # bulk_update goes through update(); a bulk insert goes through audit_app.services.audit_log_bulk only.
    def bulk_create(self, *args: Any, **kwargs: Any) -> list:
        raise AppendOnlyError("Audit events are written through audit_app.services.audit_log or audit_log_bulk.")

    def _append_bulk(self, events: list[AuditEvent]) -> list[AuditEvent]:
        """The one bulk INSERT (audit_log_bulk). Not on the manager: as_manager() skips underscore methods.

        One multi-row INSERT ... RETURNING per 250 events, each value through its field's get_db_prep_save, the
        seal columns left NULL: bulk_create's compiler costs more per event than the rest of an imported row, and
        a daily feed writes an event per changed loan."""
        for event in events:
            event.check_unsealed()
        connection = connections[self.db]
        if not connection.features.can_return_rows_from_bulk_insert:
            return super().bulk_create(events)
        quote = connection.ops.quote_name
        fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key and f.attname not in SEAL_FIELDS]
        marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
        columns = ", ".join(quote(f.column) for f in fields)
        insert = f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({columns}) VALUES "  # noqa: S608
        with connection.cursor() as cursor:
            for start in range(0, len(events), _BULK_EVENTS):
                chunk = events[start:start + _BULK_EVENTS]
                params = [f.get_db_prep_save(f.pre_save(event, True), connection) for event in chunk for f in fields]
                cursor.execute(insert + ", ".join([marks] * len(chunk)) + f" RETURNING {quote('id')}", params)
                keys = [row[0] for row in cursor.fetchall()]
                if len(keys) != len(chunk):
                    raise RuntimeError("the INSERT did not return a key per event")
                for event, key in zip(chunk, keys, strict=True):
                    event.pk = key
                    event._state.adding = False
                    event._state.db = self.db
        return events


class AuditChainHead(models.Model):
    """The sealer's position: ``count`` sealed events, the last one's seal ``last_hash``, and a MAC over both under
    the chain key ``key_id`` (rewinding the head needs the key). Its row lock makes sealing single-flight; writers
    never touch it, so audited writes do not wait for each other."""

    last_hash = models.CharField(max_length=64, default="0" * 64)
    count = models.BigIntegerField(default=0)
    key_id = models.CharField(max_length=32, blank=True, default="")
    mac = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"audit chain head ({self.count} sealed events)"


# Set once, by the sealer (services.audit_chain_seal); NULL until then.
SEAL_FIELDS = ("seq", "prev_hash", "hash", "key_id", "sealed_at")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text=_("Username, or 'system' for jobs."))
    # An AuditAction value. Not `choices=`: audit_log() accepts AuditAction members only, and keeping the enum
    # out of the schema lets new actions ship without a migration of this append-only table.
    action = models.CharField(max_length=64, db_index=True)
    subject_type = models.CharField(max_length=100, db_index=True)
    subject_id = models.CharField(max_length=64, db_index=True)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    # The seal columns: NULL until the sealer chains the event, then set exactly once (on PostgreSQL a trigger
    # refuses any other UPDATE). `seq` is the chain position, assigned at seal time: the commit order of
    # concurrent writers is not their id order, so the chain cannot be built at insert time without a lock.
    seq = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    key_id = models.CharField(max_length=32, null=True, blank=True, editable=False)
    sealed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        # Django's internal manager must refuse update/delete too, or related-object code paths could bypass them.
        base_manager_name = "objects"
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "occurred_at"]),
            # The sealer's work queue: only unsealed rows, so it stays small however long the log grows.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_event_unsealed_idx"),
        ]

    def __str__(self) -> str:
        when = timezone.localtime(self.occurred_at)
        return f"{when:%Y-%m-%d %H:%M:%S} {self.get_action_display()} {self.subject_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only.")
        self.check_unsealed()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events are append-only.")

    @property
    def is_sealed(self) -> bool:
        return self.seq is not None

    def check_unsealed(self) -> None:
        if not self._state.adding or any(getattr(self, name) is not None for name in SEAL_FIELDS):
            raise AppendOnlyError("Only the sealer sets an audit event's seal columns.")

    def content(self, *, seq: int, key_id: str) -> EventContent:
        """What the seal covers, as stored (call it on a row read back from the database)."""
        return EventContent(
            event_id=self.pk, seq=seq, key_id=key_id, occurred_at=self.occurred_at, actor_id=self.actor_id,
            actor_label=self.actor_label, action=self.action, subject_type=self.subject_type,
            subject_id=self.subject_id, data=self.data,
        )

    def get_action_display(self) -> str:
        try:
            return str(AuditAction(self.action).label)
        except ValueError:
            return self.action

    @property
    def subject_label(self) -> str:
        """The subject in words: its model's name and id (借款 #99), not `collections_app.loan#99`."""
        return f"{subject_type_label(self.subject_type)} #{self.subject_id}" if self.subject_id \
            else subject_type_label(self.subject_type)


def subject_type_label(subject_type: str) -> str:
    """An event's subject type (`collections_app.promise`) as its model's name in the reader's language; a type
    that names no model (an export's `…#export`) as it is."""
    try:
        return str(apps.get_model(subject_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return subject_type
