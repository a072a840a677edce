"""Promise kept rate, plan outcomes and amounts promised vs collected, per collector and team."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.plans.reports import plan_report
from collections_app.plans.services import plan_propose, promise_create, promises_mark_broken
from tests import factories as f
from tests.collections_app.plans.helpers import NOW, TODAY, days, pay, schedule

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def fixture(collector, other_collector, now):
    """collector (team A): promises kept 1000/1000, broken 200/500, pending 300, one superseded; an active plan of
    6000 with 1000 paid and a plan awaiting approval. other_collector (team B): one promise of 400, kept."""
    l1, l2, l3, l5, l6 = (f.LoanFactory(assigned_collector=collector) for _ in range(5))
    l4 = f.LoanFactory(assigned_collector=other_collector)
    promise_create(loan=l1, amount="1000", promise_date=days(2), actor=collector)
    pay(l1, "1000")
    promise_create(loan=l2, amount="500", promise_date=days(1), actor=collector)
    pay(l2, "200")
    promise_create(loan=l3, amount="100", promise_date=days(5), actor=collector)
    promise_create(loan=l3, amount="300", promise_date=days(20), actor=collector)
    plan_propose(loan=l5, kind="installments", schedule=schedule(l5.balance, 3), actor=collector)
    pay(l5, "1000")
    plan_propose(loan=l6, kind="installments", schedule=schedule(l6.balance, 8), actor=collector, reason="r")
    promise_create(loan=l4, amount="400", promise_date=days(3), actor=other_collector)
    pay(l4, "400")
    now.move_to(NOW + dt.timedelta(days=4))
    promises_mark_broken(today=days(4))


def _row(rows, label):
    return next(r for r in rows if r.label == label)


def test_the_numbers_per_collector_and_team(fixture, compliance):
    report = plan_report(user=compliance, date_from=TODAY, date_to=days(4))
    a = _row(report.collectors, "collector_a")
    assert (a.promises, a.kept, a.broken, a.pending, a.cancelled) == (4, 1, 1, 1, 1)
    assert a.kept_rate == D("50.0")
    assert (a.promised_on_promises, a.collected_on_promises) == ({"CNY": D("1800")}, {"CNY": D("1200")})
    assert a.plans == 2 and a.plan_states["active"] == 1 and a.plan_states["pending_approval"] == 1
    assert (a.promised_on_plans, a.collected_on_plans) == ({"CNY": D("6000")}, {"CNY": D("1000")})
    assert (a.promised, a.collected) == ({"CNY": D("7800")}, {"CNY": D("2200")})
    b = _row(report.collectors, "collector_b")
    assert (b.promises, b.kept, b.kept_rate, b.promised, b.collected) == (1, 1, D("100.0"), {"CNY": D("400")},
                                                                               {"CNY": D("400")})
    assert [t.label for t in report.teams] == ["Team A", "Team B"]
    assert _row(report.teams, "Team A").kept == 1
    assert (report.total.promises, report.total.kept, report.total.broken) == (5, 2, 1)
    assert report.total.kept_rate == D("66.7")
    assert report.total.collected == {"CNY": D("2600")}


def test_a_supervisor_sees_their_team_only(fixture, supervisor):
    report = plan_report(user=supervisor, date_from=TODAY, date_to=days(4))
    assert [r.label for r in report.collectors] == ["collector_a"]


def test_promises_made_outside_the_period_are_not_counted(fixture, compliance):
    report = plan_report(user=compliance, date_from=days(1), date_to=days(4))
    assert report.collectors == [] and report.total.promises == 0


@pytest.mark.parametrize("n", [1, 10])
def test_the_report_takes_four_queries(collector, compliance, n):
    for _ in range(n):
        collector_n = f.make_collector(team=None)
        loan = f.LoanFactory(assigned_collector=collector_n)
        promise_create(loan=loan, amount="100", promise_date=TODAY, actor=collector_n)
    compliance = f.User.objects.get(pk=compliance.pk)
    compliance._role_groups = frozenset({"Compliance officer"})
    with CaptureQueriesContext(connection) as queries:
        report = plan_report(user=compliance, date_from=TODAY, date_to=TODAY)
    # 1 promises per collector, 2 plans per collector and state, 3 paid on those plans, 4 the collectors and teams.
    assert len(queries) == 4
    assert len(report.collectors) == n


def test_the_report_page(client, fixture, collector, supervisor, compliance):
    url = reverse("plans:reports") + f"?date_from={TODAY}&date_to={days(4)}"
    client.force_login(collector)
    assert client.get(url).status_code == 404
    client.force_login(supervisor)
    page = client.get(url).content.decode()
    assert "collector_a" in page and "collector_b" not in page and "50.0%" in page
    client.force_login(compliance)
    page = client.get(url).content.decode()
    assert "collector_a" in page and "collector_b" in page and "66.7%" in page


def test_amounts_in_different_currencies_are_never_added_together(collector, compliance, client):
    cny = f.LoanFactory(assigned_collector=collector, balance="50000.00")
    usd = f.LoanFactory(assigned_collector=collector, currency="USD")
    promise_create(loan=cny, amount="34800", promise_date=days(2), actor=collector)
    promise_create(loan=usd, amount="250", promise_date=days(2), actor=collector)
    pay(usd, "100")
    report = plan_report(user=compliance, date_from=TODAY, date_to=TODAY)
    row = _row(report.collectors, "collector_a")
    assert row.promised == {"CNY": D("34800"), "USD": D("250")} and row.collected == {"CNY": D("0"), "USD": D("100")}
    assert report.total.promised == {"CNY": D("34800"), "USD": D("250")}
    client.force_login(compliance)
    page = client.get(reverse("plans:reports") + f"?date_from={TODAY}&date_to={TODAY}").content.decode()
    assert "34,800.00 CNY" in page and "250.00 USD" in page and "100.00 USD" in page
    assert "35,050" not in page and "35050" not in page
