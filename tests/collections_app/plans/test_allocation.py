"""Payments (through payment_record, the service behind the API, admin and the CSV import) are allocated to the
active plan's installments in due-date order, to the loan balance, or recorded as an over-payment."""

import datetime as dt
from decimal import Decimal

import pytest

from audit_app.models import AuditEvent
from collections_app.loans.services import payment_record
from collections_app.models import Allocation, Installment, PlanState
from collections_app.plans.services import plan_approve, plan_propose, promises_mark_broken
from tests.collections_app.plans.helpers import NOW, TODAY, pay, schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(loan, collector):
    """6000.00 in six installments of 1000.00, monthly from 10 March."""
    return plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 6), actor=collector)


@pytest.fixture
def settlement(loan, collector):
    """5700.00 (5 % off 6000.00) in two installments of 2850.00."""
    return plan_propose(loan=loan, kind="settlement", agreed_total="5700", schedule=schedule("5700", 2),
                        actor=collector)


def _paid(plan):
    return [(i.paid_amount, i.state) for i in Installment.objects.filter(plan=plan).order_by("due_date")]


def _parts(payment):
    rows = [(a.kind, a.reason, a.amount, a.installment.number if a.installment else None)
            for a in Allocation.objects.filter(payment=payment).select_related("installment").order_by("id")]
    assert sum(r[2] for r in rows) == payment.amount  # the parts of a payment add up to it
    return rows


D = Decimal


def test_a_partial_payment_stays_on_the_first_installment_until_it_is_paid(loan, plan):
    first = pay(loan, "400")
    assert _parts(first) == [("installment", "plan_installment", D("400"), 1)]
    assert _paid(plan)[:2] == [(D("400"), "pending"), (D("0"), "pending")]
    assert loan.balance == D("5600") and loan.status == "active"
    pay(loan, "600")
    assert _paid(plan)[:2] == [(D("1000"), "paid"), (D("0"), "pending")]
    assert Installment.objects.get(plan=plan, number=1).paid_at == NOW


def test_an_exact_payment_pays_one_installment(loan, plan):
    payment = pay(loan, "1000")
    assert _parts(payment) == [("installment", "plan_installment", D("1000"), 1)]
    assert [s for _p, s in _paid(plan)] == ["paid"] + ["pending"] * 5
    plan.refresh_from_db()
    assert plan.state == PlanState.ACTIVE and loan.balance == D("5000")


def test_a_larger_payment_runs_on_to_the_next_installments_in_due_date_order(loan, plan):
    payment = pay(loan, "2500")
    assert _parts(payment) == [
        ("installment", "plan_installment", D("1000"), 1),
        ("installment", "plan_installment", D("1000"), 2),
        ("installment", "plan_installment", D("500"), 3),
    ]
    assert [s for _p, s in _paid(plan)][:4] == ["paid", "paid", "pending", "pending"]


def test_paying_every_installment_completes_the_plan_and_pays_the_loan(loan, plan):
    for _ in range(6):
        pay(loan, "1000")
    plan.refresh_from_db()
    assert plan.state == PlanState.COMPLETED and plan.completed_at is not None
    assert loan.balance == 0 and loan.status == "paid"
    assert AuditEvent.objects.filter(action="plan.completed", subject_id=str(plan.pk)).count() == 1


def test_an_over_payment_beyond_the_balance_is_recorded_as_unallocated(loan, plan):
    payment = pay(loan, "7000")
    parts = _parts(payment)
    assert parts[-1] == ("excess", "overpaid", D("1000"), None)
    assert sum(p[2] for p in parts if p[0] == "installment") == D("6000")
    plan.refresh_from_db()
    assert plan.state == PlanState.COMPLETED and loan.balance == 0 and loan.status == "paid"
    recorded = AuditEvent.objects.get(action="payment.recorded")
    assert recorded.data["overpaid"] == "1000.00" and recorded.data["unallocated"] == "1000.00"
    allocated = AuditEvent.objects.get(action="payment.allocated")
    assert allocated.data["excess"] == "1000.00"


def test_an_over_payment_without_a_plan_goes_to_the_balance_then_unallocated(loan):
    payment = pay(loan, "6500")
    assert _parts(payment) == [("loan", "no_plan", D("6000"), None), ("excess", "overpaid", D("500"), None)]
    assert loan.balance == 0 and loan.status == "paid"


def test_a_settlement_paid_in_full_settles_the_loan_with_a_zero_balance(loan, settlement):
    pay(loan, "2850")
    assert loan.balance == D("3150") and loan.status == "active"
    pay(loan, "2850")
    settlement.refresh_from_db()
    assert settlement.state == PlanState.COMPLETED
    assert loan.balance == 0 and loan.status == "settled" and loan.days_past_due() == 0
    completed = AuditEvent.objects.get(action="plan.completed")
    assert completed.data["settled"] is True and completed.data["forgiven"] == "300.00"
    assert loan.history.first().history_change_reason.startswith("payment ")


def test_paying_more_than_a_settlement_is_an_over_payment(loan, settlement):
    payment = pay(loan, "6000")
    assert _parts(payment) == [
        ("installment", "plan_installment", D("2850"), 1),
        ("installment", "plan_installment", D("2850"), 2),
        ("excess", "settlement_overpaid", D("300"), None),
    ]
    assert loan.status == "settled" and loan.balance == 0


def test_a_payment_after_the_plan_broke_goes_to_the_loan_balance_only(loan, plan, now):
    now.move_to(dt.datetime.combine(TODAY + dt.timedelta(days=10), dt.time(10), tzinfo=NOW.tzinfo))
    counts = promises_mark_broken(today=TODAY + dt.timedelta(days=10))
    assert counts.plans == 1
    payment = pay(loan, "1000")
    assert _parts(payment) == [("loan", "plan_broken", D("1000"), None)]
    plan.refresh_from_db()
    assert plan.state == PlanState.BROKEN
    assert set(Installment.objects.filter(plan=plan).values_list("paid_amount", flat=True)) == {D("0")}
    assert loan.balance == D("5000")
    assert str(Allocation.objects.get(payment=payment).get_reason_display()).startswith("The plan was broken")


def test_a_payment_while_the_plan_awaits_approval_goes_to_the_balance(loan, collector, supervisor):
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector, reason="r")
    payment = pay(loan, "1000")
    assert _parts(payment) == [("loan", "plan_not_active", D("1000"), None)]
    # Approved later, the plan's installments are what is left to pay; when the loan is paid off the plan is done.
    plan_approve(plan=plan, actor=supervisor)
    last = pay(loan, "5000")
    assert sum(p[2] for p in _parts(last) if p[0] == "installment") == D("5000")
    plan.refresh_from_db()
    assert plan.state == PlanState.COMPLETED and loan.status == "paid"
    # 8 x 750: six paid, the seventh partly, and nothing more is owed on the loan.
    assert _paid(plan)[-3:] == [(D("750"), "paid"), (D("500"), "cancelled"), (D("0"), "cancelled")]


def test_a_repeated_payment_is_not_allocated_twice(loan, plan):
    at = dt.datetime.now(dt.UTC)
    payment_record(external_id="P-1", loan=loan, amount="1000", paid_at=at, actor=None)
    _again, created = payment_record(external_id="P-1", loan=loan, amount="1000", paid_at=at, actor=None)
    assert created is False
    assert Allocation.objects.count() == 1
    loan.refresh_from_db()
    assert loan.balance == D("5000")
