"""The lifecycles: every allowed transition, every refused one, with an error naming both states."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from collections_app.models import (
    Installment,
    InstallmentState,
    PlanState,
    Promise,
    PromiseState,
    RepaymentPlan,
)
from collections_app.plans.states import TRANSITIONS, can_transition, transition
from collections_app.states import IllegalTransition
from tests.collections_app.plans.helpers import NOW, TODAY

pytestmark = pytest.mark.django_db

ALLOWED = {
    RepaymentPlan: {
        ("proposed", "pending_approval"), ("proposed", "active"), ("proposed", "cancelled"),
        ("pending_approval", "active"), ("pending_approval", "declined"), ("pending_approval", "cancelled"),
        ("active", "completed"), ("active", "broken"), ("active", "cancelled"),
    },
    Promise: {("pending", "kept"), ("pending", "broken"), ("pending", "cancelled")},
    Installment: {("pending", "paid"), ("pending", "broken"), ("pending", "cancelled")},
}
STATES = {RepaymentPlan: PlanState.values, Promise: PromiseState.values, Installment: InstallmentState.values}
PAIRS = [(model, a, b) for model, states in STATES.items() for a in states for b in states]


def _make(model, state, loan, collector):
    if model is Promise:
        return Promise.objects.create(loan=loan, collector=collector, amount=Decimal("100"), due_date=TODAY,
                                      created_at=NOW, state=state)
    plan = RepaymentPlan.objects.create(
        loan=loan, kind="installments", collector=collector, balance_at_proposal=loan.balance,
        agreed_total=loan.balance, required_level="collector", created_at=NOW,
        state=state if model is RepaymentPlan else "active",
    )
    if model is RepaymentPlan:
        return plan
    return Installment.objects.create(plan=plan, number=1, due_date=TODAY, amount=Decimal("100"), state=state)


def test_the_table_is_exactly_the_documented_lifecycle():
    for model, allowed in ALLOWED.items():
        table = {(a, b) for a, targets in TRANSITIONS[model].items() for b in targets}
        assert table == allowed, model
        assert set(TRANSITIONS[model]) == set(STATES[model])


@pytest.mark.parametrize(("model", "from_state", "to_state"), PAIRS,
                         ids=[f"{m.__name__}:{a}->{b}" for m, a, b in PAIRS])
def test_every_transition_is_applied_or_refused(model, from_state, to_state, loan, collector):
    obj = _make(model, from_state, loan, collector)
    history_before = obj.history.count()
    if (from_state, to_state) in ALLOWED[model]:
        transition(obj, to_state, at=NOW, reason="test")
        obj.refresh_from_db()
        assert obj.state == to_state
        assert obj.history.count() == history_before + 1
        assert obj.history.first().history_change_reason == f"{from_state} → {to_state}: test"
    else:
        with pytest.raises(IllegalTransition) as exc:
            transition(obj, to_state, at=NOW, reason="test")
        assert isinstance(exc.value, ValidationError)
        message = exc.value.messages[0]
        assert f"“{from_state}”" in message and f"“{to_state}”" in message
        assert (exc.value.from_state, exc.value.to_state) == (from_state, to_state)
        obj.refresh_from_db()
        assert obj.state == from_state
        assert obj.history.count() == history_before


def test_entering_a_state_stamps_its_time(loan, collector):
    plan = _make(RepaymentPlan, "pending_approval", loan, collector)
    transition(plan, "active", at=NOW, reason="approved")
    transition(plan, "broken", at=NOW + dt.timedelta(days=1), reason="unpaid")
    plan.refresh_from_db()
    assert plan.activated_at == NOW and plan.broken_at == NOW + dt.timedelta(days=1)
    assert can_transition(RepaymentPlan, "broken", "active") is False
