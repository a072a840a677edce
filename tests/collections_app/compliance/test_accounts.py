"""The compliance account list: every account, filtered by status, jurisdiction, bucket, held and open complaint, and
searched as the desk's search does (references, last four digits, a whole number through the session)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.complaints.services import complaint_open
from collections_app.contact.generation import current_generation
from collections_app.contact.pauses import pauses_at
from collections_app.models import LoanStatus
from tests import factories as f
from tests.queries import tables

from .conftest import MORNING

pytestmark = pytest.mark.django_db

ACCOUNTS = reverse("compliance:accounts")


def _listed(response) -> list[str]:
    return [loan.loan_ref for loan in response.context["rows"]]


@pytest.fixture
def portfolio(morning, collector, other_collector):
    """Loans of both teams: one current, one 45 days past due and held, one with an open complaint, a US one, a
    paid one."""
    today = MORNING.date()
    loans = {
        "current": f.LoanFactory(loan_ref="L-CUR", assigned_collector=collector, due_date=today + dt.timedelta(days=5)),
        "held": f.LoanFactory(loan_ref="L-HELD", assigned_collector=collector, due_date=today - dt.timedelta(days=45)),
        "complaint": f.LoanFactory(loan_ref="L-CMP", assigned_collector=other_collector,
                                   due_date=today - dt.timedelta(days=10)),
        "us": f.LoanFactory(loan_ref="L-US", assigned_collector=other_collector,
                            borrower=f.BorrowerFactory(jurisdiction="US", timezone="America/New_York"),
                            due_date=today - dt.timedelta(days=10)),
        "paid": f.LoanFactory(loan_ref="L-PAID", assigned_collector=collector, status=LoanStatus.PAID,
                              due_date=today - dt.timedelta(days=100)),
    }
    f.RestrictionFactory(borrower=loans["held"].borrower, loan=loans["held"], kind="dispute",
                         starts_at=MORNING - dt.timedelta(days=1))
    # A lifted hold and a hold that has ended hold nothing.
    f.RestrictionFactory(borrower=loans["current"].borrower, kind="dispute", starts_at=MORNING - dt.timedelta(days=9),
                         lifted_at=MORNING - dt.timedelta(days=2))
    complaint_open(borrower=loans["complaint"].borrower, loan=loans["complaint"], channel="phone",
                   category="contact_frequency", description="Too many calls.", actor=other_collector)
    f.PhoneNumberFactory(borrower=loans["us"].borrower, e164="+12125550123")
    return loans


def test_a_compliance_officer_lists_every_teams_accounts(client, compliance, portfolio):
    client.force_login(compliance)
    response = client.get(ACCOUNTS)
    assert set(_listed(response)) == {"L-CUR", "L-HELD", "L-CMP", "L-US", "L-PAID"}
    body = response.content.decode()
    assert "on hold" in body and "open complaint" in body


def test_the_desks_start_page_is_the_list_for_compliance(client, compliance, portfolio):
    client.force_login(compliance)
    assert client.get(reverse("home"))["Location"] == ACCOUNTS


@pytest.mark.parametrize(("filters", "expected"), [
    ({"status": "paid"}, {"L-PAID"}),
    ({"jurisdiction": "US"}, {"L-US"}),
    ({"bucket": "current"}, {"L-CUR", "L-PAID"}),  # not past due, or not active
    ({"bucket": "31-60"}, {"L-HELD"}),
    ({"held": "on"}, {"L-HELD", "L-CMP"}),  # the open complaint holds its loan too (its complaint hold)
    ({"complaint": "on"}, {"L-CMP"}),
    ({"held": "on", "complaint": "on"}, {"L-CMP"}),
    ({"held": "on", "jurisdiction": "US"}, set()),
    ({"status": "active", "jurisdiction": "CN"}, {"L-CUR", "L-HELD", "L-CMP"}),
])
def test_the_filters_narrow_the_list(client, compliance, portfolio, filters, expected):
    client.force_login(compliance)
    assert set(_listed(client.get(ACCOUNTS, filters))) == expected


def test_the_search_finds_by_reference_within_the_filters(client, compliance, portfolio):
    client.force_login(compliance)
    assert _listed(client.get(ACCOUNTS, {"q": "l-held"})) == ["L-HELD"]
    borrower_ref = portfolio["complaint"].borrower.borrower_ref
    assert _listed(client.get(ACCOUNTS, {"q": borrower_ref})) == ["L-CMP"]
    assert _listed(client.get(ACCOUNTS, {"q": borrower_ref, "status": "paid"})) == []


def test_the_search_finds_by_last_four_digits(client, compliance, portfolio):
    client.force_login(compliance)
    assert _listed(client.get(ACCOUNTS, {"q": "0123"})) == ["L-US"]


def test_a_whole_number_is_searched_through_the_session_never_the_address(client, compliance, portfolio):
    client.force_login(compliance)
    response = client.get(ACCOUNTS, {"q": "(212) 555-0123", "jurisdiction": "US"})
    assert response.status_code == 302
    location = response["Location"]
    assert "qid=" in location and "555" not in location and "jurisdiction=US" in location
    found = client.get(location)
    assert _listed(found) == ["L-US"]
    body = found.content.decode()
    assert "2125550123" not in body and "555-0123" not in body and "…0123" in body


def test_an_unknown_filter_value_is_an_error_not_every_account(client, compliance, portfolio):
    client.force_login(compliance)
    response = client.get(ACCOUNTS, {"status": "gone"})
    assert response.status_code == 422 and response.context["form"].errors["status"]
    assert response.context["rows"] is None


@pytest.mark.parametrize("role", ["collector", "supervisor", "other_supervisor"])
def test_nobody_but_compliance_reaches_the_list(client, portfolio, role, request):
    client.force_login(request.getfixturevalue(role))
    response = client.get(ACCOUNTS)
    assert response.status_code == 404
    assert "L-CMP" not in response.content.decode() and "L-HELD" not in response.content.decode()


def test_the_list_takes_the_same_queries_for_one_account_and_for_many(client, compliance, collector, morning):
    counts = []
    for n in (1, 30):
        for i in range(n):
            loan = f.LoanFactory(loan_ref=f"L-N{n}-{i}", assigned_collector=collector,
                                 due_date=MORNING.date() - dt.timedelta(days=40))
            f.RestrictionFactory(borrower=loan.borrower, kind="dispute", starts_at=MORNING - dt.timedelta(days=1))
        client.force_login(compliance)
        # The banner's incident pauses come from the process's copy of the policy generation, read once per
        # generation and process (contact/pauses.py): load the copy first.
        pauses_at(current_generation())
        with CaptureQueriesContext(connection) as queries:
            response = client.get(ACCOUNTS, {"held": "on"})
        assert len(response.context["rows"]) == (1 if n == 1 else 31)
        counts.append(tables(queries))
    # The session, the user, the second factor, the groups, the page's count, the top bar's unread count, the
    # page's rows (borrower and collector joined, held and open complaint as subqueries).
    assert counts[0] == counts[1] == ["collections_app_usersession", "auth_user", "otp_totp_totpdevice", "auth_group",
                                      "collections_app_loan", "collections_app_notification",
                                      "collections_app_loan"], counts
