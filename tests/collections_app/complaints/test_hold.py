"""The collection hold: placed when the complaint is opened (by category, per jurisdiction), blocking contact
while the complaint is open (when the policy says so), lifted when it is closed."""

import datetime as dt

import pytest
from django.test import override_settings

from audit_app.models import AuditAction, AuditEvent
from collections_app.complaints.services import complaint_resolve, complaint_transition, complaint_withdraw
from collections_app.contact.services import contact_check, policy_version_create, policy_version_data
from collections_app.models import ContactPolicy
from consent_app.models import Restriction

from .helpers import MORNING, open_complaint, phone_of

pytestmark = pytest.mark.django_db


def _codes(loan):
    return [r.code for r in contact_check(loan=loan, phone=phone_of(loan), channel="call").reasons]


def _resolve(complaint, actor):
    complaint = complaint_transition(complaint=complaint, to_state="acknowledged", actor=actor)
    complaint = complaint_transition(complaint=complaint, to_state="investigating", actor=actor)
    return complaint_resolve(complaint=complaint, outcome="not_upheld", root_cause="Calls within caps.",
                             remediation="None needed; explained to the borrower.", actor=actor)


def test_a_harassment_complaint_puts_collection_on_hold_until_it_is_resolved(clock, cn_loan, supervisor):
    assert _codes(cn_loan) == []  # 10:00 on a weekday, consented number: contact allowed
    complaint = open_complaint(cn_loan, supervisor, category="contact_frequency")
    hold = complaint.hold_restriction
    assert hold is not None and hold.kind == "complaint_hold" and hold.loan_id is None
    assert hold.borrower_id == cn_loan.borrower_id
    assert complaint.reference in hold.reason  # traceable, and no complaint text in the restriction
    assert "nine times" not in hold.reason
    assert _codes(cn_loan) == ["COMPLAINT_HOLD"]

    clock.shift(dt.timedelta(hours=1))
    _resolve(complaint, supervisor)
    hold.refresh_from_db()
    assert hold.lifted_at is not None and complaint.reference in hold.lift_reason
    assert _codes(cn_loan) == []
    assert AuditEvent.objects.filter(action=AuditAction.RESTRICTION_LIFTED, subject_id=str(hold.pk)).count() == 1


def test_withdrawing_the_complaint_lifts_the_hold(clock, cn_loan, supervisor):
    complaint = open_complaint(cn_loan, supervisor, category="third_party_disclosure")
    assert _codes(cn_loan) == ["COMPLAINT_HOLD"]
    complaint_withdraw(complaint=complaint, note="Borrower withdrew by phone.", actor=supervisor)
    assert Restriction.objects.get(pk=complaint.hold_restriction_id).lifted_at is not None
    assert _codes(cn_loan) == []


@pytest.mark.parametrize("category", ["contact_frequency", "third_party_disclosure", "privacy"])
def test_the_default_hold_categories_place_a_hold(clock, cn_loan, supervisor, category):
    assert open_complaint(cn_loan, supervisor, category=category).hold_restriction_id is not None


@pytest.mark.parametrize("category", ["inconvenient_time", "threats_abuse", "amount_dispute", "other"])
def test_other_categories_place_no_hold(clock, cn_loan, supervisor, category):
    complaint = open_complaint(cn_loan, supervisor, category=category)
    assert complaint.hold_restriction_id is None
    assert not Restriction.objects.filter(kind="complaint_hold").exists()
    assert _codes(cn_loan) == []


def test_the_hold_categories_are_set_per_jurisdiction(clock, cn_loan, supervisor):
    with override_settings(COMPLAINT_HOLD_CATEGORIES={"CN": {"amount_dispute"}, "default": {"contact_frequency"}}):
        assert open_complaint(cn_loan, supervisor, category="contact_frequency").hold_restriction_id is None
        assert open_complaint(cn_loan, supervisor, category="amount_dispute").hold_restriction_id is not None


def test_closing_one_of_two_complaints_keeps_the_other_ones_hold(clock, cn_loan, supervisor):
    first = open_complaint(cn_loan, supervisor, category="contact_frequency")
    open_complaint(cn_loan, supervisor, category="privacy")
    complaint_withdraw(complaint=first, note="withdrawn", actor=supervisor)
    assert _codes(cn_loan) == ["COMPLAINT_HOLD"]


def test_the_hold_does_not_block_contact_when_the_policy_version_says_so(clock, cn_loan, supervisor, compliance):
    cn = ContactPolicy.objects.get(jurisdiction="CN")
    data = policy_version_data(cn.versions.order_by("-version").first())
    data["complaint_hold_blocks"] = False
    policy_version_create(policy_obj=cn, data=data, actor=compliance, change_note="holds are advisory",
                          effective_from=MORNING - dt.timedelta(minutes=1))
    complaint = open_complaint(cn_loan, supervisor, category="contact_frequency")
    assert complaint.hold_restriction_id is not None  # the hold is recorded...
    assert _codes(cn_loan) == []  # ...but this policy version lets contact go on
