"""Borrowers, their phone numbers and third-party contacts, consents and restrictions.

Names, national ids and phone numbers are personal data and are stored encrypted (django-fernet-fields-v2), and
so is the free text people type about a borrower (reasons for restrictions, status changes and reveals): it may
name people, illnesses or numbers. Encrypted fields cannot be filtered or ordered: look numbers up through
`PhoneNumber.blind_index`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedCharField, EncryptedTextField
from simple_history.models import HistoricalRecords

from .phones import last_four, mask
from .validators import validate_timezone

ref_validator = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", _("Use letters, digits and . _ : - only."))

# The longest reason or comment a person may type (restrictions, plans, promises); checked by the services, the
# forms and the API schemas. The columns are encrypted, so this is a rule, not a column size.
FREE_TEXT_MAX_LENGTH = 2_000
# A reveal's reason is one line of the personal-data access record.
REVEAL_REASON_MAX_LENGTH = 200


class Jurisdiction(models.TextChoices):
    CN = "CN", _("China")
    US = "US", _("United States")
    UK = "UK", _("United Kingdom")


JURISDICTION_DEFAULT_ZONES = {"CN": "Asia/Shanghai", "US": "America/New_York", "UK": "Europe/London"}
JURISDICTION_REGIONS = {"CN": "CN", "US": "US", "UK": "GB"}


class Borrower(models.Model):
    borrower_ref = models.CharField(_("borrower reference"), max_length=64, unique=True, validators=[ref_validator])
    full_name = EncryptedCharField(_("full name"), max_length=200)
    national_id = EncryptedCharField(_("national id"), max_length=64, blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_timezone],
        help_text=_("IANA zone of the borrower's address, e.g. Asia/Shanghai. Empty if unknown."),
    )
    jurisdiction = models.CharField(_("jurisdiction"), max_length=2, choices=Jurisdiction.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["borrower_ref"]
        verbose_name = _("borrower")
        verbose_name_plural = _("borrowers")

    def __str__(self) -> str:
        # Never the name: __str__ ends up in logs, admin breadcrumbs and audit subjects.
        return self.borrower_ref

    @property
    def primary_zone(self) -> str:
        return self.timezone or JURISDICTION_DEFAULT_ZONES.get(self.jurisdiction, settings.TIME_ZONE)

    @property
    def zoneinfo(self) -> ZoneInfo:
        return ZoneInfo(self.primary_zone)

    def start_of_local_day(self, day: date) -> datetime:
        """00:00 of `day` on the borrower's clock ("do not call before the 20th" means from its start)."""
        return datetime.combine(day, time.min, tzinfo=self.zoneinfo)

    @property
    def region(self) -> str:
        return JURISDICTION_REGIONS.get(self.jurisdiction, "")


class Relation(models.TextChoices):
    SPOUSE = "spouse", _("Spouse")
    PARENT = "parent", _("Parent")
    SIBLING = "sibling", _("Sibling")
    RELATIVE = "relative", _("Relative")
    FRIEND = "friend", _("Friend")
    COLLEAGUE = "colleague", _("Colleague")
    EMPLOYER = "employer", _("Employer")
    OTHER = "other", _("Other")


