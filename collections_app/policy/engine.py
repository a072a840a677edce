"""The contact policy engine: may this number be contacted on this channel at this instant, and if not, why?

Pure function of a Snapshot (see types.py): no ORM, no clock. Every blocking rule is reported, each with the
legal source the policy attaches to it, and the earliest instant at which every time-based blocker has lifted.

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
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .reasons import OPTED_OUT_MESSAGE, RULE_KEYS, ReasonCode, message_for
from .types import (
    AttemptFact,
    Channel,
    Decision,
    Direction,
    InconvenientTime,
    NumberFact,
    Outcome,
    Party,
    Reason,
    Snapshot,
    Window,
)

_MIDNIGHT = time(0, 0)
_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)
# Bound of the fixed-point search for next_allowed_at (the brief's "e.g. 400 iterations").
_MAX_ITERATIONS = 400
# How far ahead a wall-clock search looks before declaring "never" (a year and a week: every weekday pattern and
# both DST changes are seen).
_SEARCH_HORIZON = timedelta(days=371)
_SEARCH_CHUNK = timedelta(days=7)
# How many local days ahead a day-based rule (caps, cooldown, holidays) looks for its first free day.
_MAX_DAYS_AHEAD = 400

# "Etc/Unknown" is what phonenumbers answers when it does not know the zone of a number (DESIGN.md, traps).
_UNKNOWN_ZONES = frozenset({"Etc/Unknown", ""})

NUMBER_STATUSES = frozenset({"active", "wrong_number", "invalid", "opted_out"})
COLLECTIBLE_LOAN_STATUS = "active"
COLLECTION_PURPOSE = "collection"

# Restriction kind -> reason code. complaint_hold blocks only when the policy says so (policy.complaint_hold_blocks).
RESTRICTION_CODES: MappingProxyType[str, ReasonCode] = MappingProxyType(
    {
        # Reg F 12 CFR 1006.6(c); Civil Code art. 1033 (no disturbance without consent or legal basis)
        "cease_communication": ReasonCode.CEASE_COMMUNICATION,
        # Reg F 12 CFR 1006.6(b)(2)
        "attorney": ReasonCode.ATTORNEY_REPRESENTED,
        # FDCPA 15 U.S.C. 1692g(b): collection stops until verification is mailed
        "dispute": ReasonCode.DISPUTE_PENDING,
        "bankruptcy": ReasonCode.BANKRUPTCY,
        "deceased": ReasonCode.DECEASED,
        # CONC 7.9 / firm policy: a complaint under review pauses collection
        "complaint_hold": ReasonCode.COMPLAINT_HOLD,
        # the borrower's "not until the 30th" (CONC 7.9 regard to requests) or a supervisor's pause
        "temporary_hold": ReasonCode.TEMPORARY_HOLD,
    }
)

# Codes that can lift on their own with time. Restrictions are time-based only when they carry an end
# (RestrictionFact.ends_at); the caps only while a later free day exists.
TIME_BASED_CODES = frozenset(
    {
        ReasonCode.OUTSIDE_CONTACT_HOURS,
        ReasonCode.INCONVENIENT_TIME,
        ReasonCode.HOLIDAY,
        ReasonCode.DAILY_ATTEMPT_LIMIT,
        ReasonCode.DAILY_CONVERSATION_LIMIT,
        ReasonCode.ROLLING_ATTEMPT_LIMIT,
        ReasonCode.CONVERSATION_COOLDOWN,
        *RESTRICTION_CODES.values(),
    }
)

_CODE_ORDER = {code: index for index, code in enumerate(ReasonCode)}


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


def _ceil_minute(instant: datetime) -> datetime:
    floor = instant.replace(second=0, microsecond=0)
    return floor if floor == instant else floor + _MINUTE


# --------------------------------------------------------------------------------------------------------------
# Evaluation context
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attempt:
    fact: AttemptFact
    day: date  # borrower-local date (primary zone)
    counted: bool  # counts as an attempt (attempt caps, third-party contacts: any channel; see _counts)
    conversation: bool  # a conversation with the debtor (either direction)


@dataclass(frozen=True)
class _Block:
    code: ReasonCode
    message: str
    lift: datetime | None  # lower bound of when this rule stops blocking (UTC); None = not time-based
    rule: Callable[[_Context, datetime], list[_Block]]


@dataclass(frozen=True)
class _Context:
    snapshot: Snapshot
    channel: Channel
    at: datetime  # UTC
    zone_keys: tuple[str, ...]
    zones: tuple[ZoneInfo, ...]
    primary: ZoneInfo
    window_spans: tuple[_Span, ...]
    window_bounds: frozenset[time]  # where the window can open
    inconvenient_spans: tuple[_Span, ...]
    inconvenient_bounds: frozenset[time]  # where a declared inconvenient time can end
    attempts: tuple[_Attempt, ...]

    def day(self, instant: datetime) -> date:
        return instant.astimezone(self.primary).date()

    def start_of_day(self, day: date) -> datetime:
        return _start_of_local_day(str(self.primary.key), day)

    def first_free_day(self, day: date, blocked: Callable[[date], bool]) -> datetime | None:
        """Start of the first local day after ``day`` on which ``blocked`` is false (None: none in sight)."""
        for ahead in range(1, _MAX_DAYS_AHEAD + 1):
            candidate = day + timedelta(days=ahead)
            if not blocked(candidate):
                return self.start_of_day(candidate)
        return None


def _counts(attempt: AttemptFact, count_not_connected: bool) -> bool:
    """Outbound contact that counts as an attempt (channel is filtered by the caller).

    Reg F 1006.14(b)(3): calls not connected (busy, not in service) are not counted when the policy says so;
    unanswered, voicemail and answered-then-dropped calls are. An attempt in progress (no outcome yet) counts.
    Inbound calls are never attempts (the consumer placed them).
    """
    if attempt.direction != Direction.OUTBOUND:
        return False
    return not (attempt.outcome == Outcome.NOT_CONNECTED and not count_not_connected)


def _is_debtor_conversation(attempt: AttemptFact) -> bool:
    # A conversation whose party was not recorded is taken as one with the debtor: the conservative reading
    # (it opens the cooldown and makes the borrower reachable rather than the other way round).
    return attempt.outcome == Outcome.CONVERSATION and attempt.party in (Party.DEBTOR, None)


def _build_context(snapshot: Snapshot, channel: Channel, at: datetime) -> _Context:
    policy = snapshot.policy
    number = snapshot.number
    if number.status not in NUMBER_STATUSES:
        raise ValueError(f"unknown number status {number.status!r}")
    for restriction in snapshot.restrictions:
        if restriction.kind not in RESTRICTION_CODES:
            # An unknown kind must not be silently ignored: it may be a block we do not understand.
            raise ValueError(f"unknown restriction kind {restriction.kind!r}")
    keys = candidate_zones(snapshot)
    zones = tuple(ZoneInfo(key) for key in keys)
    window_spans = _window_spans(policy.windows)
    inconvenient_spans = _inconvenient_spans(snapshot.inconvenient_times)
    attempts = tuple(
        _Attempt(
            fact=attempt,
            day=attempt.started_at.astimezone(zones[0]).date(),
            counted=_counts(attempt, policy.count_not_connected),
            conversation=_is_debtor_conversation(attempt),
        )
        # History after the instant evaluated did not exist yet (e.g. re-checking a past attempt).
        for attempt in snapshot.attempts
        if attempt.started_at <= at
    )
    return _Context(
        snapshot=snapshot,
        channel=channel,
        at=at,
        zone_keys=keys,
        zones=zones,
        primary=zones[0],
        window_spans=window_spans,
        window_bounds=_opening_bounds(window_spans),
        inconvenient_spans=inconvenient_spans,
        inconvenient_bounds=_closing_bounds(inconvenient_spans),
        attempts=attempts,
    )


# --------------------------------------------------------------------------------------------------------------
# Rules. Each takes the context and an instant (UTC) and returns its blocks at that instant.
# --------------------------------------------------------------------------------------------------------------

RuleFn = Callable[[_Context, datetime], list[_Block]]


def _consent(ctx: _Context, t: datetime) -> list[_Block]:
    """Civil Code art. 1033(1) (no telephone/SMS disturbance without consent or legal basis); PIPL arts. 13/15
    (consent basis, withdrawal at any time). Borrower-owned numbers only: for a third party's number the
    authorization (_third_party) is the basis."""
    number = ctx.snapshot.number
    if number.owner != Party.DEBTOR:
        return []
    blocks: list[_Block] = []
    if number.status == "opted_out":
        blocks.append(_Block(
            ReasonCode.CONSENT_WITHDRAWN, message_for(ReasonCode.CONSENT_WITHDRAWN, OPTED_OUT_MESSAGE), None, _consent
        ))
    covering = [
        consent
        for consent in ctx.snapshot.consents
        if consent.number_id == number.number_id
        and ctx.channel in consent.channels
        and consent.purpose == COLLECTION_PURPOSE
        and consent.granted_at <= t
    ]

    def withdrawn(consent_withdrawn_at: datetime | None) -> bool:
        return consent_withdrawn_at is not None and consent_withdrawn_at <= t

    def expired(expires_at: datetime | None) -> bool:
        return expires_at is not None and expires_at <= t

    if any(not withdrawn(c.withdrawn_at) and not expired(c.expires_at) for c in covering):
        return blocks
    if any(withdrawn(c.withdrawn_at) for c in covering):
        code = ReasonCode.CONSENT_WITHDRAWN
    elif any(expired(c.expires_at) for c in covering):
        code = ReasonCode.CONSENT_EXPIRED
    else:
        code = ReasonCode.NO_CONSENT
    blocks.append(_Block(code, message_for(code, channel=ctx.channel.value), None, _consent))
    return blocks


def _hours(ctx: _Context, t: datetime) -> list[_Block]:
    """Contact window, intersected over every candidate zone (Reg F 1006.6(b)(1)(i); CBA 2026 guideline 08-22;
    CONC 7.9). Lifts at the first instant at which every zone is inside its window."""
    outside = []
    for key, zone in zip(ctx.zone_keys, ctx.zones, strict=True):
        local = t.astimezone(zone)
        if not _in_spans(ctx.window_spans, local):
            outside.append(f"{key} {local:%Y-%m-%d %H:%M}")
    if not outside:
        return []
    checks: list[Check] = [(zone, lambda local: _in_spans(ctx.window_spans, local)) for zone in ctx.zones]
    lift = _earliest(t, checks, ctx.window_bounds)
    code = ReasonCode.OUTSIDE_CONTACT_HOURS
    return [_Block(code, message_for(code, zones=", ".join(outside)), lift, _hours)]


def _inconvenient(ctx: _Context, t: datetime) -> list[_Block]:
    """Times the borrower declared inconvenient, in the borrower's zone (Reg F 1006.6(b)(1): a time known to be
    inconvenient; CONC 7.9: regard to the customer's reasonable requests)."""
    if not ctx.inconvenient_spans:
        return []
    local = t.astimezone(ctx.primary)
    if not _in_spans(ctx.inconvenient_spans, local):
        return []
    checks: list[Check] = [(ctx.primary, lambda loc: not _in_spans(ctx.inconvenient_spans, loc))]
    lift = _earliest(t, checks, ctx.inconvenient_bounds)
    code = ReasonCode.INCONVENIENT_TIME
    label = f"{ctx.zone_keys[0]} {local:%Y-%m-%d %H:%M}"
    return [_Block(code, message_for(code, local=label), lift, _inconvenient)]


