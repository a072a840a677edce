"""Time zones and wall-clock arithmetic of the contact policy engine.

The zones a decision is made in (``candidate_zones``), weekday spans of wall-clock time (contact windows, declared
inconvenient times) and the DST-safe search for the earliest instant at which wall-clock predicates hold.

Conventions that keep the time arithmetic correct:
- All instants are handled in UTC internally. Aware datetimes sharing a ZoneInfo compare and subtract by wall
  clock, not by instant (a classic DST bug), so a local datetime is only ever produced to *read* its wall clock.
- A rule tests the wall clock of an instant (``_in_spans``); the search for the next allowed instant only proposes
  candidate instants (wall-clock boundaries in both DST folds, UTC-offset transitions) and keeps the first one the
  rule itself accepts. Nonexistent and repeated local times therefore need no special casing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .types import InconvenientTime, Snapshot, Window

_MIDNIGHT = time(0, 0)
_DAY = timedelta(days=1)
# How far ahead a wall-clock search looks before declaring "never" (a year and a week: every weekday pattern and
# both DST changes are seen).
_SEARCH_HORIZON = timedelta(days=371)
_SEARCH_CHUNK = timedelta(days=7)

# "Etc/Unknown" is what phonenumbers answers when it does not know the zone of a number (DESIGN.md, traps).
_UNKNOWN_ZONES = frozenset({"Etc/Unknown", ""})


# --------------------------------------------------------------------------------------------------------------
# Zones
# --------------------------------------------------------------------------------------------------------------


def _zone_or_none(key: str | None) -> ZoneInfo | None:
    if not key or key in _UNKNOWN_ZONES:
        return None
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        # Bad data from an address lookup or phonenumbers must not crash the worklist; it simply is not a zone.
        return None


def candidate_zones(snapshot: Snapshot) -> tuple[str, ...]:
    """The borrower's zone and every valid zone of the dialed number, borrower's first; else the policy default.

    Reg F 1006.6(b)(1)(i) (convenient in every possible location when it is uncertain) and DESIGN.md.
    """
    keys: list[str] = []
    for key in (snapshot.borrower_timezone, *snapshot.number.zones):
        if key is not None and key not in keys and _zone_or_none(key) is not None:
            keys.append(key)
    if not keys:
        default = snapshot.policy.default_timezone
        if _zone_or_none(default) is None:
            raise ValueError(f"policy {snapshot.policy.code} has an invalid default_timezone {default!r}")
        keys.append(default)
    return tuple(keys)


def primary_zone(snapshot: Snapshot) -> str:
    """The zone whose calendar defines the borrower's "local day" (caps, cooldown, holidays, days past due)."""
    return candidate_zones(snapshot)[0]


def local_day(snapshot: Snapshot, at: datetime) -> date:
    """The borrower-local calendar date of the instant ``at`` (aware)."""
    _require_aware(at)
    return at.astimezone(ZoneInfo(primary_zone(snapshot))).date()


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("`at` must be a timezone-aware datetime")


# --------------------------------------------------------------------------------------------------------------
# Wall-clock spans (contact windows, declared inconvenient times)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    """[start, end) local on each weekday in ``weekdays``; end 00:00 = end of day; start > end crosses midnight."""

    weekdays: frozenset[int]
    start: time
    end: time


def _span(weekdays: Iterable[int], start: time, end: time) -> _Span | None:
    start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    if start == end and end != _MIDNIGHT:
        return None  # zero-length: never open (00:00-00:00 on the other hand is the whole day)
    return _Span(frozenset(weekdays), start, end)


def _in_spans(spans: Iterable[_Span], local: datetime) -> bool:
    """Whether the wall clock of ``local`` falls in one of the spans.

    The part after midnight of a crossing span belongs to the previous day's entry: with Friday 20:00-02:00, Saturday
    01:00 is open because *Friday* is in the span, whatever Saturday's own entry says. Getting this wrong is how
    peers allowed 3 a.m. calls (RULES.md, "lessons").
    """
    weekday = local.weekday()
    previous = (weekday - 1) % 7
    clock = local.time()
    for span in spans:
        crosses = span.end != _MIDNIGHT and span.start > span.end
        if crosses:
            if weekday in span.weekdays and clock >= span.start:
                return True
            if previous in span.weekdays and clock < span.end:
                return True
        elif span.end == _MIDNIGHT:
            if weekday in span.weekdays and clock >= span.start:
                return True
        elif weekday in span.weekdays and span.start <= clock < span.end:
            return True
    return False