class ThirdPartyContact(models.Model):
    """A person the borrower named as a contact. Only named contacts exist here: numbers harvested from a
    phone book are never imported (the top complaint in China, see RULES.md)."""

    borrower = models.ForeignKey(Borrower, on_delete=models.CASCADE, related_name="third_parties")
    contact_ref = models.CharField(_("contact reference"), max_length=64, validators=[ref_validator])
    full_name = EncryptedCharField(_("full name"), max_length=200)
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    authorized = models.BooleanField(
        _("authorized for collection contact"), default=False,
        help_text=_("The borrower authorized contacting this person about the collection."),
    )
    authorization_evidence = models.CharField(_("authorization evidence"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["borrower", "contact_ref"]
        constraints = [
            models.UniqueConstraint(fields=["borrower", "contact_ref"], name="uniq_third_party_ref_per_borrower"),
        ]
        verbose_name = _("third-party contact")
        verbose_name_plural = _("third-party contacts")

    def __str__(self) -> str:
        return f"{self.borrower.borrower_ref}/{self.contact_ref}"


class PhoneStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    INVALID = "invalid", _("Invalid")
    OPTED_OUT = "opted_out", _("Opted out")


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    FIXED = "fixed", _("Fixed line")
    OTHER = "other", _("Other")


class PhoneNumber(models.Model):
    """A number of the borrower's, or of one of their third-party contacts (`third_party` set)."""

    borrower = models.ForeignKey(Borrower, on_delete=models.CASCADE, related_name="phones")
    third_party = models.ForeignKey(
        ThirdPartyContact, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    e164 = EncryptedCharField(_("number (E.164)"), max_length=32)
    blind_index = models.CharField(max_length=64, db_index=True, editable=False)
    # The number's last four digits, as its mask shows them: the desk's search by "a number ending in 8000" (the
    # blind index finds whole numbers only). Set from `e164` on every save.
    last_four = models.CharField(_("last four digits"), max_length=4, db_index=True, editable=False, blank=True)
    region = models.CharField(_("region"), max_length=2)
    kind = models.CharField(_("type"), max_length=8, choices=PhoneKind.choices, default=PhoneKind.MOBILE)
    zones = models.JSONField(_("time zones"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=PhoneStatus.choices, default=PhoneStatus.ACTIVE)
    # Why the status last changed ("borrower says wrong number"); each change's reason stays on its history row.
    last_status_reason = EncryptedTextField(_("reason for the last status change"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["borrower", "id"]
        constraints = [
            models.UniqueConstraint(fields=["borrower", "blind_index"], name="uniq_phone_per_borrower"),
        ]
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")

    def __str__(self) -> str:
        return self.masked

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.last_four = last_four(self.e164)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "e164" in update_fields:
            kwargs["update_fields"] = {*update_fields, "last_four"}
        super().save(*args, **kwargs)

    @property
    def masked(self) -> str:
        return mask(self.e164)

    @property
    def owner(self) -> str:
        return "third_party" if self.third_party_id else "debtor"


class ConsentBasis(models.TextChoices):
    WRITTEN = "written", _("Written")
    ELECTRONIC = "electronic", _("Electronic")
    RECORDED_CALL = "recorded_call", _("Recorded call")


class WithdrawalChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    SMS = "sms", _("SMS")
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("E-mail")
    IN_PERSON = "in_person", _("In person")
    APP = "app", _("App or website")
    OPT_OUT = "opt_out", _("Asked during a call")
    API = "api", _("Loan system")


class ConsentQuerySet(models.QuerySet["Consent"]):
    def in_state(self, state: str, at: datetime | None = None) -> ConsentQuerySet:
        """Consents whose `state_at(at)` is `state` ("active", "withdrawn", "expired", "pending"), as one filter.
        The same rule as `Consent.state_at`, written once for rows and once for the database, side by side."""
        at = at or timezone.now()
        not_withdrawn = Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=at)
        not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=at)
        conditions = {
            "withdrawn": Q(withdrawn_at__lte=at),
            "expired": not_withdrawn & Q(expires_at__lte=at),
            "pending": not_withdrawn & not_expired & Q(granted_at__gt=at),
            "active": not_withdrawn & not_expired & Q(granted_at__lte=at),
        }
        return self.filter(conditions[state])


class Consent(models.Model):
    """The borrower's consent to be contacted on one number for collection (Civil Code art. 1033, PIPL art.
    13). Withdrawal is always possible and never deletes the record (PIPL art. 15)."""

    phone = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="consents")
    allows_call = models.BooleanField(_("calls"), default=True)
    allows_sms = models.BooleanField(_("SMS"), default=False)
    purpose = models.CharField(_("purpose"), max_length=32, default="collection", editable=False)
    basis = models.CharField(_("basis"), max_length=16, choices=ConsentBasis.choices)
    evidence_ref = models.CharField(_("evidence reference"), max_length=200)
    granted_at = models.DateTimeField(_("granted at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_via = models.CharField(_("withdrawn via"), max_length=16, choices=WithdrawalChannel.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(allows_call=True) | Q(allows_sms=True), name="consent_covers_a_channel"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("granted_at")),
                name="consent_expires_after_grant",
            ),
        ]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return _("consent #%(id)s (%(channels)s)") % {"id": self.pk, "channels": self.channel_labels}

    @property
    def channels(self) -> list[str]:
        return [c for c, on in (("call", self.allows_call), ("sms", self.allows_sms)) if on]

    # A consent's state at an instant (`state_at`), in words.
    STATE_LABELS = {"active": _("active"), "withdrawn": _("withdrawn"), "expired": _("expired"),
                    "pending": _("not yet in force")}

    @property
    def channel_labels(self) -> str:
        """The channels in the reader's language, for display."""
        labels = {"call": _("calls"), "sms": _("SMS")}
        return ", ".join(str(labels[c]) for c in self.channels)

    def state_at(self, at: datetime | None = None) -> str:
        at = at or timezone.now()
        if self.withdrawn_at and self.withdrawn_at <= at:
            return "withdrawn"
        if self.expires_at and self.expires_at <= at:
            return "expired"
        if self.granted_at > at:
            return "pending"
        return "active"


class RestrictionKind(models.TextChoices):
    CEASE_COMMUNICATION = "cease_communication", _("Cease communication")
    ATTORNEY = "attorney", _("Represented by an attorney")
    DISPUTE = "dispute", _("Dispute pending")
    BANKRUPTCY = "bankruptcy", _("Bankruptcy")
    DECEASED = "deceased", _("Deceased")
    COMPLAINT_HOLD = "complaint_hold", _("Complaint hold")
    TEMPORARY_HOLD = "temporary_hold", _("Temporary hold")


class RestrictionQuerySet(models.QuerySet["Restriction"]):
    def in_force(self, at: datetime | None = None) -> RestrictionQuerySet:
        """Restrictions for which `is_active(at)` holds, as one filter (the same rule as `Restriction.is_active`)."""
        return self.filter(self.in_force_q(at))

    @staticmethod
    def in_force_q(at: datetime | None = None) -> Q:
        at = at or timezone.now()
        return (
            Q(starts_at__lte=at)
            & (Q(lifted_at__isnull=True) | Q(lifted_at__gt=at))
            & (Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        )


class Restriction(models.Model):
    """Something that stops collection contact, for the whole borrower or one loan. Lifted, never deleted."""

    borrower = models.ForeignKey(Borrower, on_delete=models.CASCADE, related_name="restrictions")
    loan = models.ForeignKey(
        "collections_app.Loan", null=True, blank=True, on_delete=models.CASCADE, related_name="restrictions",
        help_text=_("Empty: applies to every loan of the borrower."),
    )
    kind = models.CharField(_("kind"), max_length=24, choices=RestrictionKind.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    reason = EncryptedTextField(_("reason"), max_length=FREE_TEXT_MAX_LENGTH)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lift_reason = EncryptedTextField(_("lift reason"), max_length=FREE_TEXT_MAX_LENGTH, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    objects = RestrictionQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="restriction_ends_after_start",
            ),
        ]
        verbose_name = _("restriction")
        verbose_name_plural = _("restrictions")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.borrower.borrower_ref})"

    def is_active(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            self.starts_at <= at
            and (self.lifted_at is None or self.lifted_at > at)
            and (self.ends_at is None or self.ends_at > at)
        )


class InconvenientTime(models.Model):
    """A time the borrower told us is inconvenient (e.g. works nights), in their local time. FCA CONC 7.9 and
    Reg F 12 CFR 1006.6(b)(1) both require honouring it."""

    borrower = models.ForeignKey(Borrower, on_delete=models.CASCADE, related_name="inconvenient_times")
    weekdays = models.CharField(
        _("weekdays"), max_length=7, default="0123456", validators=[RegexValidator(r"^[0-6]{1,7}$")],
        help_text=_("Digits 0 (Monday) to 6 (Sunday)."),
    )
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("inconvenient time")
        verbose_name_plural = _("inconvenient times")

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class RevealPurpose(models.TextChoices):
    """Why a reader opens a borrower's full name or national id in admin (`borrower_reveal`). A fixed list: the
    PII_REVEALED event carries the code itself, as an event never holds typed text (the access record with a typed
    reason, PiiAccess, is a number's)."""

    IDENTITY_CHECK = "identity_check", _("Check the borrower's identity (a call, a letter)")
    COMPLAINT_REVIEW = "complaint_review", _("Review a complaint")
    DATA_SUBJECT_REQUEST = "data_subject_request", _("Answer the borrower's request about their data")
    REGULATOR_REQUEST = "regulator_request", _("Answer a regulator's or a court's request")
    RECORD_CORRECTION = "record_correction", _("Correct the record")


class PiiAccess(models.Model):
    """One reading of a full phone number, with the reason the reader gave: the personal-data access record
    compliance reviews (the complaint evidence panel lists them). The PII_REVEALED audit event carries this row's
    id; the reason, which may name people, is kept here, encrypted, and never in the audit log. Written once by
    `phone_reveal`, never changed."""

    phone = models.ForeignKey(PhoneNumber, on_delete=models.PROTECT, related_name="accesses")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = EncryptedTextField(_("reason"), max_length=REVEAL_REASON_MAX_LENGTH)
    created_at = models.DateTimeField(_("read at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data accesses")

    def __str__(self) -> str:
        return f"access #{self.pk} to {self.phone_id}"


class KeyCanary(models.Model):
    """One row that tells whether FERNET_KEYS and BLIND_INDEX_KEY are the keys this database's personal data was
    written with: a known text, encrypted, and the blind index of that text. Written the first time keys are used
    with the database (right after migrate); the start-up check `consent_app.checks` compares it with the
    configured keys. `reencrypt_pii` re-encrypts it with the rest of the data."""

    text = EncryptedCharField(max_length=64)
    blind_index = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"key canary #{self.pk}"
