"""Routing: the supervisor of the collector concerned, or the compliance queue."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit_app.models import AuditAction, AuditEvent
from collections_app.models import ContactAttempt
from tests import factories as f

from .helpers import make_cn_loan, open_complaint

pytestmark = pytest.mark.django_db


def test_a_complaint_naming_a_collector_goes_to_that_collectors_supervisor(clock, cn_loan, other_collector,
                                                                            other_supervisor, supervisor):
    # The loan is team A's, but the call complained about was made by a team B collector.
    complaint = open_complaint(cn_loan, supervisor, collectors=[other_collector])
    assert (complaint.queue, complaint.assigned_to, complaint.routing_rule) == (
        "supervisor", other_supervisor, "named_collector")
    assert complaint.team == other_collector.team_membership.team
    assert list(complaint.collectors.all()) == [other_collector]


def test_without_a_named_collector_it_goes_to_the_supervisor_of_the_loans_collector(clock, cn_loan, supervisor):
    complaint = open_complaint(cn_loan, None)
    assert (complaint.queue, complaint.assigned_to, complaint.routing_rule) == (
        "supervisor", supervisor, "assigned_collector")


def test_a_named_collector_without_a_team_falls_back_to_the_loans_collector(clock, cn_loan, supervisor):
    loner = f.make_collector("loner")
    complaint = open_complaint(cn_loan, None, collectors=[loner])
    assert complaint.assigned_to == supervisor


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("category", "privacy", "category"),
    ("channel", "regulator_referral", "channel"),
])
def test_privacy_complaints_and_regulator_referrals_go_to_compliance(clock, cn_loan, collector, field, value, rule):
    complaint = open_complaint(cn_loan, None, collectors=[collector], **{field: value})
    assert (complaint.queue, complaint.assigned_to, complaint.routing_rule) == ("compliance", None, rule)
    assert complaint.team == collector.team_membership.team  # still counted for the team in reports


def test_with_no_supervisor_known_it_goes_to_compliance(clock, db):
    loan = make_cn_loan(None)
    complaint = open_complaint(loan, None)
    assert (complaint.queue, complaint.assigned_to, complaint.team, complaint.routing_rule) == (
        "compliance", None, None, "no_supervisor")


def test_the_intake_is_audited_without_the_complaint_text(clock, cn_loan, collector):
    complaint = open_complaint(cn_loan, collector, collectors=[collector], description="He shouted at me")
    event = AuditEvent.objects.get(action=AuditAction.COMPLAINT_OPENED)
    assert event.subject_id == str(complaint.pk) and event.actor_id == collector.pk
    assert event.data["category"] == "contact_frequency" and event.data["collector_ids"] == [collector.pk]
    assert event.data["hold_restriction_id"] == complaint.hold_restriction_id
    assert "shouted" not in str(event.data)


def test_intake_refuses_bad_input(clock, cn_loan, other_loan, supervisor, compliance):
    foreign = ContactAttempt.objects.create(
        loan=other_loan, phone=other_loan.borrower.phones.get(), borrower=other_loan.borrower, channel="call",
        started_at=timezone.now(), compliant=True,
    )
    cases = [
        ({"channel": "fax"}, "channel"),
        ({"category": "rudeness"}, "category"),
        ({"description": "   "}, "description"),
        ({"collectors": [compliance]}, "collectors"),
        ({"attempts": [foreign]}, "attempts"),
        ({"loan_override": other_loan}, "loan_ref"),
    ]
    for kwargs, field in cases:
        loan = kwargs.pop("loan_override", None)
        with pytest.raises(ValidationError) as excinfo:
            if loan is not None:
                open_complaint(loan, supervisor, borrower=cn_loan.borrower)
            else:
                open_complaint(cn_loan, supervisor, **kwargs)
        assert field in excinfo.value.message_dict
    assert not AuditEvent.objects.filter(action=AuditAction.COMPLAINT_OPENED).exists()
