"""Desk notifications: written by the services with what they tell of (a plan approved or declined, a hold lifted,
an account assigned), listed for their recipient only, read one by one or all at once, counted in the top bar's
badge with one query, and never naming an account the recipient no longer sees."""

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.contact.generation import current_generation
from collections_app.contact.pauses import pauses_at
from collections_app.desk.services import hold_lift, notification_mark_read
from collections_app.loans.services import loan_assign
from collections_app.models import Notification, NotificationKind
from collections_app.plans.services import plan_approve, plan_decline, plan_propose
from consent_app.services import restriction_place
from tests import factories as f
from tests.collections_app.plans.helpers import schedule
from tests.queries import tables

from .conftest import MORNING

pytestmark = pytest.mark.django_db

COMMENT = "Eight months is too long: offer six"


@pytest.fixture
def pending_plan(account, collector):
    # Eight installments: beyond the collector's limit, within the supervisor's.
    return plan_propose(loan=account, kind="installments", schedule=schedule(account.balance, 8), actor=collector,
                        reason="needs time")


def _badge(body):
    match = re.search(r'class="badge" data-unread="(\d+)"', body)
    return int(match.group(1)) if match else 0


# --- Written by the services ------------------------------------------------------------------------------------


def test_a_declined_plan_tells_its_collector_with_the_supervisors_comment(client, supervisor, collector,
                                                                         pending_plan):
    plan_decline(plan=pending_plan, comment=COMMENT, actor=supervisor)
    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind, notification.plan, notification.loan) == (
        collector, NotificationKind.PLAN_REJECTED, pending_plan, pending_plan.loan)
    client.force_login(collector)
    body = client.get(reverse("notifications")).content.decode()
    assert COMMENT in body and f"Your repayment plan #{pending_plan.pk} was declined by supervisor_a." in body
    assert reverse("loan_detail", args=[pending_plan.loan.loan_ref]) in body
    assert reverse("plans:plan_detail", args=[pending_plan.pk]) in body


def test_declining_through_the_approvals_page_tells_the_collector(client, supervisor, collector, pending_plan):
    client.force_login(supervisor)
    client.post(reverse("plans:plan_decline", args=[pending_plan.pk]), {"comment": COMMENT})
    assert list(Notification.objects.values_list("recipient", "kind")) == [(collector.pk, "plan_rejected")]


def test_a_decline_refused_tells_no_one(supervisor, pending_plan):
    with pytest.raises(ValidationError):  # a decline needs a comment
        plan_decline(plan=pending_plan, comment="", actor=supervisor)
    assert not Notification.objects.exists()


def test_an_approved_plan_tells_its_collector(client, supervisor, collector, pending_plan):
    plan_approve(plan=pending_plan, comment="", actor=supervisor)
    assert list(Notification.objects.values_list("recipient", "kind", "plan")) == [
        (collector.pk, NotificationKind.PLAN_APPROVED, pending_plan.pk)]
    client.force_login(collector)
    body = client.get(reverse("notifications")).content.decode()
    assert f"Your repayment plan #{pending_plan.pk} was approved by supervisor_a: it is active." in body


def test_a_reassignment_tells_the_collector_who_gets_the_account(client, supervisor, collector, account):
    second = f.make_collector("collector_a2", supervisor.supervised_teams.get())
    client.force_login(supervisor)
    client.post(reverse("team_reassign"), {"loan_ref": account.loan_ref, "collector": second.username})
    assert list(Notification.objects.values_list("recipient", "kind", "loan")) == [
        (second.pk, NotificationKind.ACCOUNT_ASSIGNED, account.pk)]


def test_nobody_is_told_of_their_own_assignment_and_an_unassignment_tells_no_one(collector, account):
    loan_assign(loan=account, collector=None, actor=collector)
    loan_assign(loan=account, collector=collector, actor=collector)
    assert not Notification.objects.exists()


def test_a_lifted_hold_tells_the_accounts_collector(supervisor, collector, account):
    hold = restriction_place(borrower=account.borrower, loan=account, kind="temporary_hold", starts_at=MORNING,
                             ends_at=MORNING + dt.timedelta(days=3), reason="pause", actor=supervisor)
    hold_lift(restriction=hold, reason="spoke to the borrower", actor=supervisor)
    assert list(Notification.objects.values_list("recipient", "kind", "loan")) == [
        (collector.pk, NotificationKind.HOLD_LIFTED, account.pk)]


# --- Only one's own -----------------------------------------------------------------------------------------------


@pytest.fixture
def declined(supervisor, pending_plan):
    plan_decline(plan=pending_plan, comment=COMMENT, actor=supervisor)
    return Notification.objects.get()


