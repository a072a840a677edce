"""Builders for policy-engine snapshots. No database: the engine is pure Python.

Exposed as the session-scoped ``mk`` fixture (hypothesis refuses function-scoped fixtures, and with
importlib import mode a conftest cannot be imported by the tests).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from collections_app.policy import (
    PRESETS,
    AttemptFact,
    Channel,
    ConsentFact,
    Direction,
    InconvenientTime,
    LoanFact,
    NumberFact,
    Outcome,
    Party,
    PauseFact,
    PolicyParams,
    RestrictionFact,
    Snapshot,
    params_from_preset,
)

NY = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
BORROWER_NUMBER = 1
OTHER_BORROWER_NUMBER = 2
THIRD_PARTY_NUMBER = 3
THIRD_PARTY_ID = 30
LOAN = 10
OTHER_LOAN = 11
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def policy(code: str = "US", **overrides: Any) -> PolicyParams:
    params = params_from_preset(PRESETS[code])
    return dataclasses.replace(params, **overrides) if overrides else params


def hours(start: str, end: str) -> tuple[time, time]:
    return (time.fromisoformat(start), time.fromisoformat(end))


def every_day(start: str, end: str) -> tuple[tuple[time, time], ...]:
    return tuple(hours(start, end) for _ in range(7))


def number(
    number_id: int = BORROWER_NUMBER,
    *,
    zones: tuple[str, ...] = ("America/New_York",),
    status: str = "active",
    e164: str | None = "+12125550100",
    owner: Party = Party.DEBTOR,
    third_party_id: int | None = None,
    authorized: bool = False,
) -> NumberFact:
    return NumberFact(
        number_id=number_id,
        e164=e164,
        status=status,
        owner=owner,
        third_party_id=third_party_id,
        third_party_authorized=authorized,
        zones=zones,
    )


def third_party_number(*, authorized: bool = True, status: str = "active", **kw: Any) -> NumberFact:
    return number(
        THIRD_PARTY_NUMBER,
        owner=Party.THIRD_PARTY,
        third_party_id=THIRD_PARTY_ID,
        authorized=authorized,
        status=status,
        **kw,
    )


def consent(
    number_id: int = BORROWER_NUMBER,
    *,
    channels: frozenset[Channel] = frozenset({Channel.CALL, Channel.SMS}),
    purpose: str = "collection",
    granted_at: datetime = LONG_AGO,
    expires_at: datetime | None = None,
    withdrawn_at: datetime | None = None,
) -> ConsentFact:
    return ConsentFact(number_id, channels, purpose, granted_at, expires_at, withdrawn_at)


def restriction(
    kind: str,
    *,
    loan_id: int | None = None,
    starts_at: datetime = LONG_AGO,
    ends_at: datetime | None = None,
    lifted_at: datetime | None = None,
) -> RestrictionFact:
    return RestrictionFact(kind, loan_id, starts_at, ends_at, lifted_at)


def attempt(
    started_at: datetime,
    *,
    outcome: Outcome | None = Outcome.NO_ANSWER,
    number_id: int = BORROWER_NUMBER,
    loan_id: int = LOAN,
    third_party_id: int | None = None,
    channel: Channel = Channel.CALL,
    direction: Direction = Direction.OUTBOUND,
    party: Party | None = None,
) -> AttemptFact:
    if outcome == Outcome.CONVERSATION and party is None:
        party = Party.THIRD_PARTY if third_party_id is not None else Party.DEBTOR
    return AttemptFact(loan_id, number_id, third_party_id, channel, direction, started_at, outcome, party)


def inconvenient(weekdays: set[int], start: str, end: str) -> InconvenientTime:
    return InconvenientTime(frozenset(weekdays), time.fromisoformat(start), time.fromisoformat(end))


_build_policy = policy
_build_number = number


def snapshot(
    *,
    policy: PolicyParams | None = None,
    number: NumberFact | None = None,
    borrower_timezone: str | None = "America/New_York",
    consents: tuple[ConsentFact, ...] | None = None,
    restrictions: tuple[RestrictionFact, ...] = (),
    inconvenient_times: tuple[InconvenientTime, ...] = (),
    attempts: tuple[AttemptFact, ...] = (),
    loan_status: str = "active",
    due_date: date = date(2027, 1, 1),
    pauses: tuple[PauseFact, ...] = (),
) -> Snapshot:
    the_number = number if number is not None else _build_number()
    return Snapshot(
        policy=policy if policy is not None else _build_policy(),
        loan=LoanFact(LOAN, loan_status, due_date),
        number=the_number,
        borrower_timezone=borrower_timezone,
        consents=consents if consents is not None else (consent(the_number.number_id),),
        restrictions=restrictions,
        inconvenient_times=inconvenient_times,
        attempts=attempts,
        pauses=pauses,
    )


def pause(
    *, starts_at: datetime = LONG_AGO, ends_at: datetime | None = None, lifted_at: datetime | None = None,
    pause_id: int = 1,
) -> PauseFact:
    return PauseFact(pause_id=pause_id, starts_at=starts_at, ends_at=ends_at, lifted_at=lifted_at)


def cn_snapshot(**kw: Any) -> Snapshot:
    kw.setdefault("policy", policy("CN"))
    kw.setdefault("borrower_timezone", "Asia/Shanghai")
    kw.setdefault("number", number(zones=("Asia/Shanghai",), e164="+8613800138000"))
    return snapshot(**kw)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def codes(decision: Any) -> set[str]:
    return {reason.code for reason in decision.reasons}


@pytest.fixture(scope="session")
def mk() -> SimpleNamespace:
    return SimpleNamespace(
        NY=NY,
        SHANGHAI=SHANGHAI,
        BORROWER_NUMBER=BORROWER_NUMBER,
        OTHER_BORROWER_NUMBER=OTHER_BORROWER_NUMBER,
        THIRD_PARTY_NUMBER=THIRD_PARTY_NUMBER,
        THIRD_PARTY_ID=THIRD_PARTY_ID,
        LOAN=LOAN,
        OTHER_LOAN=OTHER_LOAN,
        policy=policy,
        pause=pause,
        hours=hours,
        every_day=every_day,
        number=number,
        third_party_number=third_party_number,
        consent=consent,
        restriction=restriction,
        attempt=attempt,
        inconvenient=inconvenient,
        snapshot=snapshot,
        cn_snapshot=cn_snapshot,
        ny=ny,
        sh=sh,
        utc=utc,
        codes=codes,
    )
