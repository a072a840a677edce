"""Contact policies and their versions, public holidays, contact attempts and API tokens."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .core import Loan

# --- Contact policies -------------------------------------------------------------------------------------------

# The preset policies' names and their first version's note as installed (migration 0005), shown in the reader's
# language; a name or a note a compliance officer typed is shown as typed.
PRESET_TEXTS = {
    "China — CBA 2026 collection guideline, Civil Code art. 1033, PIPL": _(
        "China — CBA 2026 collection guideline, Civil Code art. 1033, PIPL"),
    "United States — FDCPA and Regulation F (12 CFR part 1006)": _(
        "United States — FDCPA and Regulation F (12 CFR part 1006)"),
    "United Kingdom — FCA CONC 7": _("United Kingdom — FCA CONC 7"),
    "Preset loaded at installation.": _("Preset loaded at installation."),
}


def preset_text(text: str) -> str:
    return str(PRESET_TEXTS.get(text, text))


class ContactPolicy(models.Model):
    """The contact rules for one jurisdiction. The rules themselves live in immutable versions: a policy in use
    is never edited in place, so every recorded decision can name the exact rules it was judged by."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=200)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=2, unique=True, choices=[
        ("CN", _("China")), ("US", _("United States")), ("UK", _("United Kingdom")),
    ])

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("contact policy")
        verbose_name_plural = _("contact policies")

    def __str__(self) -> str:
        return f"{self.code} — {self.display_name}"

    @property
    def display_name(self) -> str:
        return preset_text(self.name)