def test_another_user_neither_lists_nor_marks_someone_elses_notification(client, other_collector, supervisor,
                                                                          declined):
    for user in (other_collector, supervisor):
        client.force_login(user)
        body = client.get(reverse("notifications")).content.decode()
        assert COMMENT not in body and f'data-notification="{declined.pk}"' not in body
        assert client.post(reverse("notification_read", args=[declined.pk])).status_code == 404
        client.post(reverse("notifications_read_all"))
    assert Notification.objects.get(pk=declined.pk).read_at is None


def test_the_service_refuses_to_mark_someone_elses_notification(other_collector, declined):
    with pytest.raises(PermissionDenied):
        notification_mark_read(notification=declined, actor=other_collector)
    assert Notification.objects.get(pk=declined.pk).read_at is None


def test_marking_read_is_a_post(client, collector, declined):
    client.force_login(collector)
    assert client.get(reverse("notification_read", args=[declined.pk])).status_code == 405
    assert client.get(reverse("notifications_read_all")).status_code == 405
    assert Notification.objects.get(pk=declined.pk).read_at is None


def test_the_list_needs_a_signed_in_user(client):
    response = client.get(reverse("notifications"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_account_since_reassigned_to_another_team_is_told_of_but_not_named(client, collector, other_collector,
                                                                               declined):
    loan = declined.loan
    loan_assign(loan=loan, collector=other_collector, actor=f.make_compliance())
    client.force_login(collector)
    body = client.get(reverse("notifications")).content.decode()
    assert f'data-notification="{declined.pk}"' in body and "About an account you no longer see." in body
    assert loan.loan_ref not in body and COMMENT not in body
    assert reverse("plans:plan_detail", args=[declined.plan_id]) not in body


# --- Read, one by one and all at once; the badge ------------------------------------------------------------------


def test_the_badge_counts_the_unread_and_reading_clears_it(client, supervisor, collector, account, declined):
    hold = restriction_place(borrower=account.borrower, loan=account, kind="temporary_hold", starts_at=MORNING,
                             ends_at=MORNING + dt.timedelta(days=3), reason="pause", actor=supervisor)
    hold_lift(restriction=hold, reason="spoke to the borrower", actor=supervisor)
    client.force_login(collector)
    assert _badge(client.get(reverse("worklist")).content.decode()) == 2
    response = client.post(reverse("notification_read", args=[declined.pk]))
    assert (response.status_code, response["Location"]) == (302, reverse("notifications"))
    assert Notification.objects.get(pk=declined.pk).read_at is not None
    body = client.get(reverse("notifications")).content.decode()
    assert _badge(body) == 1 and "1 unread" in body
    client.post(reverse("notifications_read_all"))
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    body = client.get(reverse("worklist")).content.decode()
    assert _badge(body) == 0 and reverse("notifications") in body


def test_reading_twice_keeps_the_first_time(collector, declined):
    first = notification_mark_read(notification=declined, actor=collector).read_at
    again = notification_mark_read(notification=Notification.objects.get(pk=declined.pk), actor=collector)
    assert again.read_at == first


def test_the_badge_is_one_query_and_none_where_no_badge_is_shown(client, collector, declined):
    client.force_login(collector)
    with CaptureQueriesContext(connection) as page:
        client.get(reverse("worklist"))
    assert tables(page).count("collections_app_notification") == 1
    with CaptureQueriesContext(connection) as rows:
        client.get(reverse("worklist"), headers={"HX-Request": "true"})  # the polled rows: no top bar
    assert "collections_app_notification" not in tables(rows)


def test_anonymous_pages_count_nothing(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("login")).status_code == 200
    assert "collections_app_notification" not in tables(queries)


def test_the_admin_counts_nothing(client, compliance):
    client.force_login(compliance)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:index")).status_code == 200
    assert "collections_app_notification" not in tables(queries)


@pytest.mark.parametrize("n", [1, 20])
def test_the_list_takes_the_same_queries_for_1_and_many_notifications(client, supervisor, collector, morning, n):
    for _ in range(n):
        loan = f.LoanFactory(assigned_collector=collector, balance="6000.00")
        plan = plan_propose(loan=loan, kind="installments", schedule=schedule(loan.balance, 8), actor=collector,
                            reason="needs time")
        plan_decline(plan=plan, comment=COMMENT, actor=supervisor)
    client.force_login(collector)
    # The banner's incident pauses come from the process's copy of the policy generation, read once per generation
    # and process (contact/pauses.py): the fixtures changed the generation, so load the copy first.
    pauses_at(current_generation())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("notifications"))
    assert response.content.decode().count(COMMENT) == n
    assert tables(queries) == [
        "collections_app_usersession",  # the session
        "auth_user",
        "auth_group",  # the user's role (the top bar)
        "collections_app_notification",  # the unread badge
        "collections_app_notification",  # the paginator's count
        # the page: with plan, decider and loan, and whether each loan is still visible (a subquery)
        "collections_app_notification",
    ]
