"""Promises to pay, repayment plans with their installments, payment allocations and per-role approval limits.

The lifecycles are explicit state machines; the one transition table is in `collections_app.plans.states`, and
every state change goes through it (illegal ones raise `IllegalTransition`). Writes are in
`collections_app.plans.services`, and for payments in `collections_app.plans.allocation`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedTextField
from simple_history.models import HistoricalRecords

from consent_app.models import FREE_TEXT_MAX_LENGTH

from .core import Loan, Payment

# --- States ------------------------------------------------------------------------------------------------------


class PromiseState(models.TextChoices):
    PENDING = "pending", _("Pending")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")  # superseded by a newer promise, or withdrawn


class PlanKind(models.TextChoices):
    INSTALLMENTS = "installments", _("Installment plan")
    SETTLEMENT = "settlement", _("Settlement (discounted)")


class PlanState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")
    # A plan the approver refused. Kept apart from "cancelled" (withdrawn by the desk) so reports can tell a
    # negotiation the approver stopped from one the collector or borrower abandoned.
    DECLINED = "declined", _("Declined")


# A loan has at most one plan in these states (partial unique constraint below).
OPEN_PLAN_STATES = (PlanState.PROPOSED, PlanState.PENDING_APPROVAL, PlanState.ACTIVE)


class InstallmentState(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")  # the plan ended (broken, cancelled, declined) before it fell due


class ApprovalLevel(models.TextChoices):
    """Who must approve a plan: the collector's own limits suffice, or a supervisor, or compliance."""

    COLLECTOR = "collector", _("Within the collector's limits")
    SUPERVISOR = "supervisor", _("Supervisor")
    COMPLIANCE = "compliance", _("Compliance")


class LimitRole(models.TextChoices):
    # Values are the role group names of collections_app.permissions.
    COLLECTOR = "Collector", _("Collector")
    SUPERVISOR = "Supervisor", _("Supervisor")


# --- Approval limits ---------------------------------------------------------------------------------------------


