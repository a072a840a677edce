"""Writes to loans, payments and assignments (STYLE.md §1)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.history import with_change_reason
from consent_app.models import Borrower
from consent_app.validators import is_in_future

from ..amounts import parse_amount
from ..desk.notifications import notifications_send
from ..models import CURRENCY_DECIMALS, Loan, LoanStatus, NotificationKind, Payment
from ..permissions import is_collector
from ..plans.allocation import payment_allocate


@transaction.atomic
def loan_upsert(
    *,
    loan_ref: str,
    borrower: Borrower,
    principal: Any,
    balance: Any,
    currency: str,
    due_date: date,
    status: str = LoanStatus.ACTIVE,
    actor: Any,
    reason: str = "",
) -> tuple[Loan, bool]:
    if currency not in CURRENCY_DECIMALS:
        raise ValidationError({"currency": _("Unknown currency.")})
    if status not in LoanStatus.values:
        raise ValidationError({"status": _("Unknown loan status.")})
    principal_d = parse_amount(principal, currency=currency, field_name="principal")
    balance_d = parse_amount(balance, currency=currency, field_name="balance")
    loan = Loan.objects.select_for_update().filter(loan_ref=loan_ref).first()
    created = loan is None
    if loan is None:
        loan = Loan(loan_ref=loan_ref, borrower=borrower)
    elif loan.borrower_id != borrower.pk:
        raise ValidationError({"borrower_ref": _("This loan belongs to another borrower.")})
    new_values = {
        "principal": principal_d, "balance": balance_d, "currency": currency, "due_date": due_date, "status": status,
    }
    changed = created or any(getattr(loan, k) != v for k, v in new_values.items())
    if not changed:
        return loan, False
    for key, value in new_values.items():
        setattr(loan, key, value)
    loan.full_clean(exclude=None if created else ["loan_ref"], validate_unique=False)
    with_change_reason(loan, reason or ("created" if created else "updated"))
    loan.save()
    audit_log(
        action=AuditAction.LOAN_CREATED if created else AuditAction.LOAN_UPDATED, subject=loan, actor=actor,
        data={"loan_ref": loan_ref, "balance": balance_d, "currency": currency, "status": status,
              "source": reason or "service"},
    )
    return loan, created


@transaction.atomic
def loan_assign(*, loan: Loan, collector: Any, actor: Any, reason: str = "") -> Loan:
    if collector is not None and not is_collector(collector):
        raise ValidationError({"collector": _("Loans are assigned to collectors only.")})
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    old = loan.assigned_collector_id
    new = collector.pk if collector is not None else None
    if old == new:
        return loan
    loan.assigned_collector_id = new
    with_change_reason(loan, reason or "assigned")
    loan.save(update_fields=["assigned_collector", "updated_at"])
    audit_log(
        action=AuditAction.LOAN_ASSIGNED, subject=loan, actor=actor,
        data={"from_user_id": old, "to_user_id": new, "source": reason or "service"},
    )
    # The collector who now has the account is told (the one it left sees it no more).
    notifications_send(kind=NotificationKind.ACCOUNT_ASSIGNED, recipients=[(new, loan.pk)], actor=actor)
    return loan


@transaction.atomic
def payment_record(
    *, external_id: str, loan: Loan, amount: Any, paid_at: datetime, actor: Any
) -> tuple[Payment, bool]:
    """Record a payment once per `external_id` (a repeat returns the first and changes nothing) and reduce the
    loan's balance; a loan whose balance reaches zero is marked paid. The payment is allocated to the active
    plan's installments, the loan balance and any over-payment, and counted toward pending promises
    (plans.allocation.payment_allocate, same transaction); a settlement paid in full sets the balance to zero and
    the status to settled. Returns (payment, created)."""
    if timezone.is_naive(paid_at):
        raise ValidationError({"paid_at": _("A time zone offset is required.")})
    amount_d = parse_amount(amount, currency=loan.currency, field_name="amount", allow_zero=False)
    if is_in_future(paid_at):
        raise ValidationError({"paid_at": _("A payment cannot be dated in the future.")})
    # Lock the loan before looking for the payment: two deliveries of the same payment serialise here, and the
    # second finds the first instead of failing on the unique constraint.
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    existing = Payment.objects.filter(external_id=external_id).first()
    if existing is not None:
        if existing.loan_id != loan.pk:
            raise ValidationError({"external_id": _("This payment id was already used for another loan.")})
        if existing.amount != amount_d or existing.paid_at != paid_at:
            raise ValidationError({"external_id": _("This payment id was already used with another amount or time.")})
        return existing, False
    payment = Payment(external_id=external_id, loan=loan, amount=amount_d, paid_at=paid_at)
    payment.full_clean(validate_unique=False)
    with_change_reason(payment, "recorded")
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError as exc:
        # The same id delivered for another loan at the same moment (a different loan lock).
        raise ValidationError({"external_id": _("This payment id was already used for another loan.")}) from exc
    old_balance = loan.balance
    allocation = payment_allocate(payment=payment, loan=loan, balance_before=old_balance, actor=actor)
    loan.balance = max(loan.balance - amount_d, Decimal("0"))
    overpaid = max(amount_d - old_balance, Decimal("0"))
    if allocation.settles_loan:
        loan.balance = Decimal("0")  # the settlement's discount is written off
    if loan.balance == 0 and loan.status == LoanStatus.ACTIVE:
        loan.status = LoanStatus.SETTLED if allocation.settles_loan else LoanStatus.PAID
    with_change_reason(loan, f"payment {external_id}")
    loan.save(update_fields=["balance", "status", "updated_at"])
    audit_log(
        action=AuditAction.PAYMENT_RECORDED, subject=payment, actor=actor,
        data={"loan_ref": loan.loan_ref, "amount": amount_d, "balance_before": old_balance,
              "balance_after": loan.balance, "overpaid": overpaid, "unallocated": allocation.excess,
              "settled": allocation.settles_loan},
    )
    return payment, True


def collector_by_username(username: str) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not is_collector(user):
        raise ValidationError({"collector": _("No collector with this username.")})
    return user

