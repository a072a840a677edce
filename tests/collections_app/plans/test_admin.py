"""Admin: promises, plans (installments and allocations inline, read-only), allocations, approval limits."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from audit_app.models import AuditEvent
from collections_app.models import ApprovalLimit
from collections_app.plans.services import plan_propose, promise_create
from tests import factories as f
from tests.collections_app.plans.helpers import days, pay, schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans(loan, collector, other_collector):
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 3), actor=collector)
    promise_create(loan=loan, amount="100", promise_date=days(1), actor=collector)
    pay(loan, "7000")
    other = f.LoanFactory(assigned_collector=other_collector)
    other_plan = plan_propose(loan=other, kind="installments", schedule=schedule(other.balance, 2),
                              actor=other_collector)
    return plan, other_plan


def test_compliance_reads_every_plans_page(client, compliance, plans):
    plan, _other = plans
    client.force_login(compliance)
    for name in ("promise", "repaymentplan", "allocation", "approvallimit"):
        assert client.get(reverse(f"admin:collections_app_{name}_changelist")).status_code == 200, name
    page = client.get(reverse("admin:collections_app_repaymentplan_change", args=[plan.pk]))
    assert page.status_code == 200
    assert "2000.00" in page.content.decode()  # the installments inline
    assert client.get(reverse("admin:collections_app_repaymentplan_history", args=[plan.pk])).status_code == 200
    excess = client.get(reverse("admin:collections_app_allocation_changelist") + "?kind__exact=excess")
    assert excess.status_code == 200 and "1000.00" in excess.content.decode()
    assert client.get(reverse("admin:collections_app_plan_report")).status_code == 200


def test_a_supervisor_sees_their_teams_plans_only_and_cannot_edit_limits(client, supervisor, plans):
    plan, other_plan = plans
    client.force_login(supervisor)
    assert client.get(reverse("admin:collections_app_repaymentplan_change", args=[plan.pk])).status_code == 200
    hidden = client.get(reverse("admin:collections_app_repaymentplan_change", args=[other_plan.pk]))
    assert (hidden.status_code, hidden["Location"]) == (302, reverse("admin:index"))  # as if it did not exist
    assert [str(m) for m in get_messages(hidden.wsgi_request)] == [
        f"repayment plan with ID “{other_plan.pk}” doesn’t exist. Perhaps it was deleted?"]
    limit = ApprovalLimit.objects.get(role="Collector")
    response = client.post(reverse("admin:collections_app_approvallimit_change", args=[limit.pk]), {
        "role": "Collector", "max_installments": 99, "max_discount_percent": "50",
        "max_first_payment_delay_days": 60})
    assert response.status_code == 403
    assert ApprovalLimit.objects.get(role="Collector").max_installments == 6
    assert client.get(reverse("admin:collections_app_plan_report")).status_code == 200


def test_compliance_edits_a_limit_with_history_and_an_audit_event(client, compliance):
    limit = ApprovalLimit.objects.get(role="Collector")
    client.force_login(compliance)
    response = client.post(reverse("admin:collections_app_approvallimit_change", args=[limit.pk]), {
        "role": "Collector", "max_installments": 8, "max_discount_percent": "10.00",
        "max_first_payment_delay_days": 14})
    assert response.status_code == 302
    limit.refresh_from_db()
    assert limit.max_installments == 8
    assert limit.history.first().history_user == compliance
    event = AuditEvent.objects.get(action="approval_limit.changed")
    assert event.actor == compliance and event.data["fields"] == ["max_installments"]


def test_nothing_is_added_or_changed_by_hand(client, compliance, plans):
    plan, _other = plans
    client.force_login(compliance)
    assert client.get(reverse("admin:collections_app_repaymentplan_add")).status_code == 403
    assert client.get(reverse("admin:collections_app_promise_add")).status_code == 403
    assert client.post(reverse("admin:collections_app_repaymentplan_change", args=[plan.pk]),
                       {"state": "completed"}).status_code == 403
