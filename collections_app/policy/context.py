"""The evaluation context: one snapshot prepared for the rules, and the block a rule reports.

The context is built once per decision (engine._build_context): the candidate zones, the window and declared
inconvenient times as wall-clock spans, and the contact history with each attempt's local day and whether it
counts as an attempt or a conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .reasons import ReasonCode
from .types import AttemptFact, Channel, Direction, Outcome, Party, Snapshot
from .zones import _Span, _start_of_local_day

# How many local days ahead a day-based rule (caps, cooldown, holidays) looks for its first free day.
_MAX_DAYS_AHEAD = 400


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
