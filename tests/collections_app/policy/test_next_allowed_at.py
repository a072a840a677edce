"""next_allowed_at: the earliest whole minute at which every time-based blocker has lifted together."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from collections_app.policy import Channel, Outcome, ReasonCode, evaluate

NY = ZoneInfo("America/New_York")


def ny(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, second, tzinfo=NY)


def test_it_is_none_when_contact_is_allowed(mk):
    assert evaluate(mk.snapshot(), channel=Channel.CALL, at=ny(3, 3, 12)).next_allowed_at is None


def test_outside_hours_and_cooldown_lift_together_at_the_window_start_after_the_cooldown(mk):
    snap = mk.snapshot(attempts=(mk.attempt(ny(3, 1, 11), outcome=Outcome.CONVERSATION),))
    decision = evaluate(snap, channel=Channel.CALL, at=ny(3, 4, 22))
    assert mk.codes(decision) == {ReasonCode.OUTSIDE_CONTACT_HOURS, ReasonCode.CONVERSATION_COOLDOWN}
    until = {r.code: r.until for r in decision.reasons}
    assert until[ReasonCode.OUTSIDE_CONTACT_HOURS] == ny(3, 5, 8)
    assert until[ReasonCode.CONVERSATION_COOLDOWN] == ny(3, 8, 0)
    assert decision.next_allowed_at == ny(3, 8, 8)


def test_a_temporary_hold_ending_in_the_evening_resumes_at_the_next_window_start(mk):
    hold = mk.restriction("temporary_hold", starts_at=ny(3, 1, 0), ends_at=ny(3, 10, 23, 30))
    decision = evaluate(mk.snapshot(restrictions=(hold,)), channel=Channel.CALL, at=ny(3, 3, 12))
    assert mk.codes(decision) == {ReasonCode.TEMPORARY_HOLD}
    assert decision.reasons[0].until == ny(3, 10, 23, 30)
    assert decision.next_allowed_at == ny(3, 11, 8)


def test_a_hold_ending_mid_minute_is_rounded_up_to_the_next_whole_minute(mk):
    hold = mk.restriction("temporary_hold", ends_at=ny(3, 3, 14, 0, 30))
    decision = evaluate(mk.snapshot(restrictions=(hold,)), channel=Channel.CALL, at=ny(3, 3, 12))
    assert decision.reasons[0].until == ny(3, 3, 14, 0, 30)
    assert decision.next_allowed_at == ny(3, 3, 14, 1)


def test_the_rounded_minute_is_re_checked_against_the_window(mk):
    # The hold ends at 20:59:30; rounding up gives 21:00, when the window has closed: next morning.
    hold = mk.restriction("temporary_hold", ends_at=ny(3, 3, 20, 59, 30))
    decision = evaluate(mk.snapshot(restrictions=(hold,)), channel=Channel.CALL, at=ny(3, 3, 12))
    assert decision.next_allowed_at == ny(3, 4, 8)


def test_overlapping_holds_lift_when_the_last_one_ends(mk):
    holds = (
        mk.restriction("temporary_hold", ends_at=ny(3, 5, 12)),
        mk.restriction("temporary_hold", starts_at=ny(3, 4, 0), ends_at=ny(3, 9, 12)),
    )
    decision = evaluate(mk.snapshot(restrictions=holds), channel=Channel.CALL, at=ny(3, 4, 12))
    assert decision.reasons[0].until == ny(3, 9, 12)
    assert decision.next_allowed_at == ny(3, 9, 12)


def test_a_hold_starting_in_the_future_pushes_the_next_allowed_instant(mk):
    # 22:00 on the 3rd: the window reopens at 08:00 on the 4th, but a hold covers the 4th and the 5th.
    hold = mk.restriction("temporary_hold", starts_at=ny(3, 4, 0), ends_at=ny(3, 6, 0))
    decision = evaluate(mk.snapshot(restrictions=(hold,)), channel=Channel.CALL, at=ny(3, 3, 22))
    assert mk.codes(decision) == {ReasonCode.OUTSIDE_CONTACT_HOURS}
    assert decision.next_allowed_at == ny(3, 6, 8)


def test_an_open_ended_restriction_starting_before_the_window_reopens_means_no_known_time(mk):
    cease = mk.restriction("cease_communication", starts_at=ny(3, 4, 7))
    decision = evaluate(mk.snapshot(restrictions=(cease,)), channel=Channel.CALL, at=ny(3, 3, 22))
    assert mk.codes(decision) == {ReasonCode.OUTSIDE_CONTACT_HOURS}
    assert decision.next_allowed_at is None


def test_a_consent_expiring_before_the_window_reopens_means_no_known_time(mk):
    snap = mk.snapshot(consents=(mk.consent(expires_at=ny(3, 4, 6)),))
    decision = evaluate(snap, channel=Channel.CALL, at=ny(3, 3, 22))
    assert decision.next_allowed_at is None


def test_any_blocker_that_is_not_time_based_makes_it_none(mk):
    hold = mk.restriction("temporary_hold", ends_at=ny(3, 5, 12))
    snap = mk.snapshot(restrictions=(hold,), number=mk.number(status="wrong_number"))
    decision = evaluate(snap, channel=Channel.CALL, at=ny(3, 3, 22))
    assert mk.codes(decision) == {
        ReasonCode.OUTSIDE_CONTACT_HOURS,
        ReasonCode.TEMPORARY_HOLD,
        ReasonCode.WRONG_NUMBER,
    }
    assert decision.next_allowed_at is None
    # The time-based ones still say when they lift on their own.
    until = {r.code: r.until for r in decision.reasons}
    assert until[ReasonCode.OUTSIDE_CONTACT_HOURS] == ny(3, 4, 8)
    assert until[ReasonCode.TEMPORARY_HOLD] == ny(3, 5, 12)
    assert until[ReasonCode.WRONG_NUMBER] is None


def test_every_reason_is_listed_not_only_the_first(mk):
    snap = mk.snapshot(consents=(), restrictions=(mk.restriction("cease_communication"),))
    decision = evaluate(snap, channel=Channel.CALL, at=ny(3, 3, 23))
    assert mk.codes(decision) == {
        ReasonCode.NO_CONSENT,
        ReasonCode.OUTSIDE_CONTACT_HOURS,
        ReasonCode.CEASE_COMMUNICATION,
    }
    assert not decision.allowed
    assert decision.next_allowed_at is None


def test_holiday_cap_and_window_combine(mk):
    # Six attempts today on the CN policy, tomorrow is a holiday: the earliest is the day after at 08:00.
    shanghai = ZoneInfo("Asia/Shanghai")
    at = datetime(2027, 3, 3, 20, 0, tzinfo=shanghai)
    attempts = tuple(mk.attempt(at - timedelta(hours=k + 1)) for k in range(6))
    policy = mk.policy("CN", holidays_blocked=True, holidays=frozenset({date(2027, 3, 4)}))
    decision = evaluate(mk.cn_snapshot(policy=policy, attempts=attempts), channel=Channel.CALL, at=at)
    assert mk.codes(decision) == {ReasonCode.DAILY_ATTEMPT_LIMIT}
    assert decision.next_allowed_at == datetime(2027, 3, 5, 8, 0, tzinfo=shanghai)


def test_next_allowed_at_is_a_whole_minute_in_utc(mk):
    decision = evaluate(mk.snapshot(), channel=Channel.CALL, at=ny(3, 3, 7, 59, 59))
    assert decision.next_allowed_at == ny(3, 3, 8)
    assert decision.next_allowed_at.tzinfo is UTC
    assert decision.next_allowed_at.second == 0 and decision.next_allowed_at.microsecond == 0


def test_the_next_allowed_instant_is_itself_allowed(mk):
    snap = mk.snapshot(
        attempts=(mk.attempt(ny(3, 1, 11), outcome=Outcome.CONVERSATION),),
        restrictions=(mk.restriction("temporary_hold", ends_at=ny(3, 8, 9, 15, 10)),),
        inconvenient_times=(mk.inconvenient({0}, "09:00", "12:00"),),
    )
    decision = evaluate(snap, channel=Channel.CALL, at=ny(3, 3, 12))
    assert decision.next_allowed_at == ny(3, 8, 12)  # Monday: cooldown over, hold over, inconvenient until noon
    assert evaluate(snap, channel=Channel.CALL, at=decision.next_allowed_at).allowed
