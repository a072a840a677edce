"""The decision says how many more calls each cap allows (`Decision.remaining`), counted as the cap rules count,
so the desk shows "attempts left today" without re-deriving a rule."""

from __future__ import annotations

from datetime import timedelta

from collections_app.policy import Channel, Outcome, evaluate


def test_the_cn_caps_left_today_count_down_to_the_block(mk):
    at = mk.sh(2027, 3, 3, 15, 0)
    attempts = tuple(mk.attempt(at - timedelta(hours=h)) for h in (1, 2))
    snapshot = mk.cn_snapshot(attempts=attempts)
    decision = evaluate(snapshot, channel=Channel.CALL, at=at)
    assert decision.allowed and dict(decision.remaining) == {"daily_attempts": 4, "daily_conversations": 3}
    six = tuple(mk.attempt(at - timedelta(minutes=10 * m)) for m in range(1, 7))
    blocked = evaluate(mk.cn_snapshot(attempts=six), channel=Channel.CALL, at=at)
    assert [r.code for r in blocked.reasons] == ["DAILY_ATTEMPT_LIMIT"] and blocked.remaining["daily_attempts"] == 0
    # Yesterday's attempts do not count today; a conversation counts toward the borrower's conversations.
    talked = evaluate(mk.cn_snapshot(attempts=(mk.attempt(at - timedelta(days=1)),
                                               mk.attempt(at - timedelta(hours=1), outcome=Outcome.CONVERSATION))),
                      channel=Channel.CALL, at=at)
    assert dict(talked.remaining) == {"daily_attempts": 5, "daily_conversations": 2}


def test_the_us_rolling_cap_counts_the_last_seven_local_days_and_sms_has_no_caps(mk):
    at = mk.ny(2027, 3, 10, 12, 0)
    attempts = tuple(mk.attempt(at - timedelta(days=d)) for d in (1, 2, 8))  # the 8-days-old one is out
    snapshot = mk.snapshot(attempts=attempts)
    assert dict(evaluate(snapshot, channel=Channel.CALL, at=at).remaining) == {"rolling_attempts": 5}
    assert dict(evaluate(snapshot, channel=Channel.SMS, at=at).remaining) == {}