_CLOCK_CODES = frozenset({ReasonCode.OUTSIDE_CONTACT_HOURS, ReasonCode.INCONVENIENT_TIME})


def _clock_lift(ctx: _Context, t: datetime) -> datetime | None:
    """Earliest instant >= t inside the window in every zone and outside every declared inconvenient time.

    Searched jointly: alternating between the two rules' own lifts could bounce forever (inconvenient 08:00-10:00
    against a window 08:00-09:00).
    """
    checks: list[Check] = [(zone, lambda local: _in_spans(ctx.window_spans, local)) for zone in ctx.zones]
    checks.append((ctx.primary, lambda local: not _in_spans(ctx.inconvenient_spans, local)))
    return _earliest(t, checks, ctx.window_bounds | ctx.inconvenient_bounds)


def _holiday(ctx: _Context, t: datetime) -> list[_Block]:
    """Public holidays of the jurisdiction, borrower-local dates (policy setting; source in policy.sources)."""
    policy = ctx.snapshot.policy
    today = ctx.day(t)
    if not policy.holidays_blocked or today not in policy.holidays:
        return []
    lift = ctx.first_free_day(today, lambda day: day in policy.holidays)
    code = ReasonCode.HOLIDAY
    return [_Block(code, message_for(code, date=today.isoformat()), lift, _holiday)]


