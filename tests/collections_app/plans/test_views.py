"""The plans pages through the Django test client: forms, the approval queues, permissions, the account panel."""

from decimal import Decimal

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.models import PlanState, Promise, RepaymentPlan
from collections_app.plans.services import plan_propose, promise_create
from tests import factories as f
from tests.collections_app.plans.helpers import days, pay, schedule

pytestmark = pytest.mark.django_db


def _plan_post(kind="installments", total="", reason="", rows=()):
    data = {"kind": kind, "agreed_total": total, "reason": reason, "attempt": "",
            "inst-TOTAL_FORMS": "12", "inst-INITIAL_FORMS": "0", "inst-MIN_NUM_FORMS": "0",
            "inst-MAX_NUM_FORMS": "24"}
    for i, (due, amount) in enumerate(rows):
        data[f"inst-{i}-due_date"] = due.isoformat()
        data[f"inst-{i}-amount"] = str(amount)
    return data


@pytest.fixture
def pending(loan, collector):
    return plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector,
                        reason="needs time")


@pytest.fixture
def for_compliance(loan, collector):
    return plan_propose(loan=loan, kind="settlement", agreed_total="3900", schedule=schedule("3900", 2),
                        actor=collector, reason="medical bills")


# --- Promise and plan forms --------------------------------------------------------------------------------------


def test_the_collector_records_a_promise_through_the_form(client, loan, collector):
    client.force_login(collector)
    url = reverse("plans:promise_create", args=[loan.loan_ref])
    assert client.get(url).status_code == 200
    response = client.post(url, {"amount": "1500.00", "promise_date": days(5).isoformat(), "note": ""})
    assert response.status_code == 302 and response["Location"] == reverse("loan_detail", args=[loan.loan_ref])
    assert Promise.objects.get().amount == Decimal("1500.00")


def test_a_bad_promise_shows_the_services_error_on_the_form(client, loan, collector):
    client.force_login(collector)
    response = client.post(reverse("plans:promise_create", args=[loan.loan_ref]),
                           {"amount": "9000", "promise_date": days(5).isoformat()})
    assert response.status_code == 200
    assert "more than the balance" in response.content.decode()
    assert not Promise.objects.exists()


def test_the_collector_proposes_a_plan_through_the_form(client, loan, collector):
    client.force_login(collector)
    url = reverse("plans:plan_propose", args=[loan.loan_ref])
    assert client.get(url).status_code == 200
    response = client.post(url, _plan_post(rows=schedule("6000", 3)))
    plan = RepaymentPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("plans:plan_detail", args=[plan.pk])
    assert plan.state == PlanState.ACTIVE and plan.installments.count() == 3
    assert client.get(response["Location"]).status_code == 200


def test_a_plan_beyond_the_limits_without_a_reason_is_sent_back(client, loan, collector):
    client.force_login(collector)
    response = client.post(reverse("plans:plan_propose", args=[loan.loan_ref]), _plan_post(rows=schedule("6000", 8)))
    assert response.status_code == 200 and "give the reason" in response.content.decode()
    assert not RepaymentPlan.objects.exists()


def test_a_half_filled_installment_row_is_an_error_and_the_plan_is_not_saved(client, loan, collector):
    client.force_login(collector)
    url = reverse("plans:plan_propose", args=[loan.loan_ref])
    data = _plan_post(rows=[(days(7), "6000")])
    data["inst-1-amount"] = "100"
    response = client.post(url, data)
    assert response.status_code == 200
    # On the box left empty: the one marked invalid, and named in the summary with its row.
    assert response.context["formset"].forms[1].errors == {
        "due_date": ["Give both a date and an amount, or leave the row empty."]}
    assert 'id="id_inst-1-due_date_error"' in response.content.decode()
    assert not RepaymentPlan.objects.exists()
    # The same plan without the half row is saved: the row alone was what stopped it.
    del data["inst-1-amount"]
    response = client.post(url, data)
    plan = RepaymentPlan.objects.get()
    assert response["Location"] == reverse("plans:plan_detail", args=[plan.pk])
    assert list(plan.installments.values_list("due_date", "amount")) == [(days(7), Decimal("6000.00"))]


