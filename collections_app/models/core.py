"""Loans, payments, teams and assignments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from collections_app.loans.buckets import bucket_for
from consent_app.models import Borrower, ref_validator
from consent_app.validators import canonical_timezone, validate_timezone

# Minor units per ISO 4217 currency; amounts with more decimals are refused.
CURRENCY_DECIMALS = {"CNY": 2, "USD": 2, "GBP": 2}


class Currency(models.TextChoices):
    CNY = "CNY", "CNY"
    USD = "USD", "USD"
    GBP = "GBP", "GBP"


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="supervised_teams",
        verbose_name=_("supervisor"),
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_timezone],
        help_text=_("Where the team works, e.g. America/Chicago: its working day, its members' clock on the desk "
                    "and its nightly worklist build follow this zone. Blank: the desk's."),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.timezone = canonical_timezone(self.timezone)  # a legacy name is stored as the zone it links to

    @property
    def zone(self) -> str:
        """The zone the team works in: its own, else the desk's (TIME_ZONE)."""
        return self.timezone or settings.TIME_ZONE


class TeamMember(models.Model):
    """A collector's membership of one team."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_membership")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="members")

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")

    def __str__(self) -> str:
        return f"{self.user} @ {self.team}"


class LoanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAID = "paid", _("Paid")
    SETTLED = "settled", _("Settled")
    CLOSED = "closed", _("Closed")
    WRITTEN_OFF = "written_off", _("Written off")


class Loan(models.Model):
    loan_ref = models.CharField(_("loan reference"), max_length=64, unique=True, validators=[ref_validator])
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="loans")
    principal = models.DecimalField(_("principal"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    balance = models.DecimalField(_("balance"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=16, choices=LoanStatus.choices, default=LoanStatus.ACTIVE)
    assigned_collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_loans",
        verbose_name=_("assigned collector"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "loan_ref"]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gte=0), name="loan_principal_not_negative"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="loan_balance_not_negative"),
        ]
        indexes = [models.Index(fields=["assigned_collector", "status"])]
        verbose_name = _("loan")
        verbose_name_plural = _("loans")

    def __str__(self) -> str:
        return self.loan_ref

    def days_past_due(self, on: date | None = None) -> int:
        on = on or timezone.localdate()
        if self.status != LoanStatus.ACTIVE:
            return 0
        return max((on - self.due_date).days, 0)

    @property
    def dpd(self) -> int:
        return self.days_past_due()

    @property
    def bucket(self) -> str:
        return bucket_for(self.dpd)


class Payment(models.Model):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, validators=[ref_validator])
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    paid_at = models.DateTimeField(_("paid at"))
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-paid_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return self.external_id
