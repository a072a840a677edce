"""The desk screens: recording a complaint from the account, the queue, the detail's moves, the account panel."""

import datetime as dt

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.models import Complaint, ContactAttempt

from .helpers import MORNING, open_complaint, phone_of

pytestmark = pytest.mark.django_db


def test_a_collector_records_a_complaint_from_the_account_and_returns_to_it(client, clock, cn_loan, collector):
    attempt = ContactAttempt.objects.create(
        loan=cn_loan, phone=phone_of(cn_loan), borrower=cn_loan.borrower, channel="call", outcome="no_answer",
        compliant=True, started_at=MORNING - dt.timedelta(hours=1), collector=collector,
    )
    client.force_login(collector)
    url = reverse("complaints:create", args=[cn_loan.loan_ref])
    page = client.get(url)
    assert page.status_code == 200 and "collector_a" in page.content.decode()
    response = client.post(url, {
        "channel": "phone", "category": "contact_frequency", "description": "Too many calls.",
        "collectors": [collector.pk], "attempts": [attempt.pk],
    })
    assert response.status_code == 302 and response.url == reverse("loan_detail", args=[cn_loan.loan_ref])
    complaint = Complaint.objects.get()
    assert complaint.source == "desk" and complaint.created_by == collector
    assert list(complaint.attempts.all()) == [attempt] and list(complaint.collectors.all()) == [collector]
    assert complaint.hold_restriction_id is not None


def test_a_supervisor_recording_a_complaint_lands_on_its_review_page(client, clock, cn_loan, supervisor):
    client.force_login(supervisor)
    response = client.post(reverse("complaints:create", args=[cn_loan.loan_ref]), {
        "channel": "letter", "category": "other", "description": "Letter received.",
        "received_at": "2027-03-02T09:00",
    })
    complaint = Complaint.objects.get()
    assert response.url == reverse("complaints:detail", args=[complaint.pk])
    assert complaint.received_at == dt.datetime(2027, 3, 2, 9, 0, tzinfo=MORNING.tzinfo)


def test_the_intake_form_shows_errors_and_records_nothing(client, clock, cn_loan, collector):
    client.force_login(collector)
    response = client.post(reverse("complaints:create", args=[cn_loan.loan_ref]), {
        "channel": "fax", "category": "other", "description": "", "received_at": "2030-01-01T00:00",
    })
    assert response.status_code == 422
    form = response.context["form"]
    assert {"channel", "description", "received_at"} <= set(form.errors)
    assert not Complaint.objects.exists()


def test_the_reviewer_moves_the_complaint_through_the_page(client, clock, cn_loan, supervisor):
    complaint = open_complaint(cn_loan, supervisor)
    client.force_login(supervisor)
    url = reverse("complaints:transition", args=[complaint.pk])
    assert client.post(url, {"to_state": "acknowledged"}).status_code == 302
    assert client.post(url, {"to_state": "investigating"}).status_code == 302
    response = client.post(url, {"to_state": "resolved", "outcome": "upheld"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422  # root cause and remediation missing
    assert "Record the root cause." in response.content.decode()
    assert Complaint.objects.get(pk=complaint.pk).state == "investigating"
    response = client.post(url, {"to_state": "resolved", "outcome": "upheld", "root_cause": "Night calls.",
                                 "remediation": "Dialer window fixed."})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.state == "resolved" and complaint.hold_restriction.lifted_at is not None


def test_an_illegal_move_posted_to_the_page_is_refused_with_the_reason(client, clock, cn_loan, supervisor):
    complaint = open_complaint(cn_loan, supervisor)
    client.force_login(supervisor)
    response = client.post(reverse("complaints:transition", args=[complaint.pk]),
                           {"to_state": "resolved", "outcome": "upheld", "root_cause": "x", "remediation": "y"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert "cannot become" in response.content.decode()
    assert Complaint.objects.get(pk=complaint.pk).state == "received"


def test_the_detail_page_offers_only_the_legal_moves(client, clock, cn_loan, supervisor):
    complaint = open_complaint(cn_loan, supervisor)
    client.force_login(supervisor)
    response = client.get(reverse("complaints:detail", args=[complaint.pk]))
    assert [t["state"].value for t in response.context["transitions"]] == ["acknowledged", "withdrawn"]


@pytest.mark.parametrize("count", [1, 30])
def test_the_queue_takes_the_same_number_of_queries_for_1_and_30_complaints(client, clock, cn_loan, supervisor,
                                                                             count):
    for _ in range(count):
        open_complaint(cn_loan, supervisor, category="other")
    client.force_login(supervisor)
    client.get(reverse("complaints:list"))  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("complaints:list"))
    assert response.status_code == 200
    assert len(response.context["page"]) == count
    # session, user, the second-factor device the session was verified with, user's groups (role), count, the top
    # bar's unread notifications, the page of complaints with borrower, loan, team and reviewer
    assert len(queries) == 7


def test_the_account_panel_lists_the_accounts_complaints_with_a_record_link(clock, cn_loan, collector, supervisor):
    complaint = open_complaint(cn_loan, supervisor, collectors=[collector])
    template = Template("{% load complaints_tags %}{% account_complaints_panel loan user %}")
    as_collector = template.render(Context({"loan": cn_loan, "user": collector}))
    assert complaint.reference in as_collector
    assert reverse("complaints:create", args=[cn_loan.loan_ref]) in as_collector
    assert reverse("complaints:detail", args=[complaint.pk]) not in as_collector  # no evidence for collectors
    as_supervisor = template.render(Context({"loan": cn_loan, "user": supervisor}))
    assert reverse("complaints:detail", args=[complaint.pk]) in as_supervisor


def test_the_account_page_shows_the_panel(client, clock, cn_loan, collector, supervisor):
    complaint = open_complaint(cn_loan, supervisor, collectors=[collector])
    client.force_login(collector)
    response = client.get(reverse("loan_detail", args=[cn_loan.loan_ref]))
    assert response.status_code == 200
    assert complaint.reference in response.content.decode()


@pytest.mark.parametrize("count", [1, 10])
def test_the_account_panel_takes_a_fixed_number_of_queries(clock, cn_loan, collector, supervisor, count):
    for _ in range(count):
        open_complaint(cn_loan, supervisor, collectors=[collector])
    template = Template("{% load complaints_tags %}{% account_complaints_panel loan user %}")
    for user, expected in ((collector, 2), (supervisor, 3)):
        user = type(user).objects.get(pk=user.pk)  # fresh: no cached role groups
        with CaptureQueriesContext(connection) as queries:
            html = template.render(Context({"loan": cn_loan, "user": user}))
        # the user's groups (role), the complaints with their holds, and for a reviewer which ones they may open
        assert len(queries) == expected, user.username
        assert html.count("CMP-") >= count
