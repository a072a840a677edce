"""The review workflow: one transition table, the fields each move needs, and refused moves."""

import pytest
from django.core.exceptions import ValidationError

from audit_app.models import AuditAction, AuditEvent
from collections_app.complaints.services import (
    complaint_acknowledge,
    complaint_resolve,
    complaint_start_investigation,
    complaint_transition,
    complaint_withdraw,
)
from collections_app.models import COMPLAINT_TRANSITIONS, Complaint, ComplaintState
from collections_app.states import IllegalTransition

from .helpers import open_complaint

pytestmark = pytest.mark.django_db


def _at(complaint, state, actor):
    """Walk a complaint to `state` along the legal path."""
    path = [ComplaintState.ACKNOWLEDGED, ComplaintState.INVESTIGATING]
    for step in path:
        if complaint.state == state:
            break
        complaint = complaint_transition(complaint=complaint, to_state=step, actor=actor)
    if state == ComplaintState.RESOLVED:
        complaint = complaint_resolve(complaint=complaint, outcome="upheld", root_cause="rc", remediation="rm",
                                      actor=actor)
    if state == ComplaintState.WITHDRAWN:
        complaint = complaint_withdraw(complaint=complaint, note="by phone", actor=actor)
    assert complaint.state == state
    return complaint


def test_a_complaint_goes_received_acknowledged_investigating_resolved(clock, cn_loan, supervisor):
    complaint = open_complaint(cn_loan, supervisor)
    assert complaint.state == ComplaintState.RECEIVED
    complaint = complaint_acknowledge(complaint=complaint, actor=supervisor)
    assert complaint.state == ComplaintState.ACKNOWLEDGED and complaint.acknowledged_at is not None
    complaint = complaint_start_investigation(complaint=complaint, actor=supervisor)
    assert complaint.investigation_started_at is not None
    complaint = complaint_resolve(
        complaint=complaint, outcome="upheld", root_cause="Dialer retried on busy.", remediation="Retry capped.",
        actor=supervisor,
    )
    complaint.refresh_from_db()
    assert complaint.state == ComplaintState.RESOLVED
    assert complaint.outcome == "upheld" and complaint.closed_at is not None
    assert complaint.root_cause == "Dialer retried on busy." and complaint.remediation == "Retry capped."
    moves = AuditEvent.objects.filter(action=AuditAction.COMPLAINT_STATE_CHANGED).order_by("id")
    assert [(e.data["from"], e.data["to"]) for e in moves] == [
        ("received", "acknowledged"), ("acknowledged", "investigating"), ("investigating", "resolved"),
    ]
    assert all(e.actor_id == supervisor.pk for e in moves)


@pytest.mark.parametrize("state", ["received", "acknowledged", "investigating"])
def test_the_borrower_may_withdraw_from_every_open_state(clock, cn_loan, supervisor, state):
    complaint = _at(open_complaint(cn_loan, supervisor), state, supervisor)
    complaint = complaint_withdraw(complaint=complaint, note="Borrower called to withdraw.", actor=supervisor)
    assert complaint.state == ComplaintState.WITHDRAWN and complaint.closed_at is not None


REFUSED = [
    ("received", "investigating"),
    ("received", "resolved"),
    ("acknowledged", "resolved"),
    ("acknowledged", "received"),
    ("investigating", "acknowledged"),
    ("resolved", "investigating"),
    ("resolved", "withdrawn"),
    ("withdrawn", "acknowledged"),
    ("withdrawn", "resolved"),
]


@pytest.mark.parametrize(("state", "target"), REFUSED)
def test_an_illegal_move_is_refused_with_a_clear_error_and_changes_nothing(clock, cn_loan, supervisor, state, target):
    complaint = _at(open_complaint(cn_loan, supervisor), state, supervisor)
    events = AuditEvent.objects.count()
    with pytest.raises(IllegalTransition) as excinfo:
        complaint_transition(complaint=complaint, to_state=target, actor=supervisor, outcome="upheld",
                             root_cause="x", remediation="y", note="z")
    assert "cannot become" in excinfo.value.message_dict["state"][0]
    assert Complaint.objects.get(pk=complaint.pk).state == state
    assert AuditEvent.objects.count() == events


def test_the_transition_table_allows_exactly_the_documented_moves():
    assert {s: set(t) for s, t in COMPLAINT_TRANSITIONS.items()} == {
        "received": {"acknowledged", "withdrawn"},
        "acknowledged": {"investigating", "withdrawn"},
        "investigating": {"resolved", "withdrawn"},
        "resolved": set(),
        "withdrawn": set(),
    }


def test_resolving_requires_an_outcome_a_root_cause_and_a_remediation(clock, cn_loan, supervisor):
    complaint = _at(open_complaint(cn_loan, supervisor), "investigating", supervisor)
    with pytest.raises(ValidationError) as excinfo:
        complaint_transition(complaint=complaint, to_state="resolved", actor=supervisor, outcome="maybe",
                             root_cause="  ", remediation="")
    assert set(excinfo.value.message_dict) == {"outcome", "root_cause", "remediation"}
    assert Complaint.objects.get(pk=complaint.pk).state == "investigating"


def test_withdrawing_requires_a_note(clock, cn_loan, supervisor):
    complaint = open_complaint(cn_loan, supervisor)
    with pytest.raises(ValidationError) as excinfo:
        complaint_transition(complaint=complaint, to_state="withdrawn", actor=supervisor)
    assert set(excinfo.value.message_dict) == {"note"}


def test_an_unknown_state_is_refused(clock, cn_loan, supervisor):
    complaint = open_complaint(cn_loan, supervisor)
    with pytest.raises(ValidationError):
        complaint_transition(complaint=complaint, to_state="closed", actor=supervisor)


def test_the_complaint_text_is_encrypted_at_rest_and_history_keeps_each_move(clock, cn_loan, supervisor):
    from django.db import connection

    complaint = _at(open_complaint(cn_loan, supervisor, description="Secret words"), "acknowledged", supervisor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT description FROM collections_app_complaint WHERE id = %s", [complaint.pk])
        stored = cursor.fetchone()[0]
    stored = stored.tobytes() if hasattr(stored, "tobytes") else stored
    assert b"Secret words" not in (stored if isinstance(stored, bytes) else stored.encode())
    assert [h.state for h in complaint.history.order_by("history_id")] == ["received", "received", "acknowledged"]