def _window_spans(windows: Iterable[Window | None]) -> tuple[_Span, ...]:
    spans = []
    for weekday, window in enumerate(windows):
        if window is not None:
            span = _span((weekday,), window[0], window[1])
            if span is not None:
                spans.append(span)
    return tuple(spans)


def _inconvenient_spans(declared: Iterable[InconvenientTime]) -> tuple[_Span, ...]:
    spans = []
    for item in declared:
        span = _span(item.weekdays, item.start, item.end)
        if span is not None and span.weekdays:
            spans.append(span)
    return tuple(spans)


def _opening_bounds(spans: Iterable[_Span]) -> frozenset[time]:
    """Wall times at which "inside some span" can turn true: span starts (and midnight, a new weekday)."""
    return frozenset({_MIDNIGHT, *(span.start for span in spans)})


def _closing_bounds(spans: Iterable[_Span]) -> frozenset[time]:
    """Wall times at which "inside some span" can turn false: span ends (and midnight, a new weekday)."""
    return frozenset({_MIDNIGHT, *(span.end for span in spans)})


def window_contains(windows: Iterable[Window | None], local: datetime) -> bool:
    """Whether the local wall clock ``local`` is inside a 7-entry Monday..Sunday window table."""
    return _in_spans(_window_spans(windows), local)


def window_opening_zones(snapshot: Snapshot, at: datetime) -> tuple[str, ...]:
    """The candidate zones whose contact window opens at the instant ``at`` (closed the minute before).

    For a decision's ``next_allowed_at`` these are the zones whose window sets it: a Denver borrower on a New York
    number is first allowed at 08:00 in Denver (10:00 in New York), so Denver binds. Empty when the instant is set
    by another rule (a hold ending, a cooldown, a declared inconvenient time).
    """
    _require_aware(at)
    spans = _window_spans(snapshot.policy.windows)
    before = at - timedelta(minutes=1)
    return tuple(
        key for key in candidate_zones(snapshot)
        if _in_spans(spans, at.astimezone(ZoneInfo(key))) and not _in_spans(spans, before.astimezone(ZoneInfo(key)))
    )


def next_wall_boundary(snapshot: Snapshot, at: datetime) -> datetime:
    """The first instant after ``at`` at which a wall-clock rule could judge the number differently: a contact
    window or a declared inconvenient time opening or closing, a new local day (caps, cooldown, holidays, days
    past due) in any candidate zone, or a UTC-offset change of one. Always within about a day (every zone has a
    midnight). Conservative: nothing may change there, but nothing wall-clock changes before it."""
    _require_aware(at)
    spans = (*_window_spans(snapshot.policy.windows), *_inconvenient_spans(snapshot.inconvenient_times))
    return _next_boundary(candidate_zones(snapshot), _opening_bounds(spans) | _closing_bounds(spans),
                          at.astimezone(UTC))


@lru_cache(maxsize=4096)
def _next_boundary(zone_keys: tuple[str, ...], bounds: frozenset[time], at: datetime) -> datetime:
    """next_wall_boundary's search, by its inputs alone: a worklist build asks it for thousands of numbers at one
    instant, most of them in the same zones under the same policy."""
    found: set[datetime] = set()
    for key in zone_keys:
        found |= _candidates(ZoneInfo(key), at, at + 2 * _DAY, bounds)
    return min(candidate for candidate in found if candidate > at)


# --------------------------------------------------------------------------------------------------------------
# Instant search
# --------------------------------------------------------------------------------------------------------------


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _first_change(zone: ZoneInfo, lo: datetime, hi: datetime) -> datetime:
    """First whole-second instant in (lo, hi] whose UTC offset differs from lo's (one change in between).

    tzdata transitions fall on whole seconds, so bisecting whole seconds from a whole-second ``lo`` is exact.
    """
    lo = lo.replace(microsecond=0)
    before = _offset(zone, lo)
    low, high = 0, int((hi - lo).total_seconds())
    while high - low > 1:
        mid = (low + high) // 2
        if _offset(zone, lo + timedelta(seconds=mid)) == before:
            low = mid
        else:
            high = mid
    return lo + timedelta(seconds=high)


