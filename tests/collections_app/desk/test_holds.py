"""Holds on the desk: their reason where the reader may see the account (account page, the worklist's and the
team's blocked rows), and a lift that asks why and for a confirmation before anything changes."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from collections_app.desk.services import hold_lift, worklist_build
from collections_app.models import Notification, NotificationKind
from consent_app.models import Restriction
from consent_app.services import restriction_place
from tests import factories as f
from tests.queries import tables

from .conftest import MORNING, make_account

pytestmark = pytest.mark.django_db

REASON = "Borrower in hospital until the 10th"


@pytest.fixture
def hold(account, supervisor):
    return restriction_place(borrower=account.borrower, loan=account, kind="temporary_hold", starts_at=MORNING,
                             ends_at=MORNING + dt.timedelta(days=7), reason=REASON, actor=supervisor)


def _lift_url(loan, hold):
    return reverse("hold_lift", args=[loan.loan_ref, hold.pk])


# --- The reason, where the account is visible ----------------------------------------------------------------------


def test_the_collector_reads_the_holds_reason_on_the_account_page(client, collector, account, hold):
    client.force_login(collector)
    body = client.get(reverse("loan_detail", args=[account.loan_ref])).content.decode()
    assert REASON in body
    assert _lift_url(account, hold) not in body  # a collector does not lift holds


def test_another_teams_hold_on_another_loan_of_the_borrower_is_listed_without_its_reason(
        client, collector, other_collector, other_supervisor, account):
    other_loan = f.LoanFactory(borrower=account.borrower, assigned_collector=other_collector)
    restriction_place(borrower=account.borrower, loan=other_loan, kind="temporary_hold", starts_at=MORNING,
                      ends_at=MORNING + dt.timedelta(days=7), reason="their own secret reason",
                      actor=other_supervisor)
    client.force_login(collector)
    body = client.get(reverse("loan_detail", args=[account.loan_ref])).content.decode()
    assert "Temporary hold" in body and "their own secret reason" not in body


def test_the_worklist_shows_why_a_held_account_is_blocked(client, collector, account, hold):
    worklist_build(collector=collector)
    client.force_login(collector)
    response = client.get(reverse("worklist"))
    blocked = list(response.context["blocked"])
    assert [entry.loan for entry in blocked] == [account]
    assert [h.pk for h in blocked[0].holds] == [hold.pk]
    assert REASON in response.content.decode()


@pytest.mark.parametrize("n", [1, 6])
def test_the_holds_of_the_worklists_blocked_rows_take_one_query(client, collector, morning, supervisor, n):
    for _ in range(n):
        loan = make_account(collector)
        restriction_place(borrower=loan.borrower, loan=None, kind="temporary_hold", starts_at=MORNING,
                          ends_at=MORNING + dt.timedelta(days=3), reason=REASON, actor=supervisor)
    worklist_build(collector=collector)
    client.force_login(collector)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("worklist") + "?show=blocked")
    assert all(entry.holds for entry in response.context["blocked"])
    assert response.content.decode().count(REASON) == n
    assert tables(queries).count("consent_app_restriction") == 1  # every row's holds at once
    assert len(queries) == 14


def test_the_teams_blocked_list_shows_the_holds_reason_to_the_supervisor(client, supervisor, collector, account,
                                                                       hold):
    worklist_build(collector=collector)
    client.force_login(supervisor)
    body = client.get(reverse("team_blocked", args=["TEMPORARY_HOLD"])).content.decode()
    assert account.loan_ref in body and REASON in body


# --- Lifting: a reason and a confirmation ---------------------------------------------------------------------------


def test_the_lift_page_shows_the_hold_and_asks_before_lifting(client, supervisor, account, hold):
    client.force_login(supervisor)
    page = client.get(_lift_url(account, hold))
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    body = page.content.decode()
    assert REASON in body and 'name="reason"' in body and 'name="confirm"' in body
    assert Restriction.objects.get(pk=hold.pk).lifted_at is None  # looking lifts nothing


def test_the_account_page_links_to_the_lift_page(client, supervisor, account, hold):
    client.force_login(supervisor)
    body = client.get(reverse("loan_detail", args=[account.loan_ref])).content.decode()
    assert f'href="{_lift_url(account, hold)}"' in body


@pytest.mark.parametrize(("data", "field"), [
    ({"confirm": "on"}, "reason"),
    ({"reason": "   ", "confirm": "on"}, "reason"),
    ({"reason": "spoke to the borrower"}, "confirm"),
    ({}, "reason"),
])
def test_a_lift_without_a_reason_or_the_confirmation_is_a_form_error_and_lifts_nothing(
        client, supervisor, collector, account, hold, data, field):
    client.force_login(supervisor)
    response = client.post(_lift_url(account, hold), data)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert 'aria-invalid="true"' in response.content.decode()
    assert Restriction.objects.get(pk=hold.pk).lifted_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.RESTRICTION_LIFTED).exists()
    assert not Notification.objects.exists()


def test_a_confirmed_lift_with_a_reason_lifts_keeps_the_reason_and_tells_the_collector(
        client, supervisor, collector, account, hold):
    client.force_login(supervisor)
    response = client.post(_lift_url(account, hold), {"reason": "borrower out of hospital", "confirm": "on"})
    assert (response.status_code, response["Location"]) == (302, reverse("loan_detail", args=[account.loan_ref]))
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Hold lifted."]
    lifted = Restriction.objects.get(pk=hold.pk)
    assert lifted.lifted_at is not None and lifted.lift_reason == "borrower out of hospital"
    event = AuditEvent.objects.get(action=AuditAction.RESTRICTION_LIFTED)
    assert (event.actor, event.subject_id) == (supervisor, str(hold.pk))
    assert "hospital" not in str(event.data)  # the typed reason stays on the hold, encrypted
    assert list(Notification.objects.values_list("recipient", "kind", "loan")) == [
        (collector.pk, NotificationKind.HOLD_LIFTED, account.pk)]


def test_the_lift_reason_is_shown_on_the_account_page_afterwards(client, supervisor, collector, account, hold):
    hold_lift(restriction=hold, reason="borrower out of hospital", actor=supervisor)
    client.force_login(collector)
    assert "borrower out of hospital" in client.get(reverse("loan_detail", args=[account.loan_ref])).content.decode()


def test_a_hold_already_lifted_is_not_lifted_again_nor_told_twice(client, supervisor, collector, account, hold):
    hold_lift(restriction=hold, reason="first", actor=supervisor)
    client.force_login(supervisor)
    response = client.post(_lift_url(account, hold), {"reason": "second", "confirm": "on"})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["This hold is already lifted."]
    assert Restriction.objects.get(pk=hold.pk).lift_reason == "first"
    assert Notification.objects.count() == 1


def test_a_borrower_wide_hold_tells_every_collector_of_the_borrowers_active_loans(supervisor, collector, account):
    second = f.make_collector("collector_a3", supervisor.supervised_teams.get())
    other = f.LoanFactory(borrower=account.borrower, assigned_collector=second)
    f.LoanFactory(borrower=account.borrower, assigned_collector=second, status="paid")
    wide = restriction_place(borrower=account.borrower, kind="temporary_hold", starts_at=MORNING,
                             ends_at=MORNING + dt.timedelta(days=2), reason=REASON, actor=supervisor)
    hold_lift(restriction=wide, reason="spoke to the borrower", actor=supervisor)
    assert sorted(Notification.objects.values_list("recipient", "loan")) == sorted(
        [(collector.pk, account.pk), (second.pk, other.pk)])


def test_another_teams_supervisor_cannot_see_or_lift_the_hold(client, other_supervisor, account, hold):
    client.force_login(other_supervisor)
    assert client.get(_lift_url(account, hold)).status_code == 404
    assert client.post(_lift_url(account, hold), {"reason": "x", "confirm": "on"}).status_code == 404
    assert Restriction.objects.get(pk=hold.pk).lifted_at is None


def test_the_assigned_collector_cannot_lift_a_hold(client, collector, account, hold):
    client.force_login(collector)
    assert client.post(_lift_url(account, hold), {"reason": "x", "confirm": "on"}).status_code == 404
    assert Restriction.objects.get(pk=hold.pk).lifted_at is None


def test_a_borrower_wide_hold_over_another_teams_loan_is_a_form_error(client, supervisor, other_collector, account):
    f.LoanFactory(borrower=account.borrower, assigned_collector=other_collector)
    wide = f.RestrictionFactory(borrower=account.borrower, loan=None, kind="temporary_hold",
                                ends_at=MORNING + dt.timedelta(days=2))
    client.force_login(supervisor)
    response = client.post(_lift_url(account, wide), {"reason": "spoke to the borrower", "confirm": "on"})
    assert response.status_code == 422
    assert "ask compliance to lift it" in response.content.decode()
    assert Restriction.objects.get(pk=wide.pk).lifted_at is None
    assert not Notification.objects.exists()
