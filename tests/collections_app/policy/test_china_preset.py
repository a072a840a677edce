"""CN preset: CBA 2026 guideline (08:00-22:00, 6 attempts per number per day), GB/T 45251-2025 (3 conversations)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collections_app.policy import Channel, Outcome, ReasonCode, evaluate

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=SHANGHAI)


def _two_numbers(mk, attempts=()):
    """The borrower's two consented numbers; returns a snapshot factory per number."""

    def for_number(number_id: int):
        return mk.cn_snapshot(
            number=mk.number(number_id, zones=("Asia/Shanghai",), e164=f"+861380013800{number_id}"),
            consents=(mk.consent(number_id),),
            attempts=attempts,
        )

    return for_number


def test_six_unanswered_attempts_on_one_number_block_a_seventh_that_day(mk):
    attempts = tuple(mk.attempt(sh(3, 9) + timedelta(minutes=20 * k)) for k in range(6))
    snap_for = _two_numbers(mk, attempts)
    decision = evaluate(snap_for(mk.BORROWER_NUMBER), channel=Channel.CALL, at=sh(3, 15))
    assert mk.codes(decision) == {ReasonCode.DAILY_ATTEMPT_LIMIT}
    assert decision.reasons[0].until == sh(4, 0)
    assert decision.next_allowed_at == sh(4, 8)
    assert "6" in decision.reasons[0].rule


def test_the_borrowers_other_consented_number_stays_open_after_six_attempts_on_the_first(mk):
    attempts = tuple(mk.attempt(sh(3, 9) + timedelta(minutes=20 * k)) for k in range(6))
    snap_for = _two_numbers(mk, attempts)
    assert evaluate(snap_for(mk.OTHER_BORROWER_NUMBER), channel=Channel.CALL, at=sh(3, 15)).allowed


def test_five_attempts_leave_a_sixth(mk):
    attempts = tuple(mk.attempt(sh(3, 9) + timedelta(minutes=20 * k)) for k in range(5))
    assert evaluate(_two_numbers(mk, attempts)(mk.BORROWER_NUMBER), channel=Channel.CALL, at=sh(3, 15)).allowed


def test_failed_connections_count_toward_the_cn_daily_cap(mk):
    attempts = tuple(mk.attempt(sh(3, 9) + timedelta(minutes=k), outcome=Outcome.NOT_CONNECTED) for k in range(6))
    decision = evaluate(_two_numbers(mk, attempts)(mk.BORROWER_NUMBER), channel=Channel.CALL, at=sh(3, 15))
    assert mk.codes(decision) == {ReasonCode.DAILY_ATTEMPT_LIMIT}


def test_the_daily_cap_uses_the_borrowers_calendar_day_not_utcs(mk):
    # 23:30 UTC on 2 March is 07:30 on 3 March in Shanghai: those six attempts were made "today" locally.
    attempts = tuple(mk.attempt(datetime(2027, 3, 2, 23, 30, tzinfo=UTC) + timedelta(minutes=k)) for k in range(6))
    decision = evaluate(_two_numbers(mk, attempts)(mk.BORROWER_NUMBER), channel=Channel.CALL, at=sh(3, 9))
    assert mk.codes(decision) == {ReasonCode.DAILY_ATTEMPT_LIMIT}
    # ...and six attempts on 2 March local (before 16:00 UTC) no longer count on 3 March.
    earlier = tuple(mk.attempt(datetime(2027, 3, 2, 15, 0, tzinfo=UTC) + timedelta(minutes=k)) for k in range(6))
    assert evaluate(_two_numbers(mk, earlier)(mk.BORROWER_NUMBER), channel=Channel.CALL, at=sh(3, 9)).allowed


def test_three_conversations_a_day_block_a_fourth_call_on_any_number(mk):
    attempts = tuple(mk.attempt(sh(3, 9 + k), outcome=Outcome.CONVERSATION, number_id=1 + k % 2) for k in range(3))
    decision = evaluate(_two_numbers(mk, attempts)(mk.OTHER_BORROWER_NUMBER), channel=Channel.CALL, at=sh(3, 15))
    assert mk.codes(decision) == {ReasonCode.DAILY_CONVERSATION_LIMIT}
    assert "unverified" in decision.reasons[0].rule
    assert decision.next_allowed_at == sh(4, 8)


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(7, 59, False), (8, 0, True), (12, 0, True), (21, 59, True), (22, 0, False), (3, 0, False), (0, 0, False)],
)
def test_the_cn_window_is_08_00_to_22_00_shanghai(mk, hour, minute, allowed):
    decision = evaluate(mk.cn_snapshot(), channel=Channel.CALL, at=sh(3, hour, minute))
    assert decision.allowed is allowed
    if not allowed:
        assert mk.codes(decision) == {ReasonCode.OUTSIDE_CONTACT_HOURS}


def test_a_call_at_22_30_may_be_made_the_next_day_at_08_00(mk):
    decision = evaluate(mk.cn_snapshot(), channel=Channel.CALL, at=sh(3, 22, 30))
    assert decision.next_allowed_at == sh(4, 8)
    assert decision.reasons[0].until == sh(4, 8)


def test_a_call_at_07_59_may_be_made_a_minute_later(mk):
    assert evaluate(mk.cn_snapshot(), channel=Channel.CALL, at=sh(3, 7, 59)).next_allowed_at == sh(3, 8)


def test_quiet_hours_are_the_borrowers_not_utcs(mk):
    # 01:00 UTC is 09:00 in Shanghai (allowed); 15:00 UTC is 23:00 in Shanghai (blocked).
    snap = mk.cn_snapshot()
    assert evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 1, 0, tzinfo=UTC)).allowed
    late = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 15, 0, tzinfo=UTC))
    assert mk.codes(late) == {ReasonCode.OUTSIDE_CONTACT_HOURS}
    assert late.local_times["Asia/Shanghai"].hour == 23


def test_a_number_without_a_known_zone_falls_back_to_the_jurisdiction_zone(mk):
    snap = mk.cn_snapshot(borrower_timezone=None, number=mk.number(zones=("Etc/Unknown",)))
    decision = evaluate(snap, channel=Channel.CALL, at=sh(3, 7, 30))
    assert decision.zones == ("Asia/Shanghai",)
    assert mk.codes(decision) == {ReasonCode.OUTSIDE_CONTACT_HOURS}