@lru_cache(maxsize=8192)
def _transitions_on_utc_day(zone_key: str, ordinal: int) -> tuple[datetime, ...]:
    """UTC-offset changes (DST starts/ends) during one UTC day; sampled every 6 hours, located to the second."""
    zone = ZoneInfo(zone_key)
    start = datetime.combine(date.fromordinal(ordinal), _MIDNIGHT, tzinfo=UTC)
    points = [start + timedelta(hours=6 * k) for k in range(5)]
    found = []
    for lo, hi in zip(points, points[1:], strict=False):
        if _offset(zone, lo) != _offset(zone, hi):
            change = _first_change(zone, lo, hi)
            if change < start + _DAY:
                found.append(change)
    return tuple(found)


def _transitions(zone: ZoneInfo, lo: datetime, hi: datetime) -> list[datetime]:
    out: list[datetime] = []
    for ordinal in range(lo.date().toordinal() - 1, hi.date().toordinal() + 1):
        out.extend(_transitions_on_utc_day(str(zone.key), ordinal))
    return out


def _wall_instants(zone: ZoneInfo, day: date, clock: time) -> frozenset[datetime]:
    """The instants at which the wall clock reads ``day clock``: two in a repeated hour (both folds kept).

    For a nonexistent wall time both folds map to a valid instant near the gap; the true first instant after the
    gap is the offset transition itself, which the callers add as a candidate.
    """
    return _wall_instants_cached(str(zone.key), day, clock)


@lru_cache(maxsize=65536)
def _wall_instants_cached(zone_key: str, day: date, clock: time) -> frozenset[datetime]:
    naive = datetime.combine(day, clock)
    zone = ZoneInfo(zone_key)
    return frozenset(naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))


def _candidates(zone: ZoneInfo, lo: datetime, hi: datetime, bounds: Iterable[time]) -> set[datetime]:
    first = lo.astimezone(zone).date() - _DAY
    last = hi.astimezone(zone).date() + _DAY
    found: set[datetime] = set(_transitions(zone, lo, hi))
    day = first
    while day <= last:
        for clock in bounds:
            found |= _wall_instants(zone, day, clock)
        day += _DAY
    return found


Check = tuple[ZoneInfo, Callable[[datetime], bool]]


def _next_offset_change(zones: Iterable[ZoneInfo], after: datetime, limit: datetime) -> datetime | None:
    """The first UTC-offset change of any of the zones in (after, limit], stepping a week at a time (real zones
    never change offset twice within a week) and bisecting to the second."""
    found: datetime | None = None
    for zone in zones:
        before = _offset(zone, after)
        lo = after
        while lo < limit and (found is None or lo < found):
            hi = min(lo + _SEARCH_CHUNK, limit)
            if _offset(zone, hi) != before:
                change = _first_change(zone, lo, hi)
                found = change if found is None else min(found, change)
                break
            lo = hi
    return found


def _earliest(t: datetime, checks: list[Check], bounds: frozenset[time]) -> datetime | None:
    """Earliest instant >= t (UTC) at which every (zone, predicate on the local wall clock) check passes.

    Each predicate can only turn true at one of ``bounds`` on some local date or at an offset transition, so the
    first passing candidate is the exact answer. While no zone changes its UTC offset the combined pattern
    repeats every week: a week scanned without success lets the search jump to the next offset change. None if
    nothing passes within the search horizon.
    """

    def passes(instant: datetime) -> bool:
        return all(ok(instant.astimezone(zone)) for zone, ok in checks)

    if passes(t):
        return t
    zones = [zone for zone, _ok in checks]
    horizon = t + _SEARCH_HORIZON
    chunk = t
    while chunk < horizon:
        chunk_end = chunk + _SEARCH_CHUNK
        found: set[datetime] = set()
        for zone in zones:
            found |= _candidates(zone, chunk, chunk_end, bounds)
        for candidate in sorted(c for c in found if chunk <= c < chunk_end and c > t):
            if passes(candidate):
                return candidate
        change = _next_offset_change(zones, chunk, horizon)
        if change is None:
            return None  # a whole week without an opening and no offset change ahead: never
        # Offsets constant over the whole week just scanned: nothing opens before the change.
        chunk = change if change >= chunk_end else chunk_end
    return None


@lru_cache(maxsize=8192)
def _start_of_local_day(zone_key: str, day: date) -> datetime:
    """The first instant whose local date in the zone is ``day`` or later (midnight may not exist on DST days)."""
    zone = ZoneInfo(zone_key)
    folds = _wall_instants(zone, day, _MIDNIGHT)
    found = folds | set(_transitions(zone, min(folds) - _DAY, max(folds) + _DAY))
    for candidate in sorted(found):
        if candidate.astimezone(zone).date() >= day:
            return candidate
    raise AssertionError("unreachable: the fold-0 midnight instant is on or after the day")  # pragma: no cover
