"""Writes to loans, payments and assignments (STYLE.md §1)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.models import Borrower, Consent, PhoneNumber, PhoneStatus
from consent_app.services import consent_withdraw, phone_set_status

from . import policy
from .models import CURRENCY_DECIMALS, AttemptOutcome, AttemptParty, ContactAttempt, Loan, LoanStatus, Payment
from .permissions import is_collector
from .selectors import contact_snapshot


def parse_amount(value: Any, *, currency: str, field_name: str, allow_zero: bool = True) -> Decimal:
    """A non-negative amount with no more decimals than the currency has (CNY/USD/GBP: 2)."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field_name: _("Not an amount.")}) from exc
    if not amount.is_finite():
        raise ValidationError({field_name: _("Not an amount.")})
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError({field_name: _("The amount must be positive.")})
    decimals = CURRENCY_DECIMALS.get(currency, 2)
    if -amount.as_tuple().exponent > decimals:
        raise ValidationError(
            {field_name: _("At most %(n)d decimal places for %(currency)s.") % {"n": decimals, "currency": currency}}
        )
    if amount >= Decimal("1e12"):
        raise ValidationError({field_name: _("The amount is too large.")})
    return amount


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
    if created:
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
    loan._change_reason = reason or ("created" if created else "updated")
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
    loan._change_reason = reason or "assigned"
    loan.save(update_fields=["assigned_collector", "updated_at"])
    audit_log(
        action=AuditAction.LOAN_ASSIGNED, subject=loan, actor=actor,
        data={"from_user_id": old, "to_user_id": new, "reason": reason},
    )
    return loan


@transaction.atomic
def payment_record(
    *, external_id: str, loan: Loan, amount: Any, paid_at: datetime, actor: Any
) -> tuple[Payment, bool]:
    """Record a payment once per `external_id` (a repeat returns the first and changes nothing) and reduce the
    loan's balance; a loan whose balance reaches zero is marked paid. The payment is allocated to the active
    plan's installments, the loan balance and any over-payment, and counted toward pending promises
    (plans.services.payment_allocate, same transaction); a settlement paid in full sets the balance to zero and
    the status to settled. Returns (payment, created)."""
    from .plans.services import payment_allocate  # the plans package imports this module

    if timezone.is_naive(paid_at):
        raise ValidationError({"paid_at": _("A time zone offset is required.")})
    amount_d = parse_amount(amount, currency=loan.currency, field_name="amount", allow_zero=False)
    if paid_at > timezone.now() + timedelta(minutes=5):
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
    payment._change_reason = "recorded"
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
    loan._change_reason = f"payment {external_id}"
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


# --- Contact: check, start (under the borrower lock), complete, record ------------------------------------------

def _lock_borrower(borrower_id: int) -> None:
    """Serialise every contact decision about one borrower. Two collectors, or a collector and the dialer,
    must not both pass the check for the last allowed attempt: the check and the reservation happen while this
    row lock is held (SELECT ... FOR UPDATE; a no-op on SQLite, whose writers are serialised anyway)."""
    Borrower.objects.select_for_update().filter(pk=borrower_id).values_list("pk", flat=True).first()


def _check_channel(channel: str) -> None:
    if channel not in {c.value for c in policy.Channel}:
        raise ValidationError({"channel": _("Unknown channel.")})


def _check_target(loan: Loan, phone: PhoneNumber) -> None:
    if phone.borrower_id != loan.borrower_id:
        raise ValidationError({"phone": _("This number is not one of the loan's borrower's numbers.")})


def _stored_reasons(decision: policy.Decision) -> list[dict[str, Any]]:
    # Codes and sources are stored; messages are rendered in the reader's language when shown.
    return [
        {"code": str(r.code), "rule": r.rule, "until": r.until.isoformat() if r.until else None}
        for r in decision.reasons
    ]


