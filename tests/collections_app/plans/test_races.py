"""Race safety of the loan row lock (select_for_update does nothing on SQLite: PostgreSQL only). Each worker is a
thread with its own database connection; `serialized_rollback` restores the migrations' data (roles, limits)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from collections_app.loans.services import payment_record
from collections_app.models import Allocation, Installment, PlanState, Promise, RepaymentPlan
from collections_app.plans.services import plan_approve, plan_decline, plan_propose, promise_create
from collections_app.states import IllegalTransition
from tests import factories as f
from tests.collections_app.plans.helpers import NOW, days, schedule

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("reference_data"),
]


def _race(jobs):
    barrier = threading.Barrier(len(jobs))
    results, errors = [], []

    def run(job):
        try:
            barrier.wait(timeout=30)
            results.append(job())
        except IllegalTransition as exc:
            results.append(exc)
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_concurrent_payments_pay_each_installment_once(loan, collector):
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 6), actor=collector)
    _race([lambda i=i: payment_record(external_id=f"R-{i}", loan=loan, amount="1000", paid_at=NOW, actor=None)
           for i in range(8)])
    assert list(Installment.objects.filter(plan=plan).values_list("paid_amount", flat=True)) == [Decimal("1000")] * 6
    assert Allocation.objects.filter(kind="installment").count() == 6
    assert Allocation.objects.filter(kind="excess").count() == 2
    loan.refresh_from_db()
    plan.refresh_from_db()
    assert loan.balance == 0 and loan.status == "paid" and plan.state == PlanState.COMPLETED


def test_two_approvers_at_once_make_one_decision(loan, collector, supervisor, compliance):
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector, reason="r")
    results = _race([lambda: plan_approve(plan=plan, actor=supervisor, comment="yes"),
                     lambda: plan_decline(plan=plan, actor=compliance, comment="no")])
    assert sum(isinstance(r, IllegalTransition) for r in results) == 1
    assert RepaymentPlan.objects.get().state in (PlanState.ACTIVE, PlanState.DECLINED)
    assert RepaymentPlan.history.filter(state__in=["active", "declined"]).count() == 1


def test_concurrent_promises_leave_one_pending(loan, collector):
    _race([lambda n=n: promise_create(loan=loan, amount=str(100 + n), promise_date=days(3), actor=collector)
           for n in range(6)])
    assert Promise.objects.filter(loan=loan, state="pending").count() == 1
    assert Promise.objects.filter(loan=loan, state="cancelled").count() == 5


def test_the_roles_survive_the_transactional_tests():
    # Guard: factories work after a transactional test restored the serialized data.
    assert f.make_collector("after_race").groups.filter(name="Collector").exists()
