"""US preset: Regulation F 12 CFR 1006.14(b) call-frequency presumptions.

1 March 2027 is a Monday. Times are New York local unless said otherwise.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from collections_app.policy import Channel, Direction, Outcome, Party, ReasonCode, evaluate

NY = ZoneInfo("America/New_York")


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=NY)


def test_seven_attempts_within_seven_days_block_the_eighth(mk):
    attempts = tuple(mk.attempt(ny(day, 10)) for day in range(1, 8))  # one a day, Mon 1 .. Sun 7
    decision = evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(7, 15))
    assert mk.codes(decision) == {ReasonCode.ROLLING_ATTEMPT_LIMIT}
    # Monday 8 March: the window is 2..8 March, the attempt of 1 March has left it.
    assert decision.reasons[0].until == ny(8, 0)
    assert decision.next_allowed_at == ny(8, 8)
    assert evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(8, 8)).allowed


def test_the_rolling_window_frees_on_the_local_day_the_attempts_leave_it(mk):
    # Seven attempts on Tuesday 2 March: they stay in the seven-day window through Monday 8 March.
    attempts = tuple(mk.attempt(ny(2, 9) + timedelta(minutes=10 * k)) for k in range(7))
    snap = mk.snapshot(attempts=attempts)
    decision = evaluate(snap, channel=Channel.CALL, at=ny(4, 12))
    assert mk.codes(decision) == {ReasonCode.ROLLING_ATTEMPT_LIMIT}
    assert decision.reasons[0].until == ny(9, 0)
    assert decision.next_allowed_at == ny(9, 8)
    assert mk.codes(evaluate(snap, channel=Channel.CALL, at=ny(8, 20, 59))) == {ReasonCode.ROLLING_ATTEMPT_LIMIT}
    assert evaluate(snap, channel=Channel.CALL, at=ny(9, 8)).allowed


def test_the_rolling_window_counts_local_days_not_24_hour_periods(mk):
    # Attempts late on 1 March (local) leave the window at local midnight starting 8 March, even though 8 March
    # 08:00 is less than seven 24-hour periods after 1 March 20:00.
    attempts = tuple(mk.attempt(ny(1, 20) + timedelta(minutes=k)) for k in range(7))
    decision = evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(7, 12))
    assert decision.next_allowed_at == ny(8, 8)


def test_seven_attempts_on_another_debt_do_not_block_this_one(mk):
    attempts = tuple(mk.attempt(ny(day, 10), loan_id=mk.OTHER_LOAN) for day in range(1, 8))
    assert evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(7, 15)).allowed


def test_not_connected_calls_do_not_count_as_attempts(mk):
    attempts = tuple(mk.attempt(ny(day, 10), outcome=Outcome.NOT_CONNECTED) for day in range(1, 8))
    assert evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(7, 15)).allowed


def test_not_connected_calls_count_when_the_policy_counts_them(mk):
    attempts = tuple(mk.attempt(ny(day, 10), outcome=Outcome.NOT_CONNECTED) for day in range(1, 8))
    snap = mk.snapshot(policy=mk.policy("US", count_not_connected=True), attempts=attempts)
    assert mk.codes(evaluate(snap, channel=Channel.CALL, at=ny(7, 15))) == {ReasonCode.ROLLING_ATTEMPT_LIMIT}


def test_unanswered_voicemail_and_in_progress_calls_do_count(mk):
    outcomes = [Outcome.NO_ANSWER, Outcome.VOICEMAIL, Outcome.WRONG_NUMBER, None] + [Outcome.NO_ANSWER] * 3
    attempts = tuple(mk.attempt(ny(day, 10), outcome=o) for day, o in zip(range(1, 8), outcomes, strict=True))
    decision = evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(7, 15))
    assert mk.codes(decision) == {ReasonCode.ROLLING_ATTEMPT_LIMIT}


def test_inbound_calls_are_never_attempts(mk):
    attempts = tuple(
        mk.attempt(ny(day, 10), direction=Direction.INBOUND, outcome=Outcome.NO_ANSWER) for day in range(1, 8)
    )
    assert evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(7, 15)).allowed


def test_sms_do_not_count_toward_the_call_cap(mk):
    attempts = tuple(mk.attempt(ny(day, 10), channel=Channel.SMS) for day in range(1, 8))
    assert evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(7, 15)).allowed


def test_attempts_recorded_after_the_instant_evaluated_are_ignored(mk):
    attempts = tuple(mk.attempt(ny(7, 16) + timedelta(minutes=k)) for k in range(7))
    assert evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(7, 15)).allowed


def test_after_a_conversation_on_monday_calls_are_blocked_through_sunday(mk):
    snap = mk.snapshot(attempts=(mk.attempt(ny(1, 11), outcome=Outcome.CONVERSATION),))
    for day in range(1, 8):
        decision = evaluate(snap, channel=Channel.CALL, at=ny(day, 20, 59))
        assert mk.codes(decision) == {ReasonCode.CONVERSATION_COOLDOWN}, day
        assert decision.reasons[0].until == ny(8, 0)
        assert decision.next_allowed_at == ny(8, 8)


def test_after_a_conversation_on_monday_calls_are_allowed_the_next_monday_at_08_00(mk):
    snap = mk.snapshot(attempts=(mk.attempt(ny(1, 11), outcome=Outcome.CONVERSATION),))
    assert evaluate(snap, channel=Channel.CALL, at=ny(8, 8)).allowed
    before = evaluate(snap, channel=Channel.CALL, at=ny(8, 7, 59))
    assert mk.codes(before) == {ReasonCode.OUTSIDE_CONTACT_HOURS}
    assert before.next_allowed_at == ny(8, 8)


def test_a_conversation_late_at_night_utc_belongs_to_the_borrowers_local_day(mk):
    # 1 March 23:30 New York is 2 March 04:30 UTC: day 1 is still Monday 1 March.
    snap = mk.snapshot(attempts=(mk.attempt(ny(1, 23, 30), outcome=Outcome.CONVERSATION),))
    assert evaluate(snap, channel=Channel.CALL, at=ny(8, 8)).allowed


def test_an_inbound_conversation_starts_the_cooldown(mk):
    inbound = mk.attempt(ny(1, 11), direction=Direction.INBOUND, outcome=Outcome.CONVERSATION)
    decision = evaluate(mk.snapshot(attempts=(inbound,)), channel=Channel.CALL, at=ny(3, 12))
    assert mk.codes(decision) == {ReasonCode.CONVERSATION_COOLDOWN}
    assert decision.next_allowed_at == ny(8, 8)


def test_a_later_conversation_extends_the_cooldown(mk):
    attempts = (
        mk.attempt(ny(1, 11), outcome=Outcome.CONVERSATION),
        mk.attempt(ny(4, 11), direction=Direction.INBOUND, outcome=Outcome.CONVERSATION),
    )
    decision = evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(5, 12))
    assert decision.reasons[0].until == ny(11, 0)
    assert decision.next_allowed_at == ny(11, 8)


def test_a_conversation_with_a_third_party_does_not_start_the_debtors_cooldown(mk):
    talk = mk.attempt(ny(1, 11), outcome=Outcome.CONVERSATION, party=Party.THIRD_PARTY)
    assert evaluate(mk.snapshot(attempts=(talk,)), channel=Channel.CALL, at=ny(3, 12)).allowed


def test_cooldown_and_rolling_cap_are_both_reported(mk):
    attempts = (
        *(mk.attempt(ny(2, 9) + timedelta(minutes=k)) for k in range(6)),
        mk.attempt(ny(2, 10), outcome=Outcome.CONVERSATION),
    )
    decision = evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=ny(3, 12))
    assert mk.codes(decision) == {ReasonCode.ROLLING_ATTEMPT_LIMIT, ReasonCode.CONVERSATION_COOLDOWN}
    assert decision.next_allowed_at == ny(9, 8)
