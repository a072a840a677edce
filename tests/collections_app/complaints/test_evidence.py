"""The reviewer's evidence panel: attempts with their verdicts, consents and restrictions as recorded at each
attempt, and who revealed the borrower's numbers."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from collections_app.complaints.selectors import complaint_evidence
from collections_app.contact.services import attempt_record
from collections_app.models import ContactAttempt
from consent_app.models import Consent, PiiAccess
from consent_app.services import consent_withdraw, phone_reveal, restriction_place

from .helpers import MORNING, SHANGHAI, open_complaint, phone_of

pytestmark = pytest.mark.django_db
NIGHT = dt.datetime(2027, 3, 2, 23, 30, tzinfo=SHANGHAI)


@pytest.fixture
def story(cn_loan, collector, supervisor):
    """A call at 23:30 (non-compliant), the number revealed, consent withdrawn, another call after the withdrawal,
    a hold, then the complaint about the night call."""
    phone = phone_of(cn_loan)
    with time_machine.travel(MORNING, tick=False):
        night, _ = attempt_record(
            external_id="D-NIGHT", loan=cn_loan, phone=phone, channel="call", direction="outbound", started_at=NIGHT,
            outcome="no_answer", collector=collector, recording_ref="rec-0001", actor=None,
        )
    with time_machine.travel(MORNING + dt.timedelta(minutes=30), tick=False):
        phone_reveal(phone=phone, actor=collector, reason="borrower asked for a callback")
    with time_machine.travel(MORNING + dt.timedelta(hours=1), tick=False):
        consent_withdraw(consent=Consent.objects.get(phone=phone), via="phone", actor=collector)
    with time_machine.travel(MORNING + dt.timedelta(hours=2), tick=False):
        later, _ = attempt_record(
            external_id="D-LATER", loan=cn_loan, phone=phone, channel="call", direction="outbound",
            started_at=MORNING + dt.timedelta(hours=1, minutes=30), outcome="conversation", collector=collector,
            actor=None,
        )
    with time_machine.travel(MORNING + dt.timedelta(hours=3), tick=False):
        restriction_place(borrower=cn_loan.borrower, kind="temporary_hold", starts_at=MORNING + dt.timedelta(hours=3),
                          ends_at=MORNING + dt.timedelta(days=7), reason="supervisor pause", actor=supervisor)
        complaint = open_complaint(cn_loan, collector, category="inconvenient_time", collectors=[collector],
                                   attempts=[night])
    return {"complaint": complaint, "night": night, "later": later, "phone": phone}


def _evidence(complaint):
    return complaint_evidence(complaint, now=MORNING + dt.timedelta(hours=4))


def test_the_night_call_is_shown_non_compliant_with_its_reason_and_local_time(story):
    evidence = _evidence(story["complaint"])
    rows = {e.attempt.external_id: e for e in evidence.attempts}
    night = rows["D-NIGHT"]
    assert night.concerned is True
    assert night.attempt.compliant is False
    assert [r["code"] for r in night.reason_codes] == ["OUTSIDE_CONTACT_HOURS"]
    assert night.local_times[0][0] == "Asia/Shanghai"
    assert night.local_times[0][1].strftime("%Y-%m-%d %H:%M") == "2027-03-02 23:30"
    assert night.attempt.collector.username == "collector_a" and night.attempt.recording_ref == "rec-0001"
    assert evidence.non_compliant_count == 2  # the later call broke the withdrawn consent


def test_the_consent_is_shown_as_it_stood_at_each_attempt(story):
    rows = {e.attempt.external_id: e for e in _evidence(story["complaint"]).attempts}
    # Withdrawn at 11:00 the next morning: at the night call it was in force.
    assert [c.state for c in rows["D-NIGHT"].consents] == ["active"]
    assert rows["D-NIGHT"].consents[0].channels == ("call", "sms")
    assert [c.state for c in rows["D-LATER"].consents] == ["withdrawn"]
    assert [r["code"] for r in rows["D-LATER"].reason_codes] == ["CONSENT_WITHDRAWN"]


def test_restrictions_are_shown_as_they_stood_at_each_attempt(story):
    rows = {e.attempt.external_id: e for e in _evidence(story["complaint"]).attempts}
    # The temporary hold came after both calls.
    assert rows["D-NIGHT"].restrictions == [] and rows["D-LATER"].restrictions == []


def test_a_restriction_in_force_at_the_attempt_is_listed_even_if_lifted_since(cn_loan, collector, supervisor):
    from consent_app.services import restriction_lift

    phone = phone_of(cn_loan)
    with time_machine.travel(MORNING - dt.timedelta(hours=2), tick=False):
        hold = restriction_place(borrower=cn_loan.borrower, kind="temporary_hold", starts_at=MORNING -
                                 dt.timedelta(hours=2), ends_at=MORNING + dt.timedelta(days=7), reason="pause",
                                 actor=supervisor)
    with time_machine.travel(MORNING, tick=False):
        attempt_record(external_id="D-HOLD", loan=cn_loan, phone=phone, channel="call", direction="outbound",
                       started_at=MORNING - dt.timedelta(minutes=30), outcome="no_answer", actor=None)
        restriction_lift(restriction=hold, actor=supervisor, reason="done")
        complaint = open_complaint(cn_loan, collector, category="other")
    rows = {e.attempt.external_id: e for e in _evidence(complaint).attempts}
    assert [r.kind for r in rows["D-HOLD"].restrictions] == ["temporary_hold"]
    assert [r["code"] for r in rows["D-HOLD"].reason_codes] == ["TEMPORARY_HOLD"]


def test_who_revealed_the_number_is_listed_masked(story):
    reveals = _evidence(story["complaint"]).reveals
    assert len(reveals) == 1
    reveal = reveals[0]
    assert reveal.actor == "collector_a" and reveal.reason == "borrower asked for a callback"
    assert reveal.at == MORNING + dt.timedelta(minutes=30)
    assert reveal.number == story["phone"].masked and "*" in reveal.number


def test_attempts_older_than_the_lookback_are_left_out_unless_concerned(cn_loan, collector):
    phone = phone_of(cn_loan)
    old = ContactAttempt.objects.create(
        loan=cn_loan, phone=phone, borrower=cn_loan.borrower, channel="call", outcome="no_answer", compliant=True,
        started_at=MORNING - dt.timedelta(days=40),
    )
    older = ContactAttempt.objects.create(
        loan=cn_loan, phone=phone, borrower=cn_loan.borrower, channel="call", outcome="no_answer", compliant=True,
        started_at=MORNING - dt.timedelta(days=41),
    )
    with time_machine.travel(MORNING, tick=False):
        complaint = open_complaint(cn_loan, collector, attempts=[older])
    shown = [e.attempt.pk for e in _evidence(complaint).attempts]
    assert older.pk in shown and old.pk not in shown


@pytest.mark.parametrize("count", [1, 25])
def test_the_evidence_takes_the_same_number_of_queries_whatever_the_history(cn_loan, collector, count):
    phone = phone_of(cn_loan)
    ContactAttempt.objects.bulk_create(
        ContactAttempt(loan=cn_loan, phone=phone, borrower=cn_loan.borrower, channel="call", outcome="no_answer",
                       compliant=True, started_at=MORNING - dt.timedelta(hours=i + 1), collector=collector)
        for i in range(count)
    )
    with time_machine.travel(MORNING, tick=False):
        complaint = open_complaint(cn_loan, collector)
    with CaptureQueriesContext(connection) as queries:
        evidence = _evidence(complaint)
    # 1 attempts (with collector, loan, policy version), 2 the borrower's numbers, 3 consent history,
    # 4 restriction history, 5 PII reveals.
    assert len(queries) == 5
    assert len(evidence.attempts) == count


def test_the_reviewer_page_shows_the_verdicts_and_never_a_full_number(client, story, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("complaints:detail", args=[story["complaint"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "OUTSIDE_CONTACT_HOURS" in html and "rec-0001" in html
    assert "borrower asked for a callback" in html
    assert story["phone"].masked in html
    assert story["phone"].e164 not in html and story["phone"].e164[3:] not in html


def test_a_reveals_reason_is_read_from_its_encrypted_access_record_not_the_audit_log(cn_loan, collector):
    phone = phone_of(cn_loan)
    with time_machine.travel(MORNING, tick=False):
        phone_reveal(phone=phone, actor=collector, reason="borrower asked for a callback")
        complaint = open_complaint(cn_loan, collector)
    event = AuditEvent.objects.get(action=AuditAction.PII_REVEALED)
    assert "reason" not in event.data and PiiAccess.objects.filter(pk=event.data["access_id"]).exists()
    with CaptureQueriesContext(connection) as queries:
        reveals = _evidence(complaint).reveals
    assert [(r.actor, r.number, r.reason) for r in reveals] == [
        ("collector_a", phone.masked, "borrower asked for a callback")]
    # The five queries above, and 6 the reveals' access records (one query however many reveals).
    assert len(queries) == 6
