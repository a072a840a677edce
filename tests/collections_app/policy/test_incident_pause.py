"""The incident pause as the engine sees it: a fact of the snapshot, blocking every contact while it is in force,
with no next allowed time unless the pause has a planned end."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from collections_app.policy import Channel, ReasonCode, evaluate, verdict_horizon

NY = ZoneInfo("America/New_York")
NOON = datetime(2027, 3, 3, 12, 0, tzinfo=NY)  # a Wednesday, inside the US window


def test_a_pause_in_force_blocks_calls_and_sms_with_no_next_allowed_time(mk):
    snap = mk.snapshot(pauses=(mk.pause(),))
    for channel in (Channel.CALL, Channel.SMS):
        decision = evaluate(snap, channel=channel, at=NOON)
        assert mk.codes(decision) == {ReasonCode.INCIDENT_PAUSE}
        assert decision.next_allowed_at is None
        assert decision.reasons[0].until is None
        assert decision.reasons[0].rule == snap.policy.sources.get("restrictions", "")


def test_a_pause_with_a_planned_end_lifts_at_its_end(mk):
    end = NOON + timedelta(hours=2, minutes=30)
    decision = evaluate(mk.snapshot(pauses=(mk.pause(ends_at=end),)), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.INCIDENT_PAUSE}
    assert decision.next_allowed_at == end


def test_an_open_ended_pause_beside_a_planned_one_has_no_next_allowed_time(mk):
    pauses = (mk.pause(ends_at=NOON + timedelta(hours=1)), mk.pause(pause_id=2))
    assert evaluate(mk.snapshot(pauses=pauses), channel=Channel.CALL, at=NOON).next_allowed_at is None


def test_a_pause_lifted_or_not_yet_started_does_not_block(mk):
    lifted = mk.pause(lifted_at=NOON - timedelta(minutes=1))
    later = mk.pause(starts_at=NOON + timedelta(hours=1))
    for pause in (lifted, later):
        assert evaluate(mk.snapshot(pauses=(pause,)), channel=Channel.CALL, at=NOON).allowed


def test_the_pause_is_listed_last_beside_the_other_blockers(mk):
    decision = evaluate(mk.snapshot(consents=(), pauses=(mk.pause(),)), channel=Channel.CALL, at=NOON)
    assert [r.code for r in decision.reasons] == [ReasonCode.NO_CONSENT, ReasonCode.INCIDENT_PAUSE]


def test_an_allowed_verdict_holds_only_until_a_pause_starts(mk):
    start = NOON + timedelta(minutes=20)
    snap = mk.snapshot(pauses=(mk.pause(starts_at=start),))
    decision = evaluate(snap, channel=Channel.CALL, at=NOON)
    assert decision.allowed
    assert verdict_horizon(snap, decision, NOON) == start