def test_another_collector_gets_a_404_and_the_supervisor_a_403(client, loan, other_collector, supervisor):
    for name in ("plans:promise_create", "plans:plan_propose"):
        url = reverse(name, args=[loan.loan_ref])
        client.force_login(other_collector)
        assert client.get(url).status_code == 404
        client.force_login(supervisor)  # sees the account, does not negotiate on it
        assert client.get(url).status_code == 403


def test_the_plan_page_is_a_404_for_whoever_may_not_see_the_loan(client, pending, other_collector, other_supervisor,
                                                                 supervisor, compliance):
    url = reverse("plans:plan_detail", args=[pending.pk])
    for user, status in ((other_collector, 404), (other_supervisor, 404), (supervisor, 200), (compliance, 200)):
        client.force_login(user)
        assert client.get(url).status_code == status, user


# --- Approval queues ---------------------------------------------------------------------------------------------


def test_the_supervisor_sees_their_queue_and_approves(client, pending, supervisor):
    client.force_login(supervisor)
    page = client.get(reverse("plans:approvals"))
    assert page.status_code == 200 and f"#{pending.pk}" in page.content.decode()
    response = client.post(reverse("plans:plan_approve", args=[pending.pk]), {"comment": "fine"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.state == PlanState.ACTIVE and pending.decision_comment == "fine"


def test_declining_without_a_comment_is_refused_with_a_message(client, pending, supervisor):
    client.force_login(supervisor)
    response = client.post(reverse("plans:plan_decline", args=[pending.pk]), {"comment": ""}, follow=True)
    assert "Say why the plan is declined." in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == PlanState.PENDING_APPROVAL
    client.post(reverse("plans:plan_decline", args=[pending.pk]), {"comment": "too long"})
    pending.refresh_from_db()
    assert pending.state == PlanState.DECLINED


def test_a_collector_cannot_approve(client, pending, collector):
    client.force_login(collector)
    assert client.get(reverse("plans:approvals")).status_code == 404
    assert client.post(reverse("plans:plan_approve", args=[pending.pk])).status_code == 404
    pending.refresh_from_db()
    assert pending.state == PlanState.PENDING_APPROVAL


def test_a_supervisor_cannot_approve_outside_their_team(client, pending, other_supervisor):
    client.force_login(other_supervisor)
    page = client.get(reverse("plans:approvals"))
    assert page.status_code == 200 and f"#{pending.pk}" not in page.content.decode()
    assert client.post(reverse("plans:plan_approve", args=[pending.pk])).status_code == 404
    assert client.post(reverse("plans:plan_decline", args=[pending.pk]), {"comment": "no"}).status_code == 404
    pending.refresh_from_db()
    assert pending.state == PlanState.PENDING_APPROVAL


def test_a_plan_beyond_the_supervisors_limits_is_in_the_compliance_queue_only(client, for_compliance, supervisor,
                                                                            compliance):
    client.force_login(supervisor)
    assert f"#{for_compliance.pk}" not in client.get(reverse("plans:approvals")).content.decode()
    assert client.post(reverse("plans:plan_approve", args=[for_compliance.pk])).status_code == 404
    client.force_login(compliance)
    assert f"#{for_compliance.pk}" in client.get(reverse("plans:approvals")).content.decode()
    assert client.post(reverse("plans:plan_approve", args=[for_compliance.pk]), {"comment": "ok"}).status_code == 302
    for_compliance.refresh_from_db()
    assert for_compliance.state == PlanState.ACTIVE and for_compliance.decided_by == compliance


def test_a_decided_plan_is_no_longer_in_any_queue(client, pending, supervisor):
    client.force_login(supervisor)
    client.post(reverse("plans:plan_approve", args=[pending.pk]))
    assert client.post(reverse("plans:plan_approve", args=[pending.pk])).status_code == 404


def test_the_approval_pages_refuse_get(client, pending, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("plans:plan_approve", args=[pending.pk])).status_code == 405


def test_the_collector_cancels_their_plan_from_its_page(client, pending, collector):
    client.force_login(collector)
    client.post(reverse("plans:plan_cancel", args=[pending.pk]), {"reason": "borrower paid in full"})
    pending.refresh_from_db()
    assert pending.state == PlanState.CANCELLED


def test_the_collector_withdraws_a_promise(client, loan, collector, other_collector):
    promise = promise_create(loan=loan, amount="100", promise_date=days(2), actor=collector)
    client.force_login(other_collector)
    assert client.post(reverse("plans:promise_cancel", args=[promise.pk]), {"reason": "x"}).status_code == 404
    client.force_login(collector)
    client.post(reverse("plans:promise_cancel", args=[promise.pk]), {"reason": "typo"})
    promise.refresh_from_db()
    assert promise.state == "cancelled"


def test_pages_need_a_sign_in(client, pending):
    for url in (reverse("plans:approvals"), reverse("plans:reports"), reverse("plans:plan_detail", args=[pending.pk])):
        assert client.get(url).status_code == 302


# --- The account panel -------------------------------------------------------------------------------------------

PANEL = Template("{% load plans_tags %}{% account_plans_panel loan user %}")


def _render_panel(loan, user):
    return PANEL.render(Context({"loan": loan, "user": user, "csrf_token": "t"}))


def test_the_panel_shows_promises_plans_installments_and_actions(loan, collector, supervisor):
    promise_create(loan=loan, amount="1500", promise_date=days(5), actor=collector)
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 3), actor=collector)
    pay(loan, "500")
    html = _render_panel(loan, collector)
    assert reverse("plans:promise_create", args=[loan.loan_ref]) in html
    assert reverse("plans:plan_propose", args=[loan.loan_ref]) not in html  # one open plan at a time
    assert reverse("plans:plan_detail", args=[plan.pk]) in html
    assert "1,500.00" in html or "1500.00" in html
    assert html.count("<tr><td>") >= 3  # the installments
    supervisor_html = _render_panel(loan, supervisor)
    assert reverse("plans:promise_create", args=[loan.loan_ref]) not in supervisor_html


