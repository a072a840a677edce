"""Borrowers' complaints: intake, the review workflow and its deadlines (issue 6).

The workflow lives in collections_app.complaints.services; the model holds the fields, the one transition table
and small derived properties. The description, root cause, remediation and closing note are free text written
about a person, so they are encrypted like account notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedTextField
from simple_history.models import HistoricalRecords

from .contact import ContactAttempt
from .core import Loan, Team


class ComplaintChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("E-mail")
    IN_PERSON = "in_person", _("In person")
    REGULATOR_REFERRAL = "regulator_referral", _("Regulator referral")


class ComplaintCategory(models.TextChoices):
    CONTACT_FREQUENCY = "contact_frequency", _("Contact frequency or harassment")
    INCONVENIENT_TIME = "inconvenient_time", _("Inconvenient time")
    THIRD_PARTY_DISCLOSURE = "third_party_disclosure", _("Third-party disclosure")
    THREATS_ABUSE = "threats_abuse", _("Threats or abusive language")
    PRIVACY = "privacy", _("Privacy or personal data")
    AMOUNT_DISPUTE = "amount_dispute", _("Amount or debt dispute")
    OTHER = "other", _("Other")


class ComplaintState(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Investigating")
    RESOLVED = "resolved", _("Resolved")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Tuples, not sets: they appear in a check constraint, and a migration must serialise them in a stable order.
OPEN_COMPLAINT_STATES = (ComplaintState.RECEIVED, ComplaintState.ACKNOWLEDGED, ComplaintState.INVESTIGATING)
CLOSED_COMPLAINT_STATES = (ComplaintState.RESOLVED, ComplaintState.WITHDRAWN)

# The one transition table: state -> the states it may move to. A complaint is acknowledged, investigated and
# resolved in that order (no skipping: the acknowledgement deadline is a regulatory promise, and a resolution
# must rest on an investigation); the borrower may withdraw it from any open state; closed states are final.
COMPLAINT_TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        ComplaintState.RECEIVED: frozenset({ComplaintState.ACKNOWLEDGED, ComplaintState.WITHDRAWN}),
        ComplaintState.ACKNOWLEDGED: frozenset({ComplaintState.INVESTIGATING, ComplaintState.WITHDRAWN}),
        ComplaintState.INVESTIGATING: frozenset({ComplaintState.RESOLVED, ComplaintState.WITHDRAWN}),
        ComplaintState.RESOLVED: frozenset(),
        ComplaintState.WITHDRAWN: frozenset(),
    }
)


class ComplaintOutcome(models.TextChoices):
    UPHELD = "upheld", _("Upheld")
    NOT_UPHELD = "not_upheld", _("Not upheld")


class ComplaintQueue(models.TextChoices):
    SUPERVISOR = "supervisor", _("Supervisor")
    COMPLIANCE = "compliance", _("Compliance")


class ComplaintSource(models.TextChoices):
    DESK = "desk", _("Desk")
    ADMIN = "admin", _("Admin")
    API = "api", _("Loan system API")


def overdue_q(now: datetime) -> Q:
    """Complaints that missed (or are missing) a deadline, as of `now`: escalated ones, open ones past a due
    time, and closed ones whose acknowledgement or closing came late."""
    return (
        Q(escalated_at__isnull=False)
        | Q(state=ComplaintState.RECEIVED, ack_due_at__lt=now)
        | Q(state__in=OPEN_COMPLAINT_STATES, resolve_due_at__lt=now)
        | Q(acknowledged_at__gt=F("ack_due_at"))
        | Q(closed_at__gt=F("resolve_due_at"))
    )


class Complaint(models.Model):
    borrower = models.ForeignKey(
        "consent_app.Borrower", on_delete=models.PROTECT, related_name="complaints", verbose_name=_("borrower")
    )
    loan = models.ForeignKey(
        Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints", verbose_name=_("loan"),
        help_text=_("Empty: the complaint is about the borrower's collection as a whole."),
    )
    channel = models.CharField(_("received via"), max_length=24, choices=ComplaintChannel.choices)
    category = models.CharField(_("category"), max_length=32, choices=ComplaintCategory.choices)
    description = EncryptedTextField(_("description"))
    received_at = models.DateTimeField(_("received at"))
    collectors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="complaints_concerning",
        verbose_name=_("collectors concerned"),
    )
    attempts = models.ManyToManyField(
        ContactAttempt, blank=True, related_name="complaints", verbose_name=_("contact attempts concerned")
    )

    state = models.CharField(
        _("state"), max_length=16, choices=ComplaintState.choices, default=ComplaintState.RECEIVED
    )
    queue = models.CharField(_("queue"), max_length=16, choices=ComplaintQueue.choices)
    routing_rule = models.CharField(_("routing rule"), max_length=32, help_text=_("Why it went to this queue."))
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints", verbose_name=_("team"),
        help_text=_("The team of the collector concerned (reports and the supervisor's view)."),
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_complaints",
        verbose_name=_("reviewer"), help_text=_("Empty in the compliance queue: any compliance officer."),
    )

    ack_due_at = models.DateTimeField(_("acknowledge by"))
    resolve_due_at = models.DateTimeField(_("resolve by"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    investigation_started_at = models.DateTimeField(_("investigation started at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalation_reason = models.CharField(_("escalation reason"), max_length=32, blank=True)

    outcome = models.CharField(_("outcome"), max_length=16, choices=ComplaintOutcome.choices, blank=True)
    root_cause = EncryptedTextField(_("root cause"), blank=True)
    remediation = EncryptedTextField(_("remediation"), blank=True)
    close_note = EncryptedTextField(_("closing note"), blank=True)

    hold_restriction = models.ForeignKey(
        "consent_app.Restriction", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("collection hold"),
    )
    source = models.CharField(_("source"), max_length=8, choices=ComplaintSource.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state=ComplaintState.RESOLVED) | ~Q(outcome=""), name="complaint_resolved_has_outcome"
            ),
            models.CheckConstraint(
                condition=Q(state__in=OPEN_COMPLAINT_STATES) | Q(closed_at__isnull=False),
                name="complaint_closed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "escalated_at"]),
            models.Index(fields=["team", "received_at"]),
            models.Index(fields=["borrower", "received_at"]),
        ]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")

    def __str__(self) -> str:
        # Never the description: __str__ ends up in logs, admin breadcrumbs and audit subjects.
        return self.reference

    @property
    def reference(self) -> str:
        return f"CMP-{self.pk:06d}" if self.pk else "CMP-new"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_COMPLAINT_STATES

    @property
    def next_states(self) -> frozenset[str]:
        return COMPLAINT_TRANSITIONS[self.state]

    def is_overdue(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.escalated_at is not None:
            return True
        if self.state == ComplaintState.RECEIVED and self.ack_due_at < now:
            return True
        if self.is_open and self.resolve_due_at < now:
            return True
        late_ack = self.acknowledged_at is not None and self.acknowledged_at > self.ack_due_at
        late_close = self.closed_at is not None and self.closed_at > self.resolve_due_at
        return late_ack or late_close