def contact_check(*, loan: Loan, phone: PhoneNumber, channel: str, at: datetime | None = None) -> policy.Decision:
    """May this number be contacted about this loan on this channel at `at` (default now)? Read-only."""
    _check_channel(channel)
    _check_target(loan, phone)
    at = at or timezone.now()
    snapshot, _version = contact_snapshot(loan=loan, phone=phone, at=at)
    return policy.evaluate(snapshot, channel=channel, at=at)


@transaction.atomic
def contact_start(
    *, loan: Loan, phone: PhoneNumber, channel: str, collector: Any, at: datetime | None = None
) -> tuple[ContactAttempt | None, policy.Decision]:
    """A collector starts a call or SMS: re-check the policy under the borrower lock and, if allowed, record an
    in-progress attempt (it counts toward the caps at once). Returns (attempt or None, decision)."""
    _check_channel(channel)
    _check_target(loan, phone)
    _lock_borrower(loan.borrower_id)
    at = at or timezone.now()
    snapshot, version = contact_snapshot(loan=loan, phone=phone, at=at)
    decision = policy.evaluate(snapshot, channel=channel, at=at)
    if not decision.allowed:
        return None, decision
    attempt = ContactAttempt(
        loan=loan, phone=phone, borrower_id=loan.borrower_id, channel=channel, direction="outbound",
        started_at=at, collector=collector, compliant=True, reasons=[], policy_version=version, source="desk",
    )
    attempt._change_reason = "started"
    attempt.save()
    audit_log(
        action=AuditAction.CONTACT_ATTEMPT_RECORDED, subject=attempt, actor=collector,
        data={"loan_ref": loan.loan_ref, "phone_id": phone.pk, "channel": channel, "state": "started",
              "policy": f"{version.policy.code} v{version.version}"},
    )
    return attempt, decision


def _apply_consequences(*, attempt: ContactAttempt, actor: Any) -> None:
    """What an outcome changes: a wrong number is marked; an opt-out stops contact of that number (a third
    party's number is marked opted out; the borrower's call consents on that number are withdrawn, PIPL art. 15)."""
    phone = attempt.phone
    if attempt.outcome == AttemptOutcome.WRONG_NUMBER:
        phone_set_status(phone=phone, status=PhoneStatus.WRONG_NUMBER, actor=actor, reason="reported wrong number")
    if attempt.opt_out:
        if phone.third_party_id or attempt.party == AttemptParty.THIRD_PARTY:
            phone_set_status(phone=phone, status=PhoneStatus.OPTED_OUT, actor=actor, reason="asked not to be called")
        else:
            for consent in Consent.objects.filter(phone=phone, withdrawn_at__isnull=True, allows_call=True):
                consent_withdraw(consent=consent, via="opt_out", actor=actor, channels=("call",),
                                 withdrawn_at=attempt.started_at if attempt.started_at < timezone.now() else None)


def _validate_outcome(outcome: str, party: str, phone: PhoneNumber) -> str:
    if outcome not in AttemptOutcome.values:
        raise ValidationError({"outcome": _("Unknown outcome.")})
    if party and party not in AttemptParty.values:
        raise ValidationError({"party": _("Unknown party.")})
    if outcome == AttemptOutcome.CONVERSATION and not party:
        party = AttemptParty.THIRD_PARTY if phone.third_party_id else AttemptParty.DEBTOR
    if outcome != AttemptOutcome.CONVERSATION:
        party = ""
    return party


