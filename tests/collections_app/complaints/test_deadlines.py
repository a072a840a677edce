"""Deadlines (business days for the acknowledgement, calendar days for the resolution) and the escalation job."""

import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from audit_app.models import AuditAction, AuditEvent
from collections_app.complaints.services import (
    add_business_days,
    complaint_acknowledge,
    complaint_deadlines,
    complaint_escalate_overdue,
    complaint_withdraw,
)
from collections_app.complaints.tasks import escalate_overdue_complaints
from collections_app.models import Complaint, PublicHoliday

from .helpers import MORNING, SHANGHAI, open_complaint

pytestmark = pytest.mark.django_db
FRIDAY_AFTERNOON = dt.datetime(2027, 3, 5, 15, 0, tzinfo=SHANGHAI)


def test_the_acknowledgement_deadline_skips_the_weekend(db):
    ack, resolve = complaint_deadlines(received_at=FRIDAY_AFTERNOON, jurisdiction="CN")
    # Friday + 2 business days = Tuesday; due by the end of Tuesday 9 March, Shanghai time.
    assert ack == dt.datetime(2027, 3, 10, 0, 0, tzinfo=SHANGHAI)
    # 15 calendar days after Friday 5 March: by the end of Saturday 20 March.
    assert resolve == dt.datetime(2027, 3, 21, 0, 0, tzinfo=SHANGHAI)


def test_a_complaint_received_on_saturday_is_due_by_tuesday(db):
    ack, _ = complaint_deadlines(received_at=dt.datetime(2027, 3, 6, 11, 0, tzinfo=SHANGHAI), jurisdiction="CN")
    assert ack == dt.datetime(2027, 3, 10, 0, 0, tzinfo=SHANGHAI)


def test_a_public_holiday_of_the_jurisdiction_is_not_a_business_day(db):
    PublicHoliday.objects.create(jurisdiction="CN", date=dt.date(2027, 3, 8), name="test holiday")
    PublicHoliday.objects.create(jurisdiction="US", date=dt.date(2027, 3, 9), name="not ours")
    ack, _ = complaint_deadlines(received_at=FRIDAY_AFTERNOON, jurisdiction="CN")
    assert ack == dt.datetime(2027, 3, 11, 0, 0, tzinfo=SHANGHAI)  # end of Wednesday


def test_deadlines_are_in_the_jurisdictions_time_zone(db):
    # 23:00 Friday in London is Saturday morning in Shanghai: for a UK complaint it was received on Friday.
    london_friday_night = dt.datetime(2027, 3, 5, 23, 0, tzinfo=dt.UTC)
    ack, _ = complaint_deadlines(received_at=london_friday_night, jurisdiction="UK")
    assert ack.isoformat() == "2027-03-10T00:00:00+00:00"


def test_add_business_days():
    friday = dt.date(2027, 3, 5)
    assert add_business_days(friday, 1) == dt.date(2027, 3, 8)
    assert add_business_days(friday, 5) == dt.date(2027, 3, 12)
    assert add_business_days(friday, 0) == friday


@override_settings(COMPLAINT_ACK_BUSINESS_DAYS=3, COMPLAINT_RESOLVE_CALENDAR_DAYS=30)
def test_the_deadlines_are_settings(db):
    ack, resolve = complaint_deadlines(received_at=FRIDAY_AFTERNOON, jurisdiction="CN")
    assert ack.date() == dt.date(2027, 3, 11) and resolve.date() == dt.date(2027, 4, 5)


def _escalations():
    return AuditEvent.objects.filter(action=AuditAction.COMPLAINT_ESCALATED)


def test_an_unacknowledged_complaint_is_escalated_to_compliance_exactly_once(cn_loan, supervisor):
    with time_machine.travel(FRIDAY_AFTERNOON, tick=False):
        complaint = open_complaint(cn_loan, supervisor)
    assert complaint.assigned_to == supervisor
    before_due = dt.datetime(2027, 3, 9, 23, 59, tzinfo=SHANGHAI)
    assert complaint_escalate_overdue(now=before_due) == []

    after_due = dt.datetime(2027, 3, 10, 0, 1, tzinfo=SHANGHAI)
    assert complaint_escalate_overdue(now=after_due) == [complaint.pk]
    assert complaint_escalate_overdue(now=after_due) == []
    assert complaint_escalate_overdue(now=after_due + dt.timedelta(days=30)) == []  # later past resolve too

    complaint.refresh_from_db()
    assert complaint.escalated_at == after_due and complaint.escalation_reason == "acknowledgement_overdue"
    assert (complaint.queue, complaint.assigned_to) == ("compliance", None)
    assert complaint.state == "received"  # escalation moves the complaint, it does not decide it
    event = _escalations().get()
    assert event.actor_label == "system" and event.data["from_reviewer_id"] == supervisor.pk


def test_the_beat_task_run_twice_escalates_once(cn_loan, supervisor):
    with time_machine.travel(MORNING - dt.timedelta(days=20), tick=False):
        first = open_complaint(cn_loan, supervisor)
        second = open_complaint(cn_loan, supervisor)
        complaint_acknowledge(complaint=second, actor=supervisor)
    with time_machine.travel(MORNING, tick=False):
        assert escalate_overdue_complaints.delay().get() == 2
        assert escalate_overdue_complaints.delay().get() == 0
    assert _escalations().count() == 2
    reasons = dict(Complaint.objects.values_list("pk", "escalation_reason"))
    assert reasons == {first.pk: "acknowledgement_overdue", second.pk: "resolution_overdue"}


def test_an_acknowledged_complaint_waits_for_the_resolution_deadline(cn_loan, supervisor):
    with time_machine.travel(FRIDAY_AFTERNOON, tick=False):
        complaint = complaint_acknowledge(complaint=open_complaint(cn_loan, supervisor), actor=supervisor)
    assert complaint_escalate_overdue(now=dt.datetime(2027, 3, 20, 23, 0, tzinfo=SHANGHAI)) == []
    assert complaint_escalate_overdue(now=dt.datetime(2027, 3, 21, 0, 1, tzinfo=SHANGHAI)) == [complaint.pk]


def test_a_closed_complaint_is_never_escalated(cn_loan, supervisor):
    with time_machine.travel(FRIDAY_AFTERNOON, tick=False):
        complaint = open_complaint(cn_loan, supervisor)
        complaint_withdraw(complaint=complaint, note="withdrawn", actor=supervisor)
    assert complaint_escalate_overdue(now=FRIDAY_AFTERNOON + dt.timedelta(days=60)) == []
    assert not _escalations().exists()


def test_the_task_is_registered_under_the_beat_schedule_name():
    from django.conf import settings

    assert escalate_overdue_complaints.name == settings.CELERY_BEAT_SCHEDULE["escalate-overdue-complaints"]["task"]