class ContactPolicyVersion(models.Model):
    """One immutable set of rules. Field names equal collections_app.policy.PolicyParams' fields."""

    policy = models.ForeignKey(ContactPolicy, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateTimeField(_("effective from"))
    default_timezone = models.CharField(_("default time zone"), max_length=64)
    windows = models.JSONField(
        _("contact windows"),
        help_text=_('Seven entries, Monday to Sunday: ["08:00", "21:00"] or null for no contact that day. '
                    'End "00:00" means midnight; a start after the end crosses midnight.'),
    )
    daily_attempt_cap = models.PositiveIntegerField(_("attempts per number per day"), null=True, blank=True)
    daily_conversation_cap = models.PositiveIntegerField(_("conversations per day"), null=True, blank=True)
    rolling_attempt_cap = models.PositiveIntegerField(_("attempts per debt in the rolling window"), null=True,
                                                      blank=True)
    rolling_window_days = models.PositiveIntegerField(_("rolling window (days)"), default=7)
    conversation_cooldown_days = models.PositiveIntegerField(_("cooldown after a conversation (days)"), null=True,
                                                             blank=True)
    count_not_connected = models.BooleanField(_("count calls not connected"), default=False)
    holidays_blocked = models.BooleanField(_("no contact on public holidays"), default=False)
    third_party_requires_authorization = models.BooleanField(default=True)
    third_party_only_when_borrower_unreachable = models.BooleanField(default=True)
    unreachable_after_days = models.PositiveIntegerField(
        default=3, help_text=_("The borrower is unreachable after this many days without a conversation...")
    )
    unreachable_min_attempts = models.PositiveIntegerField(
        default=3, help_text=_("...and at least this many unanswered attempts in those days.")
    )
    third_party_max_contacts = models.PositiveIntegerField(null=True, blank=True)
    third_party_stop_on_opt_out = models.BooleanField(default=True)
    channels_allowed = models.JSONField(_("channels allowed"), default=list)
    complaint_hold_blocks = models.BooleanField(_("open complaints pause collection"), default=True)
    sources = models.JSONField(_("legal sources"), default=dict, help_text=_("Rule key → its legal source."))
    change_note = models.CharField(_("change note"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["policy", "-version"]
        constraints = [models.UniqueConstraint(fields=["policy", "version"], name="uniq_policy_version")]
        indexes = [models.Index(fields=["policy", "effective_from"])]
        verbose_name = _("contact policy version")
        verbose_name_plural = _("contact policy versions")

    def __str__(self) -> str:
        return _("%(code)s version %(version)s") % {"code": self.policy.code, "version": self.version}

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("A contact policy version is immutable: create a new version instead.")
        super().save(*args, **kwargs)

    @property
    def display_change_note(self) -> str:
        return preset_text(self.change_note)


class PolicyGeneration(models.Model):
    """One row that changes whenever what the contact decisions read from their configuration changes: a policy
    or a version saved or deleted (contact/signals.py, in the writer's transaction). Each process keeps the policy
    versions in a cache (contact/versions.py) and reloads it only when the generation it reads differs from the
    one it loaded, so a new version is used by the very next decision in every process.

    `value` counts the changes; `stamp` is new at each one, because a rolled-back change would let the count come
    back to a value a process may have loaded with the rolled-back rows (the cache compares both)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    value = models.PositiveBigIntegerField(default=0)
    stamp = models.UUIDField(default=uuid.uuid4)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="policy_generation_single_row")]
        verbose_name = _("policy generation")
        verbose_name_plural = _("policy generations")

    def __str__(self) -> str:
        return f"policy generation {self.value}"


class PublicHoliday(models.Model):
    """A public holiday of a jurisdiction, used when a policy forbids contact on holidays."""

    jurisdiction = models.CharField(_("jurisdiction"), max_length=2)
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100)

    history = HistoricalRecords()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["jurisdiction", "date"], name="uniq_holiday")]
        verbose_name = _("public holiday")
        verbose_name_plural = _("public holidays")

    def __str__(self) -> str:
        return f"{self.jurisdiction} {self.date} {self.name}"


# --- Contact attempts -------------------------------------------------------------------------------------------


class AttemptChannel(models.TextChoices):
    CALL = "call", _("Call")
    SMS = "sms", _("SMS")


class AttemptDirection(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")


class AttemptOutcome(models.TextChoices):
    NOT_CONNECTED = "not_connected", _("Not connected")
    NO_ANSWER = "no_answer", _("No answer")
    VOICEMAIL = "voicemail", _("Voicemail")
    CONVERSATION = "conversation", _("Conversation")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class AttemptParty(models.TextChoices):
    DEBTOR = "debtor", _("Borrower")
    THIRD_PARTY = "third_party", _("Third party")


class ContactAttempt(models.Model):
    """A call or SMS to (or from) a number about a loan, with the policy verdict as evaluated at `started_at`
    against the history before it. An attempt with no outcome yet is in progress: it already counts toward
    the caps, so two collectors cannot both take the last allowed attempt."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="contact_attempts")
    phone = models.ForeignKey("consent_app.PhoneNumber", on_delete=models.PROTECT, related_name="contact_attempts")
    borrower = models.ForeignKey("consent_app.Borrower", on_delete=models.PROTECT, related_name="contact_attempts")
    channel = models.CharField(_("channel"), max_length=8, choices=AttemptChannel.choices)
    direction = models.CharField(_("direction"), max_length=8, choices=AttemptDirection.choices,
                                 default=AttemptDirection.OUTBOUND)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=AttemptOutcome.choices, blank=True)
    party = models.CharField(_("party reached"), max_length=16, choices=AttemptParty.choices, blank=True)
    opt_out = models.BooleanField(_("asked not to be contacted again"), default=False)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="contact_attempts"
    )
    duration_s = models.PositiveIntegerField(_("duration (s)"), null=True, blank=True)
    recording_ref = models.CharField(_("recording reference"), max_length=200, blank=True)
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    compliant = models.BooleanField(_("compliant"))
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    policy_version = models.ForeignKey(ContactPolicyVersion, null=True, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(_("source"), max_length=16, default="desk", choices=[
        ("desk", _("Desk")), ("dialer", _("Dialer API")),
    ])
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["borrower", "started_at"]),
            models.Index(fields=["phone", "started_at"]),
            models.Index(fields=["collector", "started_at"]),
        ]
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact attempts")

    def __str__(self) -> str:
        # The reader's language and clock: the admin shows an attempt by this (breadcrumbs, choices).
        return _("%(channel)s %(when)s %(outcome)s") % {
            "channel": self.get_channel_display(), "when": f"{timezone.localtime(self.started_at):%Y-%m-%d %H:%M}",
            "outcome": self.get_outcome_display() if self.outcome else _("in progress"),
        }

    @property
    def in_progress(self) -> bool:
        return not self.outcome


class ApiToken(models.Model):
    """A bearer token of an integration user. Only the SHA-256 of the token is stored; the token itself is
    shown once when created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=8, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.user} {self.prefix}…"
