"""The audit trail searched as a compliance officer knows it: by loan or borrower reference, by a phone number in
any format (through the session, never in an address), by user and by period on the reader's own clock. Nobody
but compliance officers reaches it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from audit_app.services import audit_log
from collections_app.models import StaffProfile
from tests import factories as f
from tests.queries import tables

from .conftest import NUMBER, make_file

pytestmark = pytest.mark.django_db

AUDIT = reverse("compliance:audit")


def _find(client, **fields):
    """Search as the page does: the form posts, then the results it redirects to."""
    response = client.post(AUDIT, fields)
    assert response.status_code == 302, response.content.decode()[:500]
    return client.get(response["Location"]), response["Location"]


def _subjects(response) -> set[tuple[str, str]]:
    return {(e.subject_type, e.subject_id) for e in response.context["events"]}


def _file_subjects(file) -> set[tuple[str, str]]:
    borrower, phone, loan = file["borrower"], file["phone"], file["loan"]
    return {("consent_app.borrower", str(borrower.pk)), ("consent_app.phonenumber", str(phone.pk)),
            ("collections_app.loan", str(loan.pk))} | {
        ("collections_app.contactattempt", str(a.pk)) for a in file["attempts"]}


def _other_subjects(files) -> set[tuple[str, str]]:
    other = files["other"]
    return {("consent_app.borrower", str(other["borrower"].pk)), ("consent_app.phonenumber", str(other["phone"].pk)),
            ("collections_app.loan", str(other["loan"].pk))}


def test_a_borrower_reference_finds_the_whole_file_and_nothing_else(client, compliance, files):
    client.force_login(compliance)
    response, _location = _find(client, borrower_ref="b-aud-1")  # any case
    found = _subjects(response)
    mine = files["mine"]
    assert {("consent_app.borrower", str(mine["borrower"].pk)), ("consent_app.phonenumber", str(mine["phone"].pk))} \
        <= found
    types = {t for t, _id in found}
    assert {"consent_app.restriction", "collections_app.note", "collections_app.contactattempt"} <= types
    assert not found & _other_subjects(files)
    actions = {e.action for e in response.context["events"]}
    assert {AuditAction.BORROWER_CREATED, AuditAction.PHONE_ADDED, AuditAction.PII_REVEALED,
            AuditAction.RESTRICTION_PLACED, AuditAction.NOTE_ADDED, AuditAction.CONTACT_ATTEMPT_RECORDED} <= actions


def test_a_loan_reference_finds_the_loan_and_what_hangs_off_it(client, compliance, files):
    client.force_login(compliance)
    response, _location = _find(client, loan_ref="L-AUD-1")
    found = _subjects(response)
    mine = files["mine"]
    assert ("collections_app.contactattempt", str(mine["attempts"][0].pk)) in found
    assert {t for t, _id in found} >= {"consent_app.restriction", "collections_app.note"}
    assert ("consent_app.borrower", str(mine["borrower"].pk)) not in found  # the borrower's own events: by its ref
    assert not found & _other_subjects(files)


@pytest.mark.parametrize("typed", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "+86 (138) 0013-8000"])
def test_a_number_in_any_format_finds_its_file_and_stays_out_of_every_address(client, compliance, files, typed):
    client.force_login(compliance)
    response, location = _find(client, number=typed)
    assert "?qid=" in location
    digits = "".join(c for c in typed if c.isdigit())
    for text in (location, response.content.decode()):
        assert typed not in text and digits not in text and NUMBER not in text and NUMBER[3:] not in text
    found = _subjects(response)
    assert ("consent_app.phonenumber", str(files["mine"]["phone"].pk)) in found
    assert not found & _other_subjects(files)
    assert "8000" in response.content.decode()  # "the number ending in 8000"
    # The export links carry the session's id too, never the number.
    body = response.content.decode()
    assert reverse("compliance:audit_csv") + "?" in body and digits not in body


def test_a_number_typed_into_the_address_is_moved_out_of_it(client, compliance, files):
    client.force_login(compliance)
    response = client.get(AUDIT, {"number": "13800138000", "action": "pii.revealed"})
    assert response.status_code == 302
    assert "13800138000" not in response["Location"] and "qid=" in response["Location"]
    assert "action=pii.revealed" in response["Location"]


def test_another_sessions_search_id_finds_nothing_and_says_it_expired(client, compliance, files):
    client.force_login(compliance)
    _response, location = _find(client, number="13800138000")
    other = type(client)()
    other.force_login(f.make_compliance("compliance_two"))
    response = other.get(location)
    assert response.status_code == 302 and "qid" not in response["Location"]


def test_a_number_that_is_not_whole_is_refused_without_repeating_it(client, compliance, files):
    client.force_login(compliance)
    response = client.post(AUDIT, {"number": "8000"})
    assert response.status_code == 422
    assert response.context["form"].errors["number"]
    assert 'value="8000"' not in response.content.decode()


def test_the_trail_is_searched_by_user_and_system(client, compliance, collector, files):
    client.force_login(compliance)
    response, _location = _find(client, user=collector.username)
    assert response.context["events"] and {e.actor_id for e in response.context["events"]} == {collector.pk}
    response, _location = _find(client, user="system")
    assert response.context["events"] and {e.actor_id for e in response.context["events"]} == {None}
    refused = client.post(AUDIT, {"user": "nobody_by_that_name"})
    assert refused.status_code == 422 and refused.context["form"].errors["user"]


def test_the_period_is_the_readers_days(client, compliance, files):
    # New York's 2 March runs from 13:00 on 2 March to 13:00 on 3 March in Shanghai: the files were written at
    # 10:00 on 3 March in Shanghai, which is still 2 March in New York.
    StaffProfile.objects.create(user=compliance, time_zone="America/New_York")
    client.force_login(compliance)
    response, _location = _find(client, borrower_ref="B-AUD-1", start="2027-03-02", end="2027-03-02")
    assert response.context["events"]
    response, _location = _find(client, borrower_ref="B-AUD-1", start="2027-03-03", end="2027-03-03")
    assert response.context["events"] == []
    body = client.get(reverse("compliance:audit"), {"borrower_ref": "B-AUD-1"}).content.decode()
    assert "2027-03-02 21:00 (UTC\u221205:00)" in body  # 10:00 in Shanghai, on the reader's clock with its offset


def test_a_start_after_the_end_is_refused(client, compliance):
    client.force_login(compliance)
    response = client.post(AUDIT, {"start": "2027-03-05", "end": "2027-03-01"})
    assert response.status_code == 422 and response.context["form"].errors["start"]


def test_the_criteria_narrow_together(client, compliance, collector, files):
    client.force_login(compliance)
    response, _location = _find(client, borrower_ref="B-AUD-1", action=AuditAction.PII_REVEALED.value,
                                user=collector.username)
    events = response.context["events"]
    assert [(e.action, e.subject_id) for e in events] == [(AuditAction.PII_REVEALED, str(files["mine"]["phone"].pk))]


def test_an_unknown_reference_finds_nothing(client, compliance, files):
    client.force_login(compliance)
    response, _location = _find(client, loan_ref="L-NOPE")
    assert response.context["events"] == []


def test_pages_of_a_hundred_events_go_back_by_id(client, compliance, files):
    borrower = files["mine"]["borrower"]
    for _ in range(120):
        audit_log(action=AuditAction.BORROWER_UPDATED, subject=borrower, actor=compliance)
    client.force_login(compliance)
    response, _location = _find(client, borrower_ref="B-AUD-1")
    first = response.context["events"]
    assert len(first) == 100 and response.context["next_page"]
    older = client.get(AUDIT + "?" + response.context["next_page"]).context["events"]
    assert older and max(e.pk for e in older) < min(e.pk for e in first)


@pytest.mark.parametrize("role", ["collector", "supervisor", "other_supervisor"])
def test_nobody_but_compliance_reaches_the_trail(client, files, role, request):
    client.force_login(request.getfixturevalue(role))
    for url in (AUDIT, AUDIT + "?borrower_ref=B-AUD-1", reverse("compliance:audit_csv"),
                reverse("compliance:attempts_csv")):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "consent_app.borrower#" not in response.content.decode() and not response.get("Content-Disposition")
    assert client.post(AUDIT, {"number": "13800138000"}).status_code == 404


def test_an_anonymous_reader_is_sent_to_sign_in(client):
    response = client.get(AUDIT)
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("kind", ["borrower_ref", "number"])
def test_the_search_takes_the_same_queries_for_a_small_file_and_a_large_one(client, compliance, collector, morning,
                                                                          kind):
    counts = []
    for n, number in ((1, "+8613800138001"), (30, "+8613800138002")):
        make_file(borrower_ref=f"B-Q{n}", loan_ref=f"L-Q{n}", number=number, collector=collector, actor=compliance,
                  attempts=n)
        client.force_login(compliance)
        fields = {"borrower_ref": f"B-Q{n}"} if kind == "borrower_ref" else {"number": number}
        location = client.post(AUDIT, fields)["Location"]
        with CaptureQueriesContext(connection) as queries:
            response = client.get(location)
        assert len(response.context["events"]) >= n
        counts.append(tables(queries))
    # The session, the user (with their profile and team), their second factor, their groups, the page of events
    # (one query whatever the file's size: its rows are subqueries of it), the top bar's unread count.
    assert counts[0] == counts[1] == ["collections_app_usersession", "auth_user", "otp_totp_totpdevice", "auth_group",
                                      "audit_app_auditevent", "collections_app_notification"], counts


def test_a_search_is_not_itself_an_event(client, compliance, files):
    before = AuditEvent.objects.count()
    client.force_login(compliance)
    _find(client, borrower_ref="B-AUD-1")
    assert AuditEvent.objects.count() == before