def _daily_attempts(ctx: _Context, t: datetime) -> list[_Block]:
    """Attempts per number per local day (CBA 2026 guideline: at most 6 a day to the same contact method)."""
    cap = ctx.snapshot.policy.daily_attempt_cap
    if cap is None or ctx.channel != Channel.CALL:
        return []
    number_id = ctx.snapshot.number.number_id

    def count(day: date) -> int:
        return sum(
            1
            for a in ctx.attempts
            if a.counted and a.fact.channel == Channel.CALL and a.fact.number_id == number_id and a.day == day
        )

    today = ctx.day(t)
    used = count(today)
    if used < cap:
        return []
    lift = ctx.first_free_day(today, lambda day: count(day) >= cap)
    code = ReasonCode.DAILY_ATTEMPT_LIMIT
    return [_Block(code, message_for(code, count=used, cap=cap), lift, _daily_attempts)]


def _daily_conversations(ctx: _Context, t: datetime) -> list[_Block]:
    """Conversations with the borrower per local day, all numbers and loans (GB/T 45251-2025: 3 connected calls
    a day, unverified)."""
    cap = ctx.snapshot.policy.daily_conversation_cap
    if cap is None or ctx.channel != Channel.CALL:
        return []

    def count(day: date) -> int:
        return sum(1 for a in ctx.attempts if a.conversation and a.fact.channel == Channel.CALL and a.day == day)

    today = ctx.day(t)
    held = count(today)
    if held < cap:
        return []
    lift = ctx.first_free_day(today, lambda day: count(day) >= cap)
    code = ReasonCode.DAILY_CONVERSATION_LIMIT
    return [_Block(code, message_for(code, count=held, cap=cap), lift, _daily_conversations)]


