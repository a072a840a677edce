"""A working day through the services — a borrower, numbers and consents, a call with its follow-ups, a reveal,
holds, promises, plans decided and cancelled, complaints resolved and withdrawn, a policy version — writes audit
events whose data holds ids, codes and amounts only: every text typed along the way is on its row, encrypted, and
in no event."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.db.models import F

from audit_app.models import AuditAction, AuditEvent
from collections_app.complaints.services import complaint_open, complaint_transition
from collections_app.contact.services import attempt_record, contact_start, policy_version_create, policy_version_data
from collections_app.desk.services import FollowUps, note_add, outcome_record
from collections_app.loans.services import loan_assign, loan_upsert, payment_record
from collections_app.models import ContactPolicy
from collections_app.plans.services import (
    plan_approve,
    plan_cancel,
    plan_decline,
    plan_propose,
    promise_cancel,
    promise_create,
)
from consent_app.services import (
    PhoneInput,
    ThirdPartyInput,
    borrower_upsert,
    consent_grant,
    consent_withdraw,
    phone_reveal,
    phone_set_status,
    restriction_lift,
    restriction_place,
)
from tests.audit_data import free_text_in
from tests.collections_app.plans.helpers import schedule

pytestmark = pytest.mark.django_db

MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # Wednesday, Shanghai
NAME = "Liu Yang"  # in every text typed below: it must reach no audit event


def typed(what: str) -> str:
    return f"{what}: {NAME} told us something private"


@pytest.fixture
def day(collector, supervisor, compliance):
    with time_machine.travel(MORNING - dt.timedelta(days=30), tick=False):
        borrower, _ = borrower_upsert(
            borrower_ref="B-DAY-1", full_name="Zhang Wei", jurisdiction="CN", timezone_name="Asia/Shanghai",
            phones=[PhoneInput(number="138 0013 8000")], actor=compliance,
            third_parties=[ThirdPartyInput(contact_ref="TP-1", name="Zhang Min", relation="spouse",
                                           phones=(PhoneInput(number="139 0013 9000"),))],
        )
        own, spouse = borrower.phones.order_by(F("third_party_id").asc(nulls_first=True), "pk")
        consent = consent_grant(phone=own, channels=["call", "sms"], basis="electronic", evidence_ref="app-1",
                                granted_at=MORNING - dt.timedelta(days=30), actor=compliance)
        loan, _ = loan_upsert(loan_ref="L-DAY-1", borrower=borrower, principal="9000", balance="6000",
                              currency="CNY", due_date=(MORNING - dt.timedelta(days=45)).date(), actor=compliance)
        loan = loan_assign(loan=loan, collector=collector, actor=supervisor, reason="reassigned in admin")
    with time_machine.travel(MORNING, tick=False):
        phone_reveal(phone=own, actor=collector, reason=typed("reveal"))
        phone_set_status(phone=spouse, status="wrong_number", actor=compliance, reason=typed("status"))
        attempt, _decision = contact_start(loan=loan, phone=own, channel="call", collector=collector)
        assert attempt is not None
        outcome_record(attempt=attempt, outcome="conversation", party="debtor", actor=collector, follow_ups=FollowUps(
            promise_amount=Decimal("500"), promise_date=(MORNING + dt.timedelta(days=5)).date(),
            note=typed("outcome note"), dispute=True, hold_until=(MORNING + dt.timedelta(days=3)).date()))
        note_add(loan=loan, text=typed("note"), actor=collector)
        attempt_record(external_id="D-1", loan=loan, phone=own, channel="call", direction="outbound",
                       started_at=MORNING - dt.timedelta(hours=1), outcome="no_answer", actor=None,
                       collector=collector)
        hold = restriction_place(borrower=borrower, kind="attorney", starts_at=MORNING, reason=typed("restriction"),
                                 actor=compliance)
        restriction_lift(restriction=hold, actor=compliance, reason=typed("lift"))
        promise = promise_create(loan=loan, amount="700", promise_date=(MORNING + dt.timedelta(days=7)).date(),
                                 actor=collector, note=typed("promise note"))
        promise_cancel(promise=promise, actor=collector, reason=typed("promise withdrawn"))
        declined = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector,
                                reason=typed("plan reason"))
        plan_decline(plan=declined, actor=supervisor, comment=typed("declined"))
        approved = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector,
                                reason=typed("plan reason"))
        plan_approve(plan=approved, actor=supervisor, comment=typed("approved"))
        payment_record(external_id="PAY-DAY-1", loan=loan, amount="100", paid_at=MORNING, actor=None)
        plan_cancel(plan=approved, actor=collector, reason=typed("plan cancelled"))
        resolved = complaint_open(borrower=borrower, loan=loan, channel="phone", category="contact_frequency",
                                  description=typed("complaint"), actor=collector)
        for state in ("acknowledged", "investigating"):
            complaint_transition(complaint=resolved, to_state=state, actor=supervisor)
        complaint_transition(complaint=resolved, to_state="resolved", outcome="upheld", root_cause=typed("cause"),
                             remediation=typed("remedy"), actor=supervisor)
        withdrawn = complaint_open(borrower=borrower, channel="letter", category="privacy",
                                   description=typed("complaint"), actor=compliance)
        complaint_transition(complaint=withdrawn, to_state="withdrawn", note=typed("withdrawal"), actor=compliance)
        consent_withdraw(consent=consent, via="phone", actor=collector, channels=("sms",))
        policy = ContactPolicy.objects.get(code="CN")
        policy_version_create(policy_obj=policy, data=policy_version_data(policy.versions.latest("version")),
                              actor=compliance, change_note=typed("policy change"))
    return AuditEvent.objects.order_by("id")


def test_the_day_writes_the_events_it_should(day):
    actions = set(day.values_list("action", flat=True))
    assert {AuditAction.PII_REVEALED, AuditAction.PHONE_STATUS_CHANGED, AuditAction.RESTRICTION_LIFTED,
            AuditAction.PROMISE_CANCELLED, AuditAction.PLAN_DECLINED, AuditAction.PLAN_APPROVED,
            AuditAction.PLAN_CANCELLED, AuditAction.COMPLAINT_STATE_CHANGED, AuditAction.NOTE_ADDED,
            AuditAction.POLICY_VERSION_CREATED, AuditAction.CONSENT_WITHDRAWN} <= actions


def test_no_event_carries_a_text_that_was_typed(day):
    assert NAME not in json.dumps([event.data for event in day])


def test_no_event_carries_anything_that_looks_like_free_text(day):
    assert free_text_in(day) == []