@transaction.atomic
def attempt_complete(
    *, attempt: ContactAttempt, outcome: str, actor: Any, party: str = "", opt_out: bool = False,
    duration_s: int | None = None, ended_at: datetime | None = None,
) -> ContactAttempt:
    """Record the outcome of an attempt started on the desk. Completing twice is refused."""
    attempt = ContactAttempt.objects.select_for_update().select_related("phone", "loan").get(pk=attempt.pk)
    if attempt.outcome:
        raise ValidationError({"outcome": _("This attempt already has an outcome.")})
    attempt.party = _validate_outcome(outcome, party, attempt.phone)
    attempt.outcome = outcome
    attempt.opt_out = opt_out
    attempt.duration_s = duration_s
    attempt.ended_at = ended_at or timezone.now()
    attempt._change_reason = f"outcome {outcome}"
    attempt.save()
    _apply_consequences(attempt=attempt, actor=actor)
    audit_log(
        action=AuditAction.CONTACT_ATTEMPT_RECORDED, subject=attempt, actor=actor,
        data={"loan_ref": attempt.loan.loan_ref, "outcome": outcome, "party": attempt.party, "opt_out": opt_out,
              "state": "completed"},
    )
    return attempt


@transaction.atomic
def attempt_record(
    *,
    external_id: str,
    loan: Loan,
    phone: PhoneNumber,
    channel: str,
    direction: str,
    started_at: datetime,
    outcome: str,
    actor: Any,
    party: str = "",
    opt_out: bool = False,
    collector: Any = None,
    duration_s: int | None = None,
    recording_ref: str = "",
) -> tuple[ContactAttempt, bool]:
    """The dialer reports a contact it made. Idempotent by `external_id`. The verdict is the policy evaluated at
    `started_at` against the history before it; a non-compliant attempt is still recorded, flagged, with its
    reasons. Returns (attempt, created)."""
    if timezone.is_naive(started_at):
        raise ValidationError({"started_at": _("A time zone offset is required.")})
    if started_at > timezone.now() + timedelta(minutes=1):
        raise ValidationError({"started_at": _("An attempt cannot start in the future.")})
    _check_channel(channel)
    if direction not in ("outbound", "inbound"):
        raise ValidationError({"direction": _("Unknown direction.")})
    if duration_s is not None and duration_s < 0:
        raise ValidationError({"duration_s": _("The duration cannot be negative.")})
    _check_target(loan, phone)
    party = _validate_outcome(outcome, party, phone)
    _lock_borrower(loan.borrower_id)
    existing = ContactAttempt.objects.filter(external_id=external_id).first()
    if existing is not None:
        if existing.loan_id != loan.pk or existing.phone_id != phone.pk:
            raise ValidationError({"external_id": _("This attempt id was already used for another contact.")})
        return existing, False
    snapshot, version = contact_snapshot(loan=loan, phone=phone, at=started_at, before=True)
    if direction == "inbound":
        # Inbound calls are never attempts (DESIGN.md): the borrower called us, so there is nothing to judge.
        decision_reasons: list[dict[str, Any]] = []
        compliant = True
    else:
        decision = policy.evaluate(snapshot, channel=channel, at=started_at)
        decision_reasons = _stored_reasons(decision)
        compliant = decision.allowed
    attempt = ContactAttempt(
        loan=loan, phone=phone, borrower_id=loan.borrower_id, channel=channel, direction=direction,
        started_at=started_at, ended_at=started_at + timedelta(seconds=duration_s or 0), outcome=outcome,
        party=party, opt_out=opt_out, collector=collector, duration_s=duration_s, recording_ref=recording_ref,
        external_id=external_id, compliant=compliant, reasons=decision_reasons, policy_version=version,
        source="dialer",
    )
    attempt.full_clean(exclude=["loan", "phone", "borrower", "collector", "policy_version"], validate_unique=False)
    attempt._change_reason = "reported by the dialer"
    attempt.save()
    _apply_consequences(attempt=attempt, actor=actor)
    audit_log(
        action=AuditAction.CONTACT_ATTEMPT_RECORDED, subject=attempt, actor=actor,
        data={"loan_ref": loan.loan_ref, "external_id": external_id, "outcome": outcome, "compliant": compliant,
              "reasons": [r["code"] for r in decision_reasons], "state": "reported"},
    )
    return attempt, True