def _rolling_attempts(ctx: _Context, t: datetime) -> list[_Block]:
    """Attempts per debt within the N local days ending today (Reg F 1006.14(b)(2)(i): 7 calls in 7 days)."""
    policy = ctx.snapshot.policy
    cap = policy.rolling_attempt_cap
    if cap is None or ctx.channel != Channel.CALL:
        return []
    loan_id = ctx.snapshot.loan.loan_id
    days = policy.rolling_window_days
    loan_days = [
        a.day for a in ctx.attempts if a.counted and a.fact.channel == Channel.CALL and a.fact.loan_id == loan_id
    ]

    def count(day: date) -> int:
        first = day - timedelta(days=days - 1)
        return sum(1 for d in loan_days if first <= d <= day)

    today = ctx.day(t)
    used = count(today)
    if used < cap:
        return []
    # Frees at local midnight of the day on which enough counted attempts have left the window.
    lift = ctx.first_free_day(today, lambda day: count(day) >= cap)
    code = ReasonCode.ROLLING_ATTEMPT_LIMIT
    return [_Block(code, message_for(code, count=used, days=days, cap=cap), lift, _rolling_attempts)]


def _cooldown(ctx: _Context, t: datetime) -> list[_Block]:
    """No call about a debt within N days after a telephone conversation about it, the day of the conversation
    being day 1 (Reg F 1006.14(b)(2)(ii)); a conversation the borrower started counts too."""
    policy = ctx.snapshot.policy
    days = policy.conversation_cooldown_days
    if not days or ctx.channel != Channel.CALL:
        return []
    loan_id = ctx.snapshot.loan.loan_id
    conversation_days = sorted(
        {a.day for a in ctx.attempts if a.conversation and a.fact.channel == Channel.CALL and a.fact.loan_id == loan_id}
    )

    def latest_blocking(day: date) -> date | None:
        hits = [c for c in conversation_days if 0 <= (day - c).days < days]
        return hits[-1] if hits else None

    today = ctx.day(t)
    started = latest_blocking(today)
    if started is None:
        return []
    lift = ctx.first_free_day(today, lambda day: latest_blocking(day) is not None)
    code = ReasonCode.CONVERSATION_COOLDOWN
    return [_Block(code, message_for(code, date=started.isoformat(), days=days), lift, _cooldown)]


