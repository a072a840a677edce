"""Writes for promises to pay, repayment plans, approvals and the broken-promise job (STYLE.md §1, §2).

Every service here takes the loan's row lock first (SELECT ... FOR UPDATE), then the plan/promise rows: one lock
order for payment_record, the approval views and the nightly job, so a payment and the broken-promise job cannot
both settle the same promise, and two approvers cannot both activate a plan.

The limits and schedule checks a plan is judged by are in terms.py; how a payment is split between installments,
the balance and promises is in allocation.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from collections_app.permissions import may_cancel, may_decide, may_negotiate
from consent_app.history import with_change_reason
from consent_app.services import check_text_length

from ..amounts import format_amount, parse_amount
from ..desk.notifications import notifications_send
from ..models import (
    OPEN_PLAN_STATES,
    ApprovalLevel,
    ApprovalLimit,
    ContactAttempt,
    Installment,
    InstallmentState,
    Loan,
    LoanStatus,
    NotificationKind,
    PlanKind,
    PlanState,
    Promise,
    PromiseState,
    RepaymentPlan,
    TeamMember,
)
from ..states import IllegalTransition
from .states import transition
from .terms import Limits, Terms, required_level, validate_schedule

CENT = Decimal("0.01")


def _parse_amount(value: Any, *, currency: str, field_name: str) -> Decimal:
    return parse_amount(value, currency=currency, field_name=field_name, allow_zero=False)


def _lock_loan(loan: Loan) -> Loan:
    return Loan.objects.select_for_update().get(pk=loan.pk)


def _check_collectible(loan: Loan) -> None:
    if loan.status != LoanStatus.ACTIVE or loan.balance <= 0:
        raise ValidationError(_("Only an active loan with a balance can get a promise or a plan."))


def _check_attempt(loan: Loan, contact_attempt: ContactAttempt | None) -> None:
    if contact_attempt is not None and contact_attempt.loan_id != loan.pk:
        raise ValidationError({"attempt": _("This conversation is about another loan.")})


# --- Approval limits ---------------------------------------------------------------------------------------------


def approval_limits() -> dict[str, Limits]:
    """The limits per role: the ApprovalLimit rows, else settings.PLAN_DEFAULT_APPROVAL_LIMITS. One query."""
    limits = {role: Limits(**values) for role, values in settings.PLAN_DEFAULT_APPROVAL_LIMITS.items()}
    for row in ApprovalLimit.objects.all():
        limits[row.role] = Limits(row.max_installments, row.max_discount_percent, row.max_first_payment_delay_days)
    return limits


@transaction.atomic
def approval_limit_save(*, limit: ApprovalLimit, changed: Sequence[str], actor: Any) -> ApprovalLimit:
    """Create or change one role's limits (admin)."""
    limit.full_clean()
    created = limit.pk is None
    with_change_reason(limit, "created" if created else "changed")
    limit.save()
    audit_log(
        action=AuditAction.APPROVAL_LIMIT_CHANGED, subject=limit, actor=actor,
        data={"role": limit.role, "created": created, "fields": sorted(changed),
              "max_installments": limit.max_installments, "max_discount_percent": limit.max_discount_percent,
              "max_first_payment_delay_days": limit.max_first_payment_delay_days},
    )
    return limit


# --- Promises ----------------------------------------------------------------------------------------------------


