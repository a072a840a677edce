"""Candidate zones, window intersection, DST days, windows ending at or crossing midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from collections_app.policy import (
    Channel,
    ReasonCode,
    candidate_zones,
    evaluate,
    local_day,
    primary_zone,
    window_contains,
    window_opening_zones,
)

NY = ZoneInfo("America/New_York")
DENVER = ZoneInfo("America/Denver")


def _denver_borrower_on_a_new_york_number(mk):
    return mk.snapshot(borrower_timezone="America/Denver", number=mk.number(zones=("America/New_York",)))


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(8, 0, False), (9, 59, False), (10, 0, True), (15, 0, True), (20, 59, True), (21, 0, False)],
)
def test_a_denver_borrower_on_a_new_york_number_may_be_called_10_to_21_eastern_only(mk, hour, minute, allowed):
    snap = _denver_borrower_on_a_new_york_number(mk)
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, hour, minute, tzinfo=NY))
    assert decision.allowed is allowed
    assert decision.zones == ("America/Denver", "America/New_York")


def test_before_10_eastern_the_denver_borrower_is_called_at_10_eastern(mk):
    snap = _denver_borrower_on_a_new_york_number(mk)
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 9, 0, tzinfo=NY))
    assert decision.next_allowed_at == datetime(2027, 3, 3, 10, 0, tzinfo=NY)
    assert decision.local_times["America/Denver"] == datetime(2027, 3, 3, 7, 0, tzinfo=DENVER)
    assert decision.local_times["America/Denver"].hour == 7
    # The message names the place and its clock (the desk's borrower clock), never the zone's key.
    message = str(decision.reasons[0].message)
    assert "Denver" in message and "07:00 (UTC−07:00)" in message and "America/Denver" not in message


def test_the_zone_whose_window_opens_last_sets_the_next_allowed_time(mk):
    """The desk says which zone binds: for a Denver borrower on a New York number, 10:00 Eastern is 08:00 in
    Denver, when Denver's window opens (New York's has been open for two hours)."""
    snap = _denver_borrower_on_a_new_york_number(mk)
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 9, 0, tzinfo=NY))
    assert window_opening_zones(snap, decision.next_allowed_at) == ("America/Denver",)
    # A New York borrower on a Denver number: the number's zone, not the address's, binds.
    swapped = mk.snapshot(borrower_timezone="America/New_York", number=mk.number(zones=("America/Denver",)))
    decision = evaluate(swapped, channel=Channel.CALL, at=datetime(2027, 3, 3, 9, 0, tzinfo=NY))
    assert window_opening_zones(swapped, decision.next_allowed_at) == ("America/Denver",)


def test_no_zone_binds_when_another_rule_sets_the_next_allowed_time(mk):
    hold = mk.restriction("temporary_hold", starts_at=datetime(2027, 3, 1, tzinfo=UTC),
                          ends_at=datetime(2027, 3, 3, 12, 0, tzinfo=NY))
    snap = mk.snapshot(restrictions=(hold,))
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 11, 0, tzinfo=NY))
    assert decision.next_allowed_at == datetime(2027, 3, 3, 12, 0, tzinfo=NY)
    assert window_opening_zones(snap, decision.next_allowed_at) == ()


def test_after_21_eastern_the_denver_borrower_waits_for_the_next_day_10_eastern(mk):
    snap = _denver_borrower_on_a_new_york_number(mk)
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 21, 30, tzinfo=NY))
    assert decision.next_allowed_at == datetime(2027, 3, 4, 10, 0, tzinfo=NY)


def test_candidate_zones_ignore_unknown_and_invalid_zones_and_keep_the_borrowers_first(mk):
    snap = mk.snapshot(
        borrower_timezone="Mars/Olympus_Mons",
        number=mk.number(zones=("Etc/Unknown", "America/Chicago", "America/New_York", "America/Chicago")),
    )
    assert candidate_zones(snap) == ("America/Chicago", "America/New_York")
    assert primary_zone(snap) == "America/Chicago"
    snap = mk.snapshot(borrower_timezone="America/Denver", number=mk.number(zones=("America/New_York",)))
    assert primary_zone(snap) == "America/Denver"


def test_without_any_zone_the_policy_default_zone_is_used(mk):
    snap = mk.snapshot(borrower_timezone=None, number=mk.number(zones=("Etc/Unknown",)))
    assert candidate_zones(snap) == ("America/New_York",)


def test_local_day_is_the_borrowers_calendar_date(mk):
    snap = mk.snapshot(borrower_timezone="America/Los_Angeles")
    assert local_day(snap, datetime(2027, 3, 4, 6, 0, tzinfo=UTC)) == date(2027, 3, 3)
    with pytest.raises(ValueError):
        local_day(snap, datetime(2027, 3, 4, 6, 0))


def test_an_instant_given_in_any_zone_is_the_same_instant(mk):
    at_tokyo = datetime(2027, 3, 4, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 3 March 12:00 New York
    assert evaluate(mk.snapshot(), channel=Channel.CALL, at=at_tokyo).allowed


# --- DST: 2027-03-14 (spring forward) and 2027-11-07 (fall back) in the US ------------------------------------


@pytest.mark.parametrize(
    ("day", "opens_utc", "closes_utc"),
    [
        (date(2027, 3, 13), datetime(2027, 3, 13, 13, 0, tzinfo=UTC), datetime(2027, 3, 14, 2, 0, tzinfo=UTC)),
        (date(2027, 3, 14), datetime(2027, 3, 14, 12, 0, tzinfo=UTC), datetime(2027, 3, 15, 1, 0, tzinfo=UTC)),
        (date(2027, 11, 6), datetime(2027, 11, 6, 12, 0, tzinfo=UTC), datetime(2027, 11, 7, 1, 0, tzinfo=UTC)),
        (date(2027, 11, 7), datetime(2027, 11, 7, 13, 0, tzinfo=UTC), datetime(2027, 11, 8, 2, 0, tzinfo=UTC)),
    ],
)
def test_the_window_boundaries_are_right_in_utc_around_us_dst_changes(mk, day, opens_utc, closes_utc):
    snap = mk.snapshot()
    minute = timedelta(minutes=1)
    assert not evaluate(snap, channel=Channel.CALL, at=opens_utc - minute).allowed
    assert evaluate(snap, channel=Channel.CALL, at=opens_utc).allowed
    assert evaluate(snap, channel=Channel.CALL, at=closes_utc - minute).allowed
    assert not evaluate(snap, channel=Channel.CALL, at=closes_utc).allowed
    # From the middle of the night before, the next allowed instant is that day's opening.
    night = datetime.combine(day, time(3, 30), tzinfo=UTC)
    assert evaluate(snap, channel=Channel.CALL, at=night).next_allowed_at == opens_utc


def test_a_window_opening_inside_the_spring_forward_gap_opens_when_the_clock_jumps(mk):
    # 02:30 does not exist on 14 March 2027 in New York; the first local time after it is 03:00 EDT (07:00 UTC).
    windows = mk.every_day("02:30", "05:00")
    snap = mk.snapshot(policy=mk.policy("US", windows=windows))
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 14, 1, 59, tzinfo=NY))
    assert decision.next_allowed_at == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)
    assert evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 14, 7, 0, tzinfo=UTC)).allowed
    assert not evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 14, 6, 59, tzinfo=UTC)).allowed


def test_a_window_opening_in_the_repeated_hour_judges_each_instant_by_its_wall_clock(mk):
    # 7 November 2027: 01:00-02:00 happens twice in New York (EDT, then EST).
    snap = mk.snapshot(policy=mk.policy("US", windows=mk.every_day("01:30", "05:00")))
    first_0145 = datetime(2027, 11, 7, 5, 45, tzinfo=UTC)  # 01:45 EDT
    second_0115 = datetime(2027, 11, 7, 6, 15, tzinfo=UTC)  # 01:15 EST
    assert evaluate(snap, channel=Channel.CALL, at=first_0145).allowed
    decision = evaluate(snap, channel=Channel.CALL, at=second_0115)
    assert not decision.allowed
    assert decision.next_allowed_at == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # 01:30 EST


def test_a_window_that_closes_in_the_repeated_hour_reopens_when_the_clock_falls_back(mk):
    # 00:00-01:30: at 01:59 EDT it is closed, at 02:00 EDT the clock reads 01:00 EST, inside again.
    snap = mk.snapshot(policy=mk.policy("US", windows=mk.every_day("00:00", "01:30")))
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 11, 7, 5, 40, tzinfo=UTC))  # 01:40 EDT
    assert decision.next_allowed_at == datetime(2027, 11, 7, 6, 0, tzinfo=UTC)  # 01:00 EST


# --- windows across and up to midnight -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(19, 59, False), (20, 0, True), (23, 59, True), (0, 0, True), (1, 59, True), (2, 0, False), (3, 0, False)],
)
def test_a_window_crossing_midnight(mk, hour, minute, allowed):
    snap = mk.snapshot(policy=mk.policy("US", windows=mk.every_day("20:00", "02:00")))
    assert evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, hour, minute, tzinfo=NY)).allowed is allowed


def test_after_a_crossing_window_closes_the_next_opening_is_that_evening(mk):
    snap = mk.snapshot(policy=mk.policy("US", windows=mk.every_day("20:00", "02:00")))
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 3, 0, tzinfo=NY))
    assert decision.next_allowed_at == datetime(2027, 3, 3, 20, 0, tzinfo=NY)


def test_the_part_after_midnight_belongs_to_the_previous_days_window(mk):
    # Friday 20:00-02:00, nothing on Saturday and Sunday: Saturday 01:00 is Friday night, Sunday 01:00 is not.
    windows = (None, None, None, None, mk.hours("20:00", "02:00"), None, None)
    snap = mk.snapshot(policy=mk.policy("US", windows=windows))
    saturday_0100 = datetime(2027, 3, 6, 1, 0, tzinfo=NY)
    sunday_0100 = datetime(2027, 3, 7, 1, 0, tzinfo=NY)
    assert evaluate(snap, channel=Channel.CALL, at=saturday_0100).allowed
    decision = evaluate(snap, channel=Channel.CALL, at=sunday_0100)
    assert not decision.allowed
    assert decision.next_allowed_at == datetime(2027, 3, 12, 20, 0, tzinfo=NY)  # next Friday


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(17, 59, False), (18, 0, True), (23, 59, True), (0, 0, False), (0, 30, False)],
)
def test_a_window_ending_at_midnight(mk, hour, minute, allowed):
    snap = mk.snapshot(policy=mk.policy("US", windows=mk.every_day("18:00", "00:00")))
    assert evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, hour, minute, tzinfo=NY)).allowed is allowed


def test_a_00_00_to_00_00_window_is_the_whole_day(mk):
    snap = mk.snapshot(policy=mk.policy("US", windows=mk.every_day("00:00", "00:00")))
    for hour in range(24):
        assert evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, hour, 0, tzinfo=NY)).allowed


def test_a_weekday_without_a_window_allows_no_contact(mk):
    # Canada-style: weekdays 09:00-21:30, Saturday 10:00-18:00, no Sunday.
    windows = (*[mk.hours("09:00", "21:30")] * 5, mk.hours("10:00", "18:00"), None)
    snap = mk.snapshot(policy=mk.policy("US", windows=windows))
    sunday = datetime(2027, 3, 7, 12, 0, tzinfo=NY)
    decision = evaluate(snap, channel=Channel.CALL, at=sunday)
    assert mk.codes(decision) == {ReasonCode.OUTSIDE_CONTACT_HOURS}
    assert decision.next_allowed_at == datetime(2027, 3, 8, 9, 0, tzinfo=NY)
    assert evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 6, 17, 59, tzinfo=NY)).allowed
    assert not evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 6, 18, 0, tzinfo=NY)).allowed


def test_a_policy_without_any_window_never_allows_contact_and_names_no_time(mk):
    snap = mk.snapshot(policy=mk.policy("US", windows=(None,) * 7))
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 12, 0, tzinfo=NY))
    assert mk.codes(decision) == {ReasonCode.OUTSIDE_CONTACT_HOURS}
    assert decision.reasons[0].until is None
    assert decision.next_allowed_at is None


def test_zones_whose_windows_never_overlap_give_no_next_allowed_time(mk):
    snap = mk.snapshot(
        policy=mk.policy("US", windows=mk.every_day("08:00", "10:00")),
        borrower_timezone="Asia/Shanghai",
        number=mk.number(zones=("America/New_York",)),
    )
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 9, 0, tzinfo=NY))
    assert mk.codes(decision) == {ReasonCode.OUTSIDE_CONTACT_HOURS}
    assert decision.next_allowed_at is None


# --- the 3 a.m. call -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", range(1, 8))
def test_no_preset_ever_allows_a_call_at_03_00(mk, day):
    for code, zone in (("CN", "Asia/Shanghai"), ("US", "America/New_York"), ("UK", "Europe/London")):
        snap = mk.snapshot(policy=mk.policy(code), borrower_timezone=zone, number=mk.number(zones=(zone,)))
        at = datetime(2027, 3, day, 3, 0, tzinfo=ZoneInfo(zone))
        assert mk.codes(evaluate(snap, channel=Channel.CALL, at=at)) == {ReasonCode.OUTSIDE_CONTACT_HOURS}


def test_quiet_hours_written_as_22_00_to_08_00_block_03_00(mk):
    # The misconfiguration peers shipped: quiet hours 22:00-08:00 compared as start <= t < end never match.
    quiet = mk.inconvenient(set(range(7)), "22:00", "08:00")
    snap = mk.snapshot(policy=mk.policy("US", windows=mk.every_day("00:00", "00:00")), inconvenient_times=(quiet,))
    for hour in (22, 23, 0, 3, 7):
        at = datetime(2027, 3, 3, hour, 0, tzinfo=NY)
        assert mk.codes(evaluate(snap, channel=Channel.CALL, at=at)) == {ReasonCode.INCONVENIENT_TIME}, hour
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 3, 0, tzinfo=NY))
    assert decision.next_allowed_at == datetime(2027, 3, 3, 8, 0, tzinfo=NY)
    assert evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 8, 0, tzinfo=NY)).allowed


def test_window_contains_helper_reads_a_local_wall_clock(mk):
    windows = mk.every_day("22:00", "08:00")
    assert window_contains(windows, datetime(2027, 3, 3, 3, 0))
    assert not window_contains(mk.every_day("08:00", "22:00"), datetime(2027, 3, 3, 3, 0))