def _restrictions(ctx: _Context, t: datetime) -> list[_Block]:
    """Restrictions on the borrower or this loan active at t (Reg F 1006.6(b)(2) attorney, 1006.6(c) cease;
    FDCPA 1692g(b) dispute; holds by policy). Time-based only when the restriction has an end."""
    policy = ctx.snapshot.policy
    loan_id = ctx.snapshot.loan.loan_id
    lifts: dict[ReasonCode, list[datetime | None]] = {}
    for r in ctx.snapshot.restrictions:
        if r.loan_id is not None and r.loan_id != loan_id:
            continue
        active = r.starts_at <= t and (r.lifted_at is None or r.lifted_at > t) and (r.ends_at is None or r.ends_at > t)
        if not active:
            continue
        if r.kind == "complaint_hold" and not policy.complaint_hold_blocks:
            continue
        # Open-ended: not time-based. Lifting early (lifted_at before ends_at) frees it sooner: keep the lift a
        # lower bound.
        lift = None if r.ends_at is None else min(r.ends_at, r.lifted_at or r.ends_at)
        lifts.setdefault(RESTRICTION_CODES[r.kind], []).append(lift)
    blocks = []
    for code, code_lifts in lifts.items():
        # The code lifts when every active restriction of that kind has ended (the fixed point re-checks for
        # ones starting in between).
        known = [lift for lift in code_lifts if lift is not None]
        lift = None if len(known) < len(code_lifts) else max(known)
        blocks.append(_Block(code, message_for(code), lift, _restrictions))
    return blocks


def _number_status(ctx: _Context, t: datetime) -> list[_Block]:
    """Never dial a number reported wrong (it reaches a stranger: Civil Code art. 1033) or one that is not a valid
    number. A borrower's own opt-out is reported by _consent, a third party's by _third_party."""
    number = ctx.snapshot.number
    blocks = []
    if number.status == "wrong_number":
        blocks.append(_Block(ReasonCode.WRONG_NUMBER, message_for(ReasonCode.WRONG_NUMBER), None, _number_status))
    if number.status == "invalid" or number.e164 is None:
        code = ReasonCode.INVALID_NUMBER
        blocks.append(_Block(code, message_for(code), None, _number_status))
    return blocks


def _borrower_unreachable(ctx: _Context, t: datetime) -> bool:
    """No conversation with the borrower (any number, any loan, any channel) in the last N local days, and at
    least M counted outbound call attempts to borrower-owned numbers without a conversation in those days."""
    policy = ctx.snapshot.policy
    today = ctx.day(t)
    first = today - timedelta(days=policy.unreachable_after_days - 1)
    recent = [a for a in ctx.attempts if first <= a.day <= today]
    if any(a.conversation for a in recent):
        return False
    tries = sum(
        1
        for a in recent
        if a.counted
        and a.fact.channel == Channel.CALL
        and a.fact.third_party_id is None
        and a.fact.outcome != Outcome.CONVERSATION
    )
    return tries >= policy.unreachable_min_attempts


def _third_party(ctx: _Context, t: datetime) -> list[_Block]:
    """Third parties: only authorized contacts the borrower named, only while the borrower is unreachable, stop
    when they ask (CBA 2026 guideline; NFRA 2024); at most N contacts (FDCPA 15 U.S.C. 1692b(3): once)."""
    number: NumberFact = ctx.snapshot.number
    if number.owner != Party.THIRD_PARTY:
        return []
    policy = ctx.snapshot.policy
    blocks = []
    if policy.third_party_requires_authorization and not number.third_party_authorized:
        code = ReasonCode.THIRD_PARTY_NOT_AUTHORIZED
        blocks.append(_Block(code, message_for(code), None, _third_party))
    if policy.third_party_only_when_borrower_unreachable and not _borrower_unreachable(ctx, t):
        code = ReasonCode.THIRD_PARTY_BORROWER_REACHABLE
        blocks.append(_Block(code, message_for(code), None, _third_party))
    cap = policy.third_party_max_contacts
    if cap is not None:
        # Any channel: an SMS is a communication with the third party as much as a call is.
        if number.third_party_id is not None:
            contacts = sum(1 for a in ctx.attempts if a.counted and a.fact.third_party_id == number.third_party_id)
        else:
            contacts = sum(1 for a in ctx.attempts if a.counted and a.fact.number_id == number.number_id)
        if contacts >= cap:
            code = ReasonCode.THIRD_PARTY_LIMIT
            blocks.append(_Block(code, message_for(code, count=contacts, cap=cap), None, _third_party))
    if number.status == "opted_out" and policy.third_party_stop_on_opt_out:
        code = ReasonCode.THIRD_PARTY_OPTED_OUT
        blocks.append(_Block(code, message_for(code), None, _third_party))
    return blocks


