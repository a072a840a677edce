"""The daily broken-promise job: what it marks, that a rerun changes nothing, and what the desk reads."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit_app.models import AuditEvent
from collections_app.models import Installment, PlanState, Promise, PromiseState, RepaymentPlan
from collections_app.plans.selectors import broken_promise_alerts, loans_with_broken_or_due_promises
from collections_app.plans.services import plan_propose, promise_create, promises_mark_broken
from collections_app.tasks import detect_broken_promises
from tests import factories as f
from tests.collections_app.plans.helpers import NOW, TODAY, days, pay, schedule

pytestmark = pytest.mark.django_db


def _at(day):
    return dt.datetime.combine(day, dt.time(1, 0), tzinfo=NOW.tzinfo)


def _snapshot():
    return {
        "promises": sorted(Promise.objects.values_list("pk", "state")),
        "plans": sorted(RepaymentPlan.objects.values_list("pk", "state")),
        "installments": sorted(Installment.objects.values_list("pk", "state")),
        "history": (Promise.history.count(), RepaymentPlan.history.count(), Installment.history.count()),
        "audit": AuditEvent.objects.count(),
    }


def test_the_job_is_in_the_beat_schedule():
    assert settings.CELERY_BEAT_SCHEDULE["detect-broken-promises"]["task"] == detect_broken_promises.name


def test_a_promise_is_broken_only_after_its_grace_days(loan, collector, now):
    promise = promise_create(loan=loan, amount="1000", promise_date=days(1), actor=collector)
    # Due 4 March, grace 2 days: still pending on the 6th, broken on the 7th.
    assert promises_mark_broken(today=days(3)).promises == 0
    now.move_to(_at(days(4)))
    assert promises_mark_broken(today=days(4)).promises == 1
    promise.refresh_from_db()
    assert promise.state == PromiseState.BROKEN and promise.broken_at == _at(days(4))
    event = AuditEvent.objects.get(action="promise.broken")
    assert event.actor is None and event.actor_label == "system"


def test_a_kept_promise_is_left_alone(loan, collector, now):
    promise_create(loan=loan, amount="1000", promise_date=days(1), actor=collector)
    pay(loan, "1000")
    now.move_to(_at(days(10)))
    assert promises_mark_broken(today=days(10)).promises == 0
    assert Promise.objects.get().state == PromiseState.KEPT


def test_an_unpaid_installment_breaks_the_plan_and_cancels_the_rest(loan, collector, now):
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 3), actor=collector)
    pay(loan, "500")  # part of the first installment (due 10 March)
    now.move_to(_at(days(10)))
    counts = promises_mark_broken(today=days(10))
    assert (counts.promises, counts.installments, counts.plans) == (0, 1, 1)
    plan.refresh_from_db()
    assert plan.state == PlanState.BROKEN
    assert list(plan.installments.order_by("number").values_list("state", "paid_amount")) == [
        ("broken", Decimal("500")), ("cancelled", Decimal("0")), ("cancelled", Decimal("0"))]
    assert AuditEvent.objects.get(action="plan.broken").data["broken_installments"] == [1]


def test_running_the_job_twice_changes_nothing_more(loan, collector, now):
    promise_create(loan=loan, amount="1000", promise_date=days(1), actor=collector)
    other = f.LoanFactory(assigned_collector=collector)
    plan_propose(loan=other, kind="installments", schedule=schedule(other.balance, 3), actor=collector)
    pending_later = f.LoanFactory(assigned_collector=collector)
    promise_create(loan=pending_later, amount="100", promise_date=days(20), actor=collector)
    now.move_to(_at(days(10)))

    first = detect_broken_promises.delay(days(10).isoformat()).get()
    assert first == {"promises": 1, "installments": 1, "plans": 1}
    after_first = _snapshot()
    second = detect_broken_promises.delay(days(10).isoformat()).get()
    assert second == {"promises": 0, "installments": 0, "plans": 0}
    assert _snapshot() == after_first


def test_the_task_defaults_to_the_local_date(loan, collector, now):
    promise_create(loan=loan, amount="1000", promise_date=days(1), actor=collector)
    now.move_to(_at(days(4)))
    assert detect_broken_promises() == {"promises": 1, "installments": 0, "plans": 0}


# --- What the desk reads -----------------------------------------------------------------------------------------


def test_the_worklist_signal_for_each_kind_of_account(collector, now):
    due_promise, future_promise, broken_promise, broken_plan, due_installment, renewed, quiet = (
        f.LoanFactory(assigned_collector=collector) for _ in range(7))
    promise_create(loan=due_promise, amount="100", promise_date=days(1), actor=collector)
    promise_create(loan=future_promise, amount="100", promise_date=days(20), actor=collector)
    promise_create(loan=broken_promise, amount="100", promise_date=days(0), actor=collector)
    promise_create(loan=renewed, amount="100", promise_date=days(0), actor=collector)
    plan_propose(loan=broken_plan, kind="installments", schedule=schedule(broken_plan.balance, 2, first=0),
                 actor=collector)
    now.move_to(_at(days(3)))
    promises_mark_broken(today=days(3))
    plan_propose(loan=due_installment, kind="installments", schedule=schedule(due_installment.balance, 2, first=3),
                 actor=collector)
    promise_create(loan=renewed, amount="200", promise_date=days(10), actor=collector)

    signals = loans_with_broken_or_due_promises(
        [x.pk for x in (due_promise, future_promise, broken_promise, broken_plan, due_installment, renewed, quiet)],
        days(3),
    )
    assert signals == {
        due_promise.pk: "due",
        broken_promise.pk: "broken",
        broken_plan.pk: "broken",
        due_installment.pk: "due",
    }
    # A week later the break is old news.
    assert loans_with_broken_or_due_promises([broken_promise.pk], days(3 + 8)) == {}


@pytest.mark.parametrize("n", [1, 30])
def test_the_worklist_signal_takes_two_queries_whatever_the_number_of_loans(collector, n):
    loans = [f.LoanFactory(assigned_collector=collector) for _ in range(n)]
    for loan in loans:
        promise_create(loan=loan, amount="100", promise_date=TODAY, actor=collector)
    with CaptureQueriesContext(connection) as queries:
        signals = loans_with_broken_or_due_promises([x.pk for x in loans], TODAY)
    # 1 promises (pending or recently broken), 2 plans (open or recently broken, with their next due date).
    assert len(queries) == 2
    assert len(signals) == n


def test_the_collector_is_told_of_their_newly_broken_promises_and_plans(loan, collector, other_collector, now):
    promise = promise_create(loan=loan, amount="1000", promise_date=days(0), actor=collector)
    other = f.LoanFactory(assigned_collector=collector)
    plan = plan_propose(loan=other, kind="installments", schedule=schedule(other.balance, 2, first=0),
                        actor=collector)
    now.move_to(_at(days(3)))
    promises_mark_broken(today=days(3))
    with CaptureQueriesContext(connection) as queries:
        alerts = broken_promise_alerts(collector, since=_at(days(2)))
    assert len(queries) == 2  # 1 the collector's promises broken since then, 2 their plans broken since then
    assert {(a.kind, a.object_id, a.loan_ref) for a in alerts} == {
        ("promise", promise.pk, loan.loan_ref), ("plan", plan.pk, other.loan_ref)}
    plan_alert = next(a for a in alerts if a.kind == "plan")
    assert plan_alert.due_date == TODAY
    assert f"#{plan.pk}" in plan_alert.text and TODAY.isoformat() in plan_alert.text
    assert "1,000.00 CNY" in next(a for a in alerts if a.kind == "promise").text
    assert broken_promise_alerts(other_collector, since=_at(days(2))) == []
    assert broken_promise_alerts(collector, since=_at(days(4))) == []


def test_the_team_page_counts_the_promises_made_today(loan, collector, other_collector, now):
    from collections_app.plans.selectors import promises_made_counts

    promise_create(loan=loan, amount="100", promise_date=days(1), actor=collector)
    promise_create(loan=loan, amount="200", promise_date=days(2), actor=collector)  # supersedes: still made today
    now.shift(dt.timedelta(days=1))
    promise_create(loan=loan, amount="300", promise_date=days(3), actor=collector)
    with CaptureQueriesContext(connection) as queries:
        counts = promises_made_counts([collector.pk, other_collector.pk], TODAY)
    assert len(queries) == 1  # one count per collector, grouped in one query
    assert counts == {collector.pk: 2}