@transaction.atomic
def promise_create(
    *, loan: Loan, amount: Any, promise_date: date, actor: Any, attempt: ContactAttempt | None = None,
    note: str = "",
) -> Promise:
    """The borrower promised, in the conversation `attempt` (optional), to pay `amount` by `promise_date`. A
    pending promise on the loan is superseded (cancelled). Only the assigned collector records promises."""
    loan = _lock_loan(loan)
    if not may_negotiate(actor, loan):
        raise PermissionDenied(_("Only the loan's assigned collector can record a promise."))
    _check_collectible(loan)
    _check_attempt(loan, attempt)
    note = note.strip()
    check_text_length(note, field_name="note")
    due_date = promise_date
    amount_d = _parse_amount(amount, currency=loan.currency, field_name="amount")
    errors: dict[str, str] = {}
    if amount_d > loan.balance:
        errors["amount"] = _("The promise is more than the balance (%(balance)s).") % {
            "balance": format_amount(loan.balance, loan.currency)}
    today = timezone.localdate()
    if due_date < today:
        errors["promise_date"] = _("The promised date is in the past.")
    elif (due_date - today).days > settings.PROMISE_MAX_DAYS:
        errors["promise_date"] = _("A promise may be at most %(n)d days ahead; propose a plan instead.") % {
            "n": settings.PROMISE_MAX_DAYS}
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    for old in Promise.objects.select_for_update().filter(loan=loan, state=PromiseState.PENDING):
        transition(old, PromiseState.CANCELLED, at=now, reason="superseded by a new promise")
        audit_log(action=AuditAction.PROMISE_CANCELLED, subject=old, actor=actor,
                  data={"loan_ref": loan.loan_ref, "why": "superseded"})
    promise = Promise(loan=loan, collector=actor, contact_attempt=attempt, amount=amount_d,
                      due_date=due_date, note=note, created_at=now)
    with_change_reason(promise, "created")
    promise.save()
    audit_log(
        action=AuditAction.PROMISE_CREATED, subject=promise, actor=actor,
        data={"loan_ref": loan.loan_ref, "amount": amount_d, "due_date": due_date,
              "contact_attempt_id": attempt.pk if attempt else None},
    )
    return promise


@transaction.atomic
def promise_cancel(*, promise: Promise, actor: Any, reason: str) -> Promise:
    loan = _lock_loan(promise.loan)
    if not may_cancel(actor, loan):
        raise PermissionDenied
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the promise is withdrawn.")})
    check_text_length(reason, field_name="reason")
    promise = Promise.objects.select_for_update().get(pk=promise.pk)
    # The reason may name people: it is kept encrypted on the promise, never in the change reason or the audit.
    promise.cancel_reason = reason
    transition(promise, PromiseState.CANCELLED, at=timezone.now(), reason="withdrawn")
    audit_log(action=AuditAction.PROMISE_CANCELLED, subject=promise, actor=actor,
              data={"loan_ref": loan.loan_ref, "why": "withdrawn"})
    return promise


# --- Plans -------------------------------------------------------------------------------------------------------


def _team_supervisor(collector_id: int | None) -> Any:
    if collector_id is None:
        return None
    membership = TeamMember.objects.select_related("team__supervisor").filter(user_id=collector_id).first()
    return membership.team.supervisor if membership is not None else None