def _collectible(ctx: _Context, t: datetime) -> list[_Block]:
    """Collection contact only for an active loan past its due date on the borrower's local calendar."""
    loan = ctx.snapshot.loan
    if loan.status == COLLECTIBLE_LOAN_STATUS and ctx.day(t) > loan.due_date:
        return []
    code = ReasonCode.NOT_COLLECTIBLE
    message = message_for(code, status=loan.status, due_date=loan.due_date.isoformat())
    return [_Block(code, message, None, _collectible)]


def _channel(ctx: _Context, t: datetime) -> list[_Block]:
    """Channels the policy allows (e.g. SMS not allowed; source in policy.sources["channels"])."""
    if ctx.channel in ctx.snapshot.policy.channels_allowed:
        return []
    code = ReasonCode.CHANNEL_NOT_PERMITTED
    return [_Block(code, message_for(code, channel=ctx.channel.value), None, _channel)]


_RULES: tuple[RuleFn, ...] = (
    _consent,
    _hours,
    _inconvenient,
    _holiday,
    _daily_attempts,
    _daily_conversations,
    _rolling_attempts,
    _cooldown,
    _restrictions,
    _number_status,
    _third_party,
    _collectible,
    _channel,
)


def _blocks_at(ctx: _Context, t: datetime) -> list[_Block]:
    first_per_code: dict[ReasonCode, _Block] = {}
    for rule in _RULES:
        for block in rule(ctx, t):
            first_per_code.setdefault(block.code, block)
    return sorted(first_per_code.values(), key=lambda b: _CODE_ORDER[b.code])


# --------------------------------------------------------------------------------------------------------------
# Lift times
# --------------------------------------------------------------------------------------------------------------


def _until(ctx: _Context, block: _Block) -> datetime | None:
    """When this one reason stops blocking: iterate its own rule until it no longer reports the code."""
    t = block.lift
    for _ in range(_MAX_ITERATIONS):
        if t is None:
            return None
        again = next((b for b in block.rule(ctx, t) if b.code == block.code), None)
        if again is None:
            return t
        t = again.lift if again.lift is not None and again.lift > t else None
    return None


def _next_allowed(ctx: _Context, blocks: list[_Block]) -> datetime | None:
    """Earliest whole minute >= at at which no rule blocks, if every blocker is time-based.

    Fixed point: every lift is a lower bound of when its rule can pass, so jumping to the latest lift never skips
    an allowed instant; re-evaluating every rule there either confirms it or yields new lifts. A rule that is not
    time-based appearing on the way (a consent expiring, an open-ended restriction starting) means no instant is
    known: None.
    """
    t = ctx.at
    for _ in range(_MAX_ITERATIONS):
        if any(block.lift is None for block in blocks):
            return None
        lifts = [block.lift for block in blocks if block.lift is not None]
        if any(block.code in _CLOCK_CODES for block in blocks):
            joint = _clock_lift(ctx, t)
            if joint is None:
                return None  # the window and the declared inconvenient times never leave a gap
            lifts.append(joint)
        latest = max(lifts)
        nxt = _ceil_minute(latest)
        t = nxt if nxt > t else _ceil_minute(t + _MINUTE)
        blocks = _blocks_at(ctx, t)
        if not blocks:
            return t
    return None


# --------------------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------------------


def evaluate(snapshot: Snapshot, *, channel: Channel | str, at: datetime) -> Decision:
    """Decide whether ``snapshot.number`` may be contacted on ``channel`` at the aware instant ``at``.

    Lists every blocking reason; ``next_allowed_at`` (UTC, whole minute) is None when allowed or when any blocker
    is not time-based.
    """
    _require_aware(at)
    channel = Channel(channel)
    at_utc = at.astimezone(UTC)
    ctx = _build_context(snapshot, channel, at_utc)
    blocks = _blocks_at(ctx, at_utc)
    sources = snapshot.policy.sources
    reasons = tuple(
        Reason(
            code=block.code,
            message=block.message,
            rule=sources.get(RULE_KEYS[block.code], ""),
            until=_until(ctx, block),
        )
        for block in blocks
    )
    return Decision(
        allowed=not reasons,
        reasons=reasons,
        next_allowed_at=_next_allowed(ctx, blocks) if blocks else None,
        local_times=MappingProxyType(
            {key: at_utc.astimezone(zone) for key, zone in zip(ctx.zone_keys, ctx.zones, strict=True)}
        ),
        zones=ctx.zone_keys,
        policy_code=snapshot.policy.code,
        policy_version=snapshot.policy.version,
    )