class ApprovalLimit(models.Model):
    """What a role may grant without someone above approving. Beyond the collector's row a plan goes to the
    collector's supervisor; beyond the supervisor's row, to compliance. With no row for a role the defaults of
    settings.PLAN_DEFAULT_APPROVAL_LIMITS apply."""

    role = models.CharField(_("role"), max_length=32, choices=LimitRole.choices, unique=True)
    max_installments = models.PositiveIntegerField(_("maximum number of installments"),
                                                   validators=[MinValueValidator(1)])
    max_discount_percent = models.DecimalField(
        _("maximum discount (%)"), max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    max_first_payment_delay_days = models.PositiveIntegerField(_("maximum days to the first payment"))
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["role"]
        verbose_name = _("approval limit")
        verbose_name_plural = _("approval limits")

    def __str__(self) -> str:
        return str(self.get_role_display())


# --- Promises ----------------------------------------------------------------------------------------------------


class Promise(models.Model):
    """The borrower's promise, made in a conversation, to pay `amount` by `due_date`. Kept when the payments
    made since the promise, dated no later than `due_date` + PROMISE_GRACE_DAYS, add up to the amount."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="promises")
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="promises",
                                  verbose_name=_("collector"))
    contact_attempt = models.ForeignKey(
        "collections_app.ContactAttempt", null=True, blank=True, on_delete=models.PROTECT, related_name="promises",
        verbose_name=_("conversation"),
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    due_date = models.DateField(_("promised date"))
    state = models.CharField(_("state"), max_length=16, choices=PromiseState.choices, default=PromiseState.PENDING)
    paid_amount = models.DecimalField(_("paid toward the promise"), max_digits=14, decimal_places=2,
                                      default=Decimal("0"))
    # Notes and reasons are typed by people and may carry personal details: encrypted, like account notes.
    note = EncryptedTextField(_("note"), max_length=FREE_TEXT_MAX_LENGTH, blank=True)
    cancel_reason = EncryptedTextField(_("reason for withdrawing"), max_length=FREE_TEXT_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(_("created at"))
    kept_at = models.DateTimeField(_("kept at"), null=True, blank=True)
    broken_at = models.DateTimeField(_("broken at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="promise_paid_not_negative"),
            # A newer promise supersedes the pending one (promise_create cancels it under the loan lock).
            models.UniqueConstraint(fields=["loan"], condition=Q(state="pending"), name="uniq_pending_promise"),
        ]
        indexes = [
            models.Index(fields=["state", "due_date"]),
            models.Index(fields=["collector", "created_at"]),
            models.Index(fields=["loan", "state"]),
        ]
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")

    def __str__(self) -> str:
        return _("promise #%(id)s: %(amount)s by %(date)s") % {"id": self.pk, "amount": self.amount,
                                                                 "date": self.due_date}


# --- Repayment plans ---------------------------------------------------------------------------------------------


class RepaymentPlan(models.Model):
    """An installment schedule for the balance, or a settlement for less than the balance (a discount), paid in
    one or more installments. `required_level` is decided when the plan is proposed, from the approval limits."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="plans")
    kind = models.CharField(_("kind"), max_length=16, choices=PlanKind.choices)
    state = models.CharField(_("state"), max_length=20, choices=PlanState.choices, default=PlanState.PROPOSED)
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plans",
                                  verbose_name=_("proposed by"))
    contact_attempt = models.ForeignKey(
        "collections_app.ContactAttempt", null=True, blank=True, on_delete=models.PROTECT, related_name="plans",
        verbose_name=_("conversation"),
    )
    balance_at_proposal = models.DecimalField(_("balance when proposed"), max_digits=14, decimal_places=2)
    agreed_total = models.DecimalField(_("agreed total"), max_digits=14, decimal_places=2)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"))
    # The reason, the decision comment and the cancellation reason are typed by people: encrypted.
    reason = EncryptedTextField(_("collector's reason"), max_length=FREE_TEXT_MAX_LENGTH, blank=True)
    required_level = models.CharField(_("approval needed from"), max_length=16, choices=ApprovalLevel.choices)
    exceeded_limits = models.JSONField(_("limits exceeded"), default=list, blank=True,
                                       help_text=_("Which of the collector's limits the plan goes beyond."))
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("routed to"), help_text=_("The supervisor the plan was routed to; empty for compliance."),
    )
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = EncryptedTextField(_("decision comment"), max_length=FREE_TEXT_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(_("created at"))
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    broken_at = models.DateTimeField(_("broken at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = EncryptedTextField(_("cancellation reason"), max_length=FREE_TEXT_MAX_LENGTH, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(agreed_total__gt=0), name="plan_total_positive"),
            models.CheckConstraint(condition=Q(agreed_total__lte=F("balance_at_proposal")),
                                   name="plan_total_not_above_balance"),
            models.UniqueConstraint(fields=["loan"], condition=Q(state__in=["proposed", "pending_approval", "active"]),
                                    name="uniq_open_plan"),
        ]
        indexes = [
            models.Index(fields=["state", "required_level"]),
            models.Index(fields=["collector", "created_at"]),
            models.Index(fields=["loan", "state"]),
        ]
        verbose_name = _("repayment plan")
        verbose_name_plural = _("repayment plans")

    def __str__(self) -> str:
        return _("plan #%(id)s (%(kind)s, %(state)s)") % {"id": self.pk, "kind": self.get_kind_display(),
                                                             "state": self.get_state_display()}


class Installment(models.Model):
    plan = models.ForeignKey(RepaymentPlan, on_delete=models.CASCADE, related_name="installments")
    number = models.PositiveSmallIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    paid_amount = models.DecimalField(_("paid"), max_digits=14, decimal_places=2, default=Decimal("0"))
    state = models.CharField(_("state"), max_length=16, choices=InstallmentState.choices,
                             default=InstallmentState.PENDING)
    paid_at = models.DateTimeField(_("paid in full at"), null=True, blank=True)
    broken_at = models.DateTimeField(_("broken at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "due_date", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="uniq_installment_number"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="installment_amount_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=F("amount")),
                                   name="installment_paid_within_amount"),
        ]
        indexes = [models.Index(fields=["state", "due_date"])]
        verbose_name = _("installment")
        verbose_name_plural = _("installments")

    def __str__(self) -> str:
        return _("#%(number)s: %(amount)s due %(date)s") % {"number": self.number, "amount": self.amount,
                                                               "date": self.due_date}

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount


# --- Allocations -------------------------------------------------------------------------------------------------


class AllocationKind(models.TextChoices):
    INSTALLMENT = "installment", _("Plan installment")
    LOAN = "loan", _("Loan balance")
    EXCESS = "excess", _("Over-payment (unallocated)")


class AllocationReason(models.TextChoices):
    """Why a part of a payment went where it went (shown to the collector and in admin)."""

    PLAN_INSTALLMENT = "plan_installment", _("Applied to the active plan's installments in due-date order.")
    NO_PLAN = "no_plan", _("No active plan: applied to the loan balance.")
    PLAN_BROKEN = "plan_broken", _("The plan was broken before this payment: applied to the loan balance only.")
    PLAN_NOT_ACTIVE = "plan_not_active", _("The plan is not active yet (awaiting approval): applied to the loan "
                                           "balance only.")
    BEYOND_PLAN = "beyond_plan", _("More than the plan still owed: the rest reduced the loan balance.")
    OVERPAID = "overpaid", _("More than the loan balance: recorded as unallocated over-payment, to review or "
                             "refund.")
    SETTLEMENT_OVERPAID = "settlement_overpaid", _("More than the settlement's agreed total: recorded as "
                                                   "unallocated over-payment, to review or refund.")


class Allocation(models.Model):
    """One part of a payment: to an installment of a plan, to the loan balance outside any plan, or over-paid.
    The parts of a payment add up to its amount. Written once, by payment_allocate, in payment_record's
    transaction; never changed."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="allocations")
    plan = models.ForeignKey(RepaymentPlan, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="allocations")
    installment = models.ForeignKey(Installment, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="allocations")
    kind = models.CharField(_("kind"), max_length=16, choices=AllocationKind.choices)
    reason = models.CharField(_("explanation"), max_length=32, choices=AllocationReason.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["payment", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=~Q(kind="installment") | Q(installment__isnull=False), name="allocation_installment_set"
            ),
        ]
        indexes = [models.Index(fields=["kind", "created_at"])]
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")

    def __str__(self) -> str:
        return _("%(amount)s of payment %(payment)s → %(kind)s") % {
            "amount": self.amount, "payment": self.payment_id, "kind": self.get_kind_display()}
