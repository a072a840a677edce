"""Input and output value objects of the contact policy engine.

Everything here is a frozen dataclass so a snapshot cannot change while it is evaluated and a decision can be
stored or compared as a value. The ORM selector (``collections_app.selectors``) builds these objects; the engine
never touches the database or the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from types import MappingProxyType

from .reasons import ReasonCode


class Channel(StrEnum):
    CALL = "call"
    SMS = "sms"


class Outcome(StrEnum):
    # Busy / not in service: Reg F 12 CFR 1006.14(b)(3) does not count these as calls.
    NOT_CONNECTED = "not_connected"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    CONVERSATION = "conversation"
    WRONG_NUMBER = "wrong_number"


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Party(StrEnum):
    DEBTOR = "debtor"
    THIRD_PARTY = "third_party"


# A contact window: local [start, end). end == 00:00 means midnight at the end of the day; start > end means the
# window crosses midnight and its part after midnight belongs to the previous local day's entry.
Window = tuple[time, time]


@dataclass(frozen=True)
class PolicyParams:
    code: str
    version: int
    default_timezone: str
    windows: tuple[Window | None, ...]  # 7 entries, Monday..Sunday; None = no contact that weekday
    daily_attempt_cap: int | None  # per number per borrower-local day (calls only)
    daily_conversation_cap: int | None  # conversations with the debtor per local day, all numbers (calls only)
    rolling_attempt_cap: int | None  # per debt within rolling_window_days (calls only)
    rolling_window_days: int
    conversation_cooldown_days: int | None  # per debt; the day of the conversation is day 1
    count_not_connected: bool  # False: not_connected outcomes are not attempts (Reg F 1006.14(b)(3))
    holidays_blocked: bool
    holidays: frozenset[date]  # borrower-local dates
    third_party_requires_authorization: bool
    third_party_only_when_borrower_unreachable: bool
    unreachable_after_days: int
    unreachable_min_attempts: int
    third_party_max_contacts: int | None  # counted outbound contacts per third party, ever
    third_party_stop_on_opt_out: bool
    channels_allowed: frozenset[Channel]
    complaint_hold_blocks: bool
    sources: Mapping[str, str]  # rule key -> legal source text (see reasons.RULE_KEYS); missing key -> ""

    def __post_init__(self) -> None:
        # Fail at construction rather than mid-evaluation: a malformed policy must never silently allow contact.
        if len(self.windows) != 7:
            raise ValueError("windows must have exactly 7 entries (Monday..Sunday)")
        for name in (
            "daily_attempt_cap",
            "daily_conversation_cap",
            "rolling_attempt_cap",
            "conversation_cooldown_days",
            "third_party_max_contacts",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 or None")
        if self.rolling_window_days < 1:
            raise ValueError("rolling_window_days must be >= 1")
        if self.unreachable_after_days < 1:
            raise ValueError("unreachable_after_days must be >= 1")
        if self.unreachable_min_attempts < 0:
            raise ValueError("unreachable_min_attempts must be >= 0")


@dataclass(frozen=True)
class NumberFact:
    number_id: int
    e164: str | None  # None: does not parse / not a valid number
    status: str  # "active" | "wrong_number" | "invalid" | "opted_out"
    owner: Party
    third_party_id: int | None
    third_party_authorized: bool
    zones: tuple[str, ...]  # from phonenumbers.timezone; "Etc/Unknown" is ignored


@dataclass(frozen=True)
class LoanFact:
    loan_id: int
    status: str  # "active" | "paid" | "settled" | "closed" | "written_off"
    due_date: date


@dataclass(frozen=True)
class ConsentFact:
    number_id: int
    channels: frozenset[Channel]
    purpose: str  # "collection"
    granted_at: datetime
    expires_at: datetime | None
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class RestrictionFact:
    kind: str  # see rules.RESTRICTION_CODES
    loan_id: int | None  # None = the whole borrower
    starts_at: datetime
    ends_at: datetime | None
    lifted_at: datetime | None


@dataclass(frozen=True)
class PauseFact:
    """An incident pause that covers this contact (the selector keeps only the pauses whose scope holds the loan):
    no collection contact from `starts_at` until it is lifted, or until its planned end when it has one."""

    pause_id: int
    starts_at: datetime
    ends_at: datetime | None
    lifted_at: datetime | None


@dataclass(frozen=True)
class InconvenientTime:
    weekdays: frozenset[int]  # 0 = Monday
    start: time
    end: time  # same midnight semantics as PolicyParams.windows


@dataclass(frozen=True)
class AttemptFact:
    loan_id: int
    number_id: int
    third_party_id: int | None  # None = a borrower-owned number
    channel: Channel
    direction: Direction
    started_at: datetime
    outcome: Outcome | None  # None = in progress: counts as an attempt
    party: Party | None  # who was reached, for conversations


@dataclass(frozen=True)
class Snapshot:
    policy: PolicyParams
    loan: LoanFact
    number: NumberFact
    borrower_timezone: str | None
    consents: tuple[ConsentFact, ...]  # for this number
    restrictions: tuple[RestrictionFact, ...]  # the borrower's, all loans
    inconvenient_times: tuple[InconvenientTime, ...]
    attempts: tuple[AttemptFact, ...]  # the borrower's relevant history (see DESIGN.md)
    pauses: tuple[PauseFact, ...] = ()  # incident pauses whose scope covers this loan


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    message: str  # lazy translatable string (a Django Promise); str() renders it in the active language
    rule: str  # legal source text from PolicyParams.sources
    until: datetime | None  # when this blocker lifts on its own (UTC), None if it is not time-based


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[Reason, ...]
    next_allowed_at: datetime | None  # UTC, whole minute; None when allowed or when a blocker is not time-based
    local_times: Mapping[str, datetime]  # the instant evaluated, in each candidate zone
    zones: tuple[str, ...]
    policy_code: str
    policy_version: int
    # Calls each cap still allows at the instant (rules.caps_remaining): "daily_attempts", "daily_conversations",
    # "rolling_attempts"; a cap the policy does not set is absent.
    remaining: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