@transaction.atomic
def plan_propose(
    *,
    loan: Loan,
    kind: str,
    schedule: Sequence[tuple[date, Any]],
    actor: Any,
    agreed_total: Any = None,
    reason: str = "",
    attempt: ContactAttempt | None = None,
) -> RepaymentPlan:
    """The assigned collector proposes a plan: an installment schedule for the whole balance, or a settlement
    (agreed total below the balance: the difference is a discount) in one or more installments.

    Within the collector's approval limits the plan becomes active at once; beyond them it waits for the
    supervisor of the collector's team (the collector's reason is required), and beyond the supervisor's limits
    for compliance. A collector without a team has no supervisor: their plan goes to compliance."""
    loan = _lock_loan(loan)
    if not may_negotiate(actor, loan):
        raise PermissionDenied(_("Only the loan's assigned collector can propose a plan."))
    _check_collectible(loan)
    _check_attempt(loan, attempt)
    if kind not in PlanKind.values:
        raise ValidationError({"kind": _("Unknown kind of plan.")})
    if RepaymentPlan.objects.filter(loan=loan, state__in=OPEN_PLAN_STATES).exists():
        raise ValidationError(_("This loan already has an open plan; cancel it before proposing another."))

    balance = loan.balance
    if kind == PlanKind.INSTALLMENTS:
        total = balance if agreed_total in (None, "") else _parse_amount(
            agreed_total, currency=loan.currency, field_name="agreed_total")
        if total != balance:
            raise ValidationError({"agreed_total": _(
                "An installment plan covers the whole balance (%(balance)s); a smaller total is a settlement.")
                % {"balance": format_amount(balance, loan.currency)}})
    else:
        if agreed_total in (None, ""):
            raise ValidationError({"agreed_total": _("A settlement needs an agreed total.")})
        total = _parse_amount(agreed_total, currency=loan.currency, field_name="agreed_total")
        if total >= balance:
            raise ValidationError({"agreed_total": _(
                "A settlement is for less than the balance (%(balance)s).") % {
                    "balance": format_amount(balance, loan.currency)}})
    discount_exact = (balance - total) * 100 / balance
    if discount_exact > settings.PLAN_MAX_DISCOUNT_PERCENT:
        raise ValidationError({"agreed_total": _("The discount may be at most %(max)s%%.") % {
            "max": settings.PLAN_MAX_DISCOUNT_PERCENT}})

    rows = []
    for i, (due, amount) in enumerate(schedule, start=1):
        if not isinstance(due, date):
            raise ValidationError({"installments": _("Installment %(i)d has no date.") % {"i": i}})
        rows.append((due, _parse_amount(amount, currency=loan.currency, field_name="installments")))
    today = timezone.localdate()
    errors = validate_schedule(schedule=rows, agreed_total=total, today=today, currency=loan.currency)
    if errors:
        raise ValidationError({"installments": errors})

    terms = Terms(len(rows), discount_exact, (rows[0][0] - today).days)
    level, beyond = required_level(terms, approval_limits())
    reason = reason.strip()
    check_text_length(reason, field_name="reason")
    if level != ApprovalLevel.COLLECTOR and not reason:
        raise ValidationError({"reason": _(
            "This plan is beyond your approval limits (%(limits)s): give the reason for the approver.")
            % {"limits": ", ".join(beyond)}})
    approver = None
    routing = ""
    if level == ApprovalLevel.SUPERVISOR:
        approver = _team_supervisor(loan.assigned_collector_id)
        if approver is None:
            level, routing = ApprovalLevel.COMPLIANCE, "no team supervisor"

    now = timezone.now()
    plan = RepaymentPlan(
        loan=loan, kind=kind, collector=actor, contact_attempt=attempt, balance_at_proposal=balance,
        agreed_total=total, discount_percent=discount_exact.quantize(CENT, rounding=ROUND_HALF_UP), reason=reason,
        required_level=level, exceeded_limits=beyond, approver=approver, created_at=now,
    )
    with_change_reason(plan, "proposed")
    plan.save()
    for number, (due, amount) in enumerate(rows, start=1):
        installment = Installment(plan=plan, number=number, due_date=due, amount=amount)
        with_change_reason(installment, "scheduled")
        installment.save()
    audit_log(
        action=AuditAction.PLAN_PROPOSED, subject=plan, actor=actor,
        data={"loan_ref": loan.loan_ref, "kind": kind, "agreed_total": total, "balance": balance,
              "discount_percent": plan.discount_percent, "installments": len(rows), "first_due": rows[0][0],
              "last_due": rows[-1][0], "required_level": level, "exceeded": beyond},
    )
    if level == ApprovalLevel.COLLECTOR:
        transition(plan, PlanState.ACTIVE, at=now, reason="within the collector's limits")
        audit_log(action=AuditAction.PLAN_ACTIVATED, subject=plan, actor=actor,
                  data={"loan_ref": loan.loan_ref, "via": "within_collector_limits"})
    else:
        transition(plan, PlanState.PENDING_APPROVAL, at=now, reason=f"routed to {level}")
        audit_log(
            action=AuditAction.PLAN_SUBMITTED, subject=plan, actor=actor,
            data={"loan_ref": loan.loan_ref, "required_level": level, "approver_id": approver.pk if approver else None,
                  "exceeded": beyond, "routing": routing},
        )
    return plan