@pytest.mark.parametrize("n", [1, 15])
def test_the_panel_takes_a_fixed_number_of_queries(loan, collector, n, now):
    import datetime as dt

    for i in range(n):
        plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 3), actor=collector)
        plan.state = PlanState.CANCELLED
        plan.save()
        promise_create(loan=loan, amount="100", promise_date=days(1 + i % 20), actor=collector)
        now.shift(dt.timedelta(seconds=1))
    user = f.User.objects.get(pk=collector.pk)  # fresh: no cached groups
    with CaptureQueriesContext(connection) as queries:
        _render_panel(loan, user)
    # 1 promises with their collectors, 2 plans with their people, 3 their installments, 4 the user's groups
    # (cached on the user for the rest of the request).
    assert len(queries) == 4, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("n", [1, 12])
def test_the_approval_queue_takes_the_same_queries_for_1_and_many_plans(collector, supervisor, n):
    from collections_app.plans.selectors import approval_queue

    for _ in range(n):
        loan = f.LoanFactory(assigned_collector=collector)
        plan_propose(loan=loan, kind="installments", schedule=schedule(loan.balance, 8), actor=collector,
                     reason="r")
    user = f.User.objects.get(pk=supervisor.pk)
    user._role_groups = frozenset({"Supervisor"})
    with CaptureQueriesContext(connection) as queries:
        queue = approval_queue(user)
        rows = [(p.loan.loan_ref, p.collector.username, len(p.installments.all())) for p in queue["supervisor"]]
    # 1 plans with their loans, collectors (and teams) and approvers, 2 their installments, 3 the approval limits.
    assert len(queries) == 3
    assert len(rows) == n
