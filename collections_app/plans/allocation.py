"""Allocation of a payment: to the active plan's installments, the loan balance and any over-payment, and
toward the pending promises it keeps.

Called by loans.services.payment_record inside its transaction, with the loan row locked (the lock order of
services.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.history import with_change_reason

from ..models import (
    Allocation,
    AllocationKind,
    AllocationReason,
    InstallmentState,
    Loan,
    Payment,
    PlanKind,
    PlanState,
    Promise,
    PromiseState,
    RepaymentPlan,
)
from .services import end_pending_installments
from .states import transition

ZERO = Decimal("0")


@dataclass
class AllocationResult:
    allocations: list[Allocation] = field(default_factory=list)
    settles_loan: bool = False  # a settlement was paid in full: the loan's balance goes to 0, status "settled"
    excess: Decimal = ZERO  # the over-payment recorded as unallocated
    plan_completed: RepaymentPlan | None = None
    promises_kept: list[int] = field(default_factory=list)


def _reason_without_active_plan(loan: Loan) -> str:
    latest = RepaymentPlan.objects.filter(loan=loan).order_by("-created_at", "-id").values_list("state", flat=True)
    state = latest.first()
    if state == PlanState.BROKEN:
        return AllocationReason.PLAN_BROKEN
    if state in (PlanState.PROPOSED, PlanState.PENDING_APPROVAL):
        return AllocationReason.PLAN_NOT_ACTIVE
    return AllocationReason.NO_PLAN


def payment_allocate(*, payment: Payment, loan: Loan, balance_before: Decimal, actor: Any) -> AllocationResult:
    """Split a new payment between the active plan's installments (in due-date order), the loan balance and,
    beyond what is owed, an unallocated over-payment; update the promises it keeps. Called by payment_record
    inside its transaction with the loan row locked; payment_record then sets the balance and status.

    - Partial payments leave the installment pending with what was paid; the next payment continues it.
    - Nothing is allocated beyond `balance_before`: the rest is an over-payment (kind `excess`), flagged for
      review or refund. When a settlement is paid in full the remainder of the balance is forgiven, so anything
      paid beyond the agreed total is an over-payment too.
    - Without an active plan (none, awaiting approval, or broken) the payment goes to the loan balance only and
      the allocation says why; a broken plan is not revived by a late payment.
    """
    result = AllocationResult()
    remaining = payment.amount
    room = balance_before  # what the loan balance can still absorb
    plan = RepaymentPlan.objects.select_for_update().filter(loan=loan, state=PlanState.ACTIVE).first()
    if plan is not None:
        for installment in plan.installments.select_for_update().filter(state=InstallmentState.PENDING).order_by(
            "due_date", "number"
        ):
            part = min(remaining, installment.outstanding, room)
            if part <= 0:
                break
            installment.paid_amount += part
            if installment.paid_amount == installment.amount:
                transition(installment, InstallmentState.PAID, at=payment.paid_at,
                           reason=f"payment {payment.external_id}")
            else:
                with_change_reason(installment, f"partly paid by payment {payment.external_id}"[:100])
                installment.save()
            result.allocations.append(Allocation(
                payment=payment, loan=loan, plan=plan, installment=installment, kind=AllocationKind.INSTALLMENT,
                reason=AllocationReason.PLAN_INSTALLMENT, amount=part,
            ))
            remaining -= part
            room -= part
        all_paid = not plan.installments.filter(state=InstallmentState.PENDING).exists()
        loan_paid_off = room <= 0
        if all_paid or loan_paid_off:
            now = timezone.now()
            if not all_paid:
                # The loan was paid off (e.g. payments while the plan awaited approval): nothing more is owed.
                end_pending_installments(plan, at=now, reason="loan paid off")
            transition(plan, PlanState.COMPLETED, at=now, reason=f"payment {payment.external_id}")
            result.plan_completed = plan
            forgiven = ZERO
            if plan.kind == PlanKind.SETTLEMENT and all_paid and room > 0:
                # The settlement's discount: what the loan still owed beyond the agreed total is written off.
                result.settles_loan = True
                forgiven, room = room, ZERO
            audit_log(action=AuditAction.PLAN_COMPLETED, subject=plan, actor=actor,
                      data={"loan_ref": loan.loan_ref, "kind": plan.kind, "payment": payment.external_id,
                            "settled": result.settles_loan, "forgiven": forgiven})
        if remaining > 0 and room > 0:
            part = min(remaining, room)
            result.allocations.append(Allocation(payment=payment, loan=loan, plan=plan, kind=AllocationKind.LOAN,
                                                 reason=AllocationReason.BEYOND_PLAN, amount=part))
            remaining -= part
            room -= part
        over_reason = AllocationReason.SETTLEMENT_OVERPAID if result.settles_loan else AllocationReason.OVERPAID
    else:
        if room > 0:
            part = min(remaining, room)
            result.allocations.append(Allocation(payment=payment, loan=loan, kind=AllocationKind.LOAN,
                                                 reason=_reason_without_active_plan(loan), amount=part))
            remaining -= part
        over_reason = AllocationReason.OVERPAID
    if remaining > 0:
        result.excess = remaining
        result.allocations.append(Allocation(payment=payment, loan=loan, plan=plan, kind=AllocationKind.EXCESS,
                                             reason=over_reason, amount=remaining))
    for allocation in result.allocations:
        with_change_reason(allocation, "allocated")
        allocation.save()

    result.promises_kept = _apply_to_promises(payment=payment, loan=loan, actor=actor)
    audit_log(
        action=AuditAction.PAYMENT_ALLOCATED, subject=payment, actor=actor,
        data={"loan_ref": loan.loan_ref, "external_id": payment.external_id, "excess": result.excess,
              "settled": result.settles_loan, "promises_kept": result.promises_kept,
              "parts": [{"kind": a.kind, "reason": a.reason, "amount": a.amount, "plan_id": a.plan_id,
                         "installment": a.installment.number if a.installment else None}
                        for a in result.allocations]},
    )
    return result


def _apply_to_promises(*, payment: Payment, loan: Loan, actor: Any) -> list[int]:
    """A payment counts toward a pending promise when it was made after the promise and dated no later than the
    promised date plus the grace days; the promise is kept once those payments add up to its amount."""
    paid_day = timezone.localdate(payment.paid_at)
    grace = timedelta(days=settings.PROMISE_GRACE_DAYS)
    kept = []
    for promise in Promise.objects.select_for_update().filter(loan=loan, state=PromiseState.PENDING):
        if payment.paid_at < promise.created_at or paid_day > promise.due_date + grace:
            continue
        promise.paid_amount += payment.amount
        if promise.paid_amount >= promise.amount:
            transition(promise, PromiseState.KEPT, at=payment.paid_at, reason=f"payment {payment.external_id}")
            audit_log(action=AuditAction.PROMISE_KEPT, subject=promise, actor=actor,
                      data={"loan_ref": loan.loan_ref, "amount": promise.amount, "paid": promise.paid_amount,
                            "payment": payment.external_id})
            kept.append(promise.pk)
        else:
            with_change_reason(promise, f"partly paid by payment {payment.external_id}"[:100])
            promise.save()
    return kept