def _lock_plan(plan: RepaymentPlan) -> tuple[Loan, RepaymentPlan]:
    loan = _lock_loan(plan.loan)
    plan = RepaymentPlan.objects.select_for_update().get(pk=plan.pk)
    plan.loan = loan
    return loan, plan


def end_pending_installments(plan: RepaymentPlan, *, at: datetime, reason: str) -> list[int]:
    numbers = []
    for installment in plan.installments.select_for_update().filter(state=InstallmentState.PENDING):
        transition(installment, InstallmentState.CANCELLED, at=at, reason=reason)
        numbers.append(installment.number)
    return numbers


def _check_decision(plan: RepaymentPlan, actor: Any, to_state: str) -> None:
    """Approving and declining start from pending_approval only (`proposed` never outlives plan_propose's
    transaction); then the actor must be an approver of this plan."""
    if plan.state != PlanState.PENDING_APPROVAL:
        raise IllegalTransition(plan, plan.state, to_state)
    if not may_decide(actor, plan):
        raise PermissionDenied(_("You may not decide this plan."))


@transaction.atomic
def plan_approve(*, plan: RepaymentPlan, actor: Any, comment: str = "") -> RepaymentPlan:
    """The supervisor (or compliance) approves a plan awaiting approval: it becomes active, and the collector who
    proposed it is told."""
    loan, plan = _lock_plan(plan)
    _check_decision(plan, actor, PlanState.ACTIVE)
    comment = comment.strip()
    check_text_length(comment, field_name="comment")
    first_due = plan.installments.order_by("due_date").values_list("due_date", flat=True).first()
    if first_due is not None and first_due < timezone.localdate():
        raise ValidationError(_("The first installment's date has passed: decline this plan and propose a new one."))
    now = timezone.now()
    plan.decided_by = actor
    plan.decided_at = now
    plan.decision_comment = comment
    transition(plan, PlanState.ACTIVE, at=now, reason=f"approved by {actor.get_username()}")
    # The comment is on the plan (encrypted); the event says only whether there is one.
    audit_log(
        action=AuditAction.PLAN_APPROVED, subject=plan, actor=actor,
        data={"loan_ref": loan.loan_ref, "required_level": plan.required_level, "commented": bool(comment)},
    )
    notifications_send(kind=NotificationKind.PLAN_APPROVED, recipients=[(plan.collector_id, loan.pk)], plan=plan,
                       actor=actor)
    return plan


@transaction.atomic
def plan_decline(*, plan: RepaymentPlan, actor: Any, comment: str) -> RepaymentPlan:
    """The approver refuses a plan (state `declined`, terminal); the comment is required, and the collector who
    proposed the plan is told."""
    loan, plan = _lock_plan(plan)
    _check_decision(plan, actor, PlanState.DECLINED)
    comment = comment.strip()
    if not comment:
        raise ValidationError({"comment": _("Say why the plan is declined.")})
    check_text_length(comment, field_name="comment")
    now = timezone.now()
    plan.decided_by = actor
    plan.decided_at = now
    plan.decision_comment = comment
    transition(plan, PlanState.DECLINED, at=now, reason=f"declined by {actor.get_username()}")
    end_pending_installments(plan, at=now, reason="plan declined")
    audit_log(
        action=AuditAction.PLAN_DECLINED, subject=plan, actor=actor,
        data={"loan_ref": loan.loan_ref, "required_level": plan.required_level},
    )
    # The collector who proposed it is told; the notification shows the approver's comment (kept on the plan).
    notifications_send(kind=NotificationKind.PLAN_REJECTED, recipients=[(plan.collector_id, loan.pk)], plan=plan,
                       actor=actor)
    return plan


