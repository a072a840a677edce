"""The plans report refuses a period out of range with a 422 naming the date (page and admin), and a user who
is both collector and supervisor never decides the plans they proposed."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from collections_app.models import PlanState
from collections_app.permissions import may_decide, plans_decidable_by
from collections_app.plans.selectors import approval_queue
from collections_app.plans.services import plan_approve, plan_propose
from tests import factories as f
from tests.collections_app.plans.helpers import NOW, schedule

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url_name", ["plans:reports", "admin:collections_app_plan_report"])
@pytest.mark.parametrize(("query", "field"), [
    ({"date_from": "0001-01-01"}, "date_from"),
    ({"date_to": "9999-12-30"}, "date_to"),
    ({"date_from": "9999-12-30", "date_to": "9999-12-31"}, "date_from"),
])
def test_a_report_period_out_of_range_is_a_422_naming_the_date(client, compliance, url_name, query, field):
    client.force_login(compliance)
    response = client.get(reverse(url_name), query)
    assert response.status_code == 422
    assert response.context["period"].errors[field] == ["The date must be between 1970 and 2199."]
    assert "report" not in response.context


@pytest.mark.parametrize("url_name", ["plans:reports", "admin:collections_app_plan_report"])
def test_a_report_period_in_range_is_shown(client, compliance, url_name):
    client.force_login(compliance)
    response = client.get(reverse(url_name), {"date_from": "2027-02-01", "date_to": "2027-03-03"})
    assert response.status_code == 200
    assert response.context["report"].date_from == dt.date(2027, 2, 1)


@pytest.fixture
def supervising_collector(team_a, supervisor):
    """Team A's supervisor, who also collects for their own team."""
    return f.make_collector(supervisor.username, team_a)


@pytest.fixture
def own_plan(supervising_collector):
    loan = f.LoanFactory(assigned_collector=supervising_collector, due_date=NOW.date() - dt.timedelta(days=45))
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=supervising_collector,
                        reason="needs time")
    assert plan.state == PlanState.PENDING_APPROVAL and plan.required_level == "supervisor"
    return plan


def test_a_supervisor_who_collects_never_decides_their_own_plan(client, supervising_collector, own_plan):
    assert not may_decide(supervising_collector, own_plan)
    assert not plans_decidable_by(supervising_collector).exists()
    assert approval_queue(supervising_collector) == {"compliance": [], "supervisor": []}
    client.force_login(supervising_collector)
    page = client.get(reverse("plans:approvals"))
    assert page.status_code == 200 and f"#{own_plan.pk}" not in page.content.decode()
    assert client.post(reverse("plans:plan_approve", args=[own_plan.pk]), {"comment": "mine"}).status_code == 404
    assert client.post(reverse("plans:plan_decline", args=[own_plan.pk]), {"comment": "mine"}).status_code == 404
    with pytest.raises(PermissionDenied):
        plan_approve(plan=own_plan, actor=supervising_collector)
    own_plan.refresh_from_db()
    assert own_plan.state == PlanState.PENDING_APPROVAL and own_plan.decided_by is None


def test_the_same_user_decides_the_plans_of_the_other_collectors_of_their_team(supervising_collector, own_plan,
                                                                              collector):
    loan = f.LoanFactory(assigned_collector=collector, due_date=NOW.date() - dt.timedelta(days=45))
    theirs = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector,
                          reason="needs time")
    assert list(plans_decidable_by(supervising_collector)) == [theirs]
    assert may_decide(supervising_collector, theirs)
