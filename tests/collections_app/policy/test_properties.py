"""Property tests: random instants, windows, zone sets and time-based blockers.

The window check here is an independent reference (minutes since midnight), not the engine's own helper.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collections_app.policy import TIME_BASED_CODES, Channel, InconvenientTime, Outcome, evaluate

# Zones with awkward offsets and DST rules: half/quarter hours, southern hemisphere, a 30-minute DST shift,
# no DST at all, and a DST change at midnight.
ZONES = [
    "America/New_York",
    "America/Denver",
    "America/Los_Angeles",
    "America/Phoenix",
    "America/Santiago",
    "America/St_Johns",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Shanghai",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Chatham",
    "Asia/Tehran",
]

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))
clock_times = st.integers(min_value=0, max_value=24 * 4 - 1).map(lambda q: time(q // 4, 15 * (q % 4)))
windows_strategy = st.lists(st.one_of(st.none(), st.tuples(clock_times, clock_times)), min_size=7, max_size=7).map(
    tuple
)
zone_sets = st.tuples(st.one_of(st.none(), st.sampled_from(ZONES)), st.lists(st.sampled_from(ZONES), max_size=3))


def reference_in_window(windows, local: datetime) -> bool:
    """Minutes-since-midnight reference: [start, end), end 00:00 = 1440, start > end wraps into the next day."""
    minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    today, yesterday = windows[local.weekday()], windows[(local.weekday() - 1) % 7]

    def bounds(w):
        s = w[0].hour * 60 + w[0].minute
        e = w[1].hour * 60 + w[1].minute
        return s, (1440 if e == 0 else e)

    if today is not None:
        s, e = bounds(today)
        if s < e and s <= minute < e:
            return True
        if s > e and minute >= s:
            return True
    if yesterday is not None:
        s, e = bounds(yesterday)
        if s > e and minute < e:
            return True
    return False


def _snapshot(mk, windows, zones, **kw):
    borrower_zone, number_zones = zones
    return mk.snapshot(
        policy=mk.policy("US", windows=windows, rolling_attempt_cap=None, conversation_cooldown_days=None),
        borrower_timezone=borrower_zone,
        number=mk.number(zones=tuple(number_zones)),
        due_date=date(2020, 1, 1),
        **kw,
    )


@PROPERTY_SETTINGS
@given(at=instants, windows=windows_strategy, zones=zone_sets)
def test_an_allowed_decision_is_inside_the_window_in_every_candidate_zone(mk, at, windows, zones):
    decision = evaluate(_snapshot(mk, windows, zones), channel=Channel.CALL, at=at)
    for key in decision.zones:
        local = at.astimezone(ZoneInfo(key))
        inside = reference_in_window(windows, local)
        if decision.allowed:
            assert inside, (key, local)
    # And the converse: blocked only because some zone is outside.
    if not decision.allowed:
        assert not all(reference_in_window(windows, at.astimezone(ZoneInfo(k))) for k in decision.zones)


@PROPERTY_SETTINGS
@given(at=instants, windows=windows_strategy, zones=zone_sets)
def test_next_allowed_at_is_allowed_later_and_the_minute_before_it_is_not(mk, at, windows, zones):
    snap = _snapshot(mk, windows, zones)
    decision = evaluate(snap, channel=Channel.CALL, at=at)
    nxt = decision.next_allowed_at
    if decision.allowed or nxt is None:
        return
    assert nxt >= at
    assert nxt.second == 0 and nxt.microsecond == 0
    assert evaluate(snap, channel=Channel.CALL, at=nxt).allowed
    previous = nxt - timedelta(minutes=1)
    if previous >= at:
        assert not evaluate(snap, channel=Channel.CALL, at=previous).allowed


attempt_offsets = st.tuples(
    st.integers(min_value=0, max_value=8 * 1440),  # minutes before `at`
    st.sampled_from([Outcome.NO_ANSWER, Outcome.NOT_CONNECTED, Outcome.CONVERSATION, None]),
)
time_based_situations = st.tuples(
    instants,
    windows_strategy,
    zone_sets,
    st.lists(attempt_offsets, max_size=10),
    # temporary hold: (start offset from `at`, length) in minutes
    st.one_of(st.none(), st.tuples(st.integers(-3 * 1440, 3 * 1440), st.integers(1, 10 * 1440))),
    st.one_of(st.none(), st.tuples(st.frozensets(st.integers(0, 6), min_size=1), clock_times, clock_times)),
    st.frozensets(st.integers(-1, 5), max_size=3),  # holidays, days from `at`'s UTC date
    st.tuples(st.sampled_from([None, 2, 6]), st.sampled_from([None, 3, 7]), st.sampled_from([None, 7])),
)


@PROPERTY_SETTINGS
@given(situation=time_based_situations)
def test_next_allowed_at_clears_every_time_based_rule(mk, situation):
    at, windows, zones, attempts, hold, inconvenient, holiday_offsets, caps = situation
    daily_cap, rolling_cap, cooldown = caps
    at_day = at.date()
    policy = mk.policy(
        "US",
        windows=windows,
        daily_attempt_cap=daily_cap,
        rolling_attempt_cap=rolling_cap,
        conversation_cooldown_days=cooldown,
        holidays_blocked=True,
        holidays=frozenset(at_day + timedelta(days=k) for k in holiday_offsets),
    )
    restrictions = ()
    if hold is not None:
        start = at + timedelta(minutes=hold[0])
        restrictions = (mk.restriction("temporary_hold", starts_at=start, ends_at=start + timedelta(minutes=hold[1])),)
    inconvenient_times = () if inconvenient is None else (InconvenientTime(*inconvenient),)
    borrower_zone, number_zones = zones
    snap = mk.snapshot(
        policy=policy,
        borrower_timezone=borrower_zone,
        number=mk.number(zones=tuple(number_zones)),
        restrictions=restrictions,
        inconvenient_times=inconvenient_times,
        attempts=tuple(mk.attempt(at - timedelta(minutes=back), outcome=outcome) for back, outcome in attempts),
        due_date=date(2020, 1, 1),
    )
    decision = evaluate(snap, channel=Channel.CALL, at=at)
    assert {r.code for r in decision.reasons} <= TIME_BASED_CODES
    for reason in decision.reasons:
        if reason.until is not None:
            assert reason.until > at
    nxt = decision.next_allowed_at
    if decision.allowed or nxt is None:
        return
    assert nxt >= at
    assert nxt.second == 0 and nxt.microsecond == 0
    assert nxt >= max(r.until for r in decision.reasons if r.until is not None)
    later = evaluate(snap, channel=Channel.CALL, at=nxt)
    assert not ({r.code for r in later.reasons} & TIME_BASED_CODES)
    assert later.allowed