@transaction.atomic
def plan_cancel(*, plan: RepaymentPlan, actor: Any, reason: str) -> RepaymentPlan:
    """Withdraw a proposed, pending or active plan (the borrower changed their mind, the terms were wrong...).
    The assigned collector, the team's supervisor or compliance may do it; the reason is required."""
    loan, plan = _lock_plan(plan)
    if not may_cancel(actor, loan):
        raise PermissionDenied
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the plan is cancelled.")})
    check_text_length(reason, field_name="reason")
    now = timezone.now()
    # The reason may name people: kept encrypted on the plan, never in the change reason or the audit event.
    plan.cancel_reason = reason
    transition(plan, PlanState.CANCELLED, at=now, reason="withdrawn")
    numbers = end_pending_installments(plan, at=now, reason="plan cancelled")
    audit_log(action=AuditAction.PLAN_CANCELLED, subject=plan, actor=actor,
              data={"loan_ref": loan.loan_ref, "installments_cancelled": numbers})
    return plan


# --- Broken promises and installments (the nightly job) ---------------------------------------------------------


@dataclass(frozen=True)
class BrokenCounts:
    promises: int = 0
    installments: int = 0
    plans: int = 0


def promises_mark_broken(*, today: date, actor: Any = None) -> BrokenCounts:
    """Mark broken every pending promise, and every active plan with a pending installment, whose date plus
    PROMISE_GRACE_DAYS is before `today`. A broken plan's later installments are cancelled.

    Idempotent: only pending promises and active plans are claimed, each under its loan's lock in its own
    transaction (re-checked after locking, so a payment recorded meanwhile wins); a second run finds nothing."""
    cutoff = today - timedelta(days=settings.PROMISE_GRACE_DAYS)  # broken when due_date < cutoff
    promises = installments = plans = 0
    for promise_id, loan_id in list(
        Promise.objects.filter(state=PromiseState.PENDING, due_date__lt=cutoff).values_list("pk", "loan_id")
    ):
        with transaction.atomic():
            Loan.objects.select_for_update().filter(pk=loan_id).values_list("pk", flat=True).first()
            promise = Promise.objects.select_for_update().filter(pk=promise_id, state=PromiseState.PENDING).first()
            if promise is None:
                continue
            transition(promise, PromiseState.BROKEN, at=timezone.now(),
                       reason=f"unpaid {settings.PROMISE_GRACE_DAYS} days after the promised date")
            audit_log(action=AuditAction.PROMISE_BROKEN, subject=promise, actor=actor,
                      data={"loan_id": loan_id, "amount": promise.amount, "paid": promise.paid_amount,
                            "due_date": promise.due_date, "grace_days": settings.PROMISE_GRACE_DAYS})
            promises += 1
    plan_rows = (
        RepaymentPlan.objects.filter(state=PlanState.ACTIVE, installments__state=InstallmentState.PENDING,
                                     installments__due_date__lt=cutoff)
        .values_list("pk", "loan_id").distinct()
    )
    for plan_id, loan_id in list(plan_rows):
        with transaction.atomic():
            Loan.objects.select_for_update().filter(pk=loan_id).values_list("pk", flat=True).first()
            plan = RepaymentPlan.objects.select_for_update().filter(pk=plan_id, state=PlanState.ACTIVE).first()
            if plan is None:
                continue
            now = timezone.now()
            overdue = list(plan.installments.select_for_update().filter(state=InstallmentState.PENDING,
                                                                         due_date__lt=cutoff))
            if not overdue:
                continue
            for installment in overdue:
                transition(installment, InstallmentState.BROKEN, at=now, reason="unpaid after the grace days")
            transition(plan, PlanState.BROKEN, at=now, reason=f"installment #{overdue[0].number} unpaid")
            cancelled = end_pending_installments(plan, at=now, reason="plan broken")
            audit_log(action=AuditAction.PLAN_BROKEN, subject=plan, actor=actor,
                      data={"loan_id": loan_id, "broken_installments": [i.number for i in overdue],
                            "cancelled_installments": cancelled, "grace_days": settings.PROMISE_GRACE_DAYS})
            installments += len(overdue)
            plans += 1
    return BrokenCounts(promises=promises, installments=installments, plans=plans)
