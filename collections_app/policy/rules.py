"""The rules of the contact policy engine, the code tables they share, and ``_blocks_at`` which runs them all.

Each rule takes the evaluation context and an instant (UTC) and returns its blocks at that instant; each block
carries a lower bound of when the rule stops blocking (None: not time-based).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from types import MappingProxyType

from .context import _Block, _Context
from .reasons import OPTED_OUT_MESSAGE, LocalTime, ReasonCode, message_for
from .types import Channel, NumberFact, Outcome, Party
from .zones import Check, _earliest, _in_spans

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
        ReasonCode.INCIDENT_PAUSE,
    }
)

_CODE_ORDER = {code: index for index, code in enumerate(ReasonCode)}

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
            outside.append(LocalTime(key, local))
    if not outside:
        return []
    checks: list[Check] = [(zone, lambda local: _in_spans(ctx.window_spans, local)) for zone in ctx.zones]
    lift = _earliest(t, checks, ctx.window_bounds)
    code = ReasonCode.OUTSIDE_CONTACT_HOURS
    return [_Block(code, message_for(code, zones=tuple(outside)), lift, _hours)]


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
    return [_Block(code, message_for(code, local=LocalTime(ctx.zone_keys[0], local)), lift, _inconvenient)]


def _holiday(ctx: _Context, t: datetime) -> list[_Block]:
    """Public holidays of the jurisdiction, borrower-local dates (policy setting; source in policy.sources)."""
    policy = ctx.snapshot.policy
    today = ctx.day(t)
    if not policy.holidays_blocked or today not in policy.holidays:
        return []
    lift = ctx.first_free_day(today, lambda day: day in policy.holidays)
    code = ReasonCode.HOLIDAY
    return [_Block(code, message_for(code, date=today.isoformat()), lift, _holiday)]


def _daily_attempt_counter(ctx: _Context) -> Callable[[date], int]:
    """Counted call attempts to this number on a borrower-local day."""
    number_id = ctx.snapshot.number.number_id
    per_day: dict[date, int] = {}
    for a in ctx.attempts:
        if a.counted and a.fact.channel == Channel.CALL and a.fact.number_id == number_id:
            per_day[a.day] = per_day.get(a.day, 0) + 1
    return lambda day: per_day.get(day, 0)


def _conversation_counter(ctx: _Context) -> Callable[[date], int]:
    """Call conversations with the borrower on a borrower-local day, all numbers and loans."""
    per_day: dict[date, int] = {}
    for a in ctx.attempts:
        if a.conversation and a.fact.channel == Channel.CALL:
            per_day[a.day] = per_day.get(a.day, 0) + 1
    return lambda day: per_day.get(day, 0)


def _rolling_counter(ctx: _Context) -> Callable[[date], int]:
    """Counted call attempts about this debt within the rolling window of local days ending on a day."""
    loan_id = ctx.snapshot.loan.loan_id
    days = ctx.snapshot.policy.rolling_window_days
    loan_days = [
        a.day for a in ctx.attempts if a.counted and a.fact.channel == Channel.CALL and a.fact.loan_id == loan_id
    ]

    def count(day: date) -> int:
        first = day - timedelta(days=days - 1)
        return sum(1 for d in loan_days if first <= d <= day)

    return count


def _daily_attempts(ctx: _Context, t: datetime) -> list[_Block]:
    """Attempts per number per local day (CBA 2026 guideline: at most 6 a day to the same contact method)."""
    cap = ctx.snapshot.policy.daily_attempt_cap
    if cap is None or ctx.channel != Channel.CALL:
        return []
    count = _daily_attempt_counter(ctx)
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
    count = _conversation_counter(ctx)
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
    count = _rolling_counter(ctx)
    today = ctx.day(t)
    used = count(today)
    if used < cap:
        return []
    # Frees at local midnight of the day on which enough counted attempts have left the window.
    lift = ctx.first_free_day(today, lambda day: count(day) >= cap)
    code = ReasonCode.ROLLING_ATTEMPT_LIMIT
    return [_Block(code, message_for(code, count=used, days=policy.rolling_window_days, cap=cap), lift,
                   _rolling_attempts)]


def caps_remaining(ctx: _Context, t: datetime) -> dict[str, int]:
    """How many more calls each of the policy's caps allows at ``t`` (0 when it is reached), by the same counts
    the cap rules block on, so a reader never re-derives a rule: "daily_attempts" (this number today),
    "daily_conversations" (the borrower today), "rolling_attempts" (this debt in the rolling window). A cap the
    policy does not set is absent; SMS has none."""
    if ctx.channel != Channel.CALL:
        return {}
    policy = ctx.snapshot.policy
    today = ctx.day(t)
    left: dict[str, int] = {}
    for key, cap, counter in (
        ("daily_attempts", policy.daily_attempt_cap, _daily_attempt_counter),
        ("daily_conversations", policy.daily_conversation_cap, _conversation_counter),
        ("rolling_attempts", policy.rolling_attempt_cap, _rolling_counter),
    ):
        if cap is not None:
            left[key] = max(cap - counter(ctx)(today), 0)
    return left


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


def _incident_pause(ctx: _Context, t: datetime) -> list[_Block]:
    """An incident pause in force over this contact (firm policy: the incident plan, docs/incident-playbook.md).
    Time-based only while every pause in force has a planned end: lifting is a person's act, not the clock's."""
    active = [
        p for p in ctx.snapshot.pauses
        if p.starts_at <= t and (p.lifted_at is None or p.lifted_at > t) and (p.ends_at is None or p.ends_at > t)
    ]
    if not active:
        return []
    ends = [min(p.ends_at, p.lifted_at or p.ends_at) for p in active if p.ends_at is not None]
    lift = max(ends) if len(ends) == len(active) else None
    code = ReasonCode.INCIDENT_PAUSE
    return [_Block(code, message_for(code), lift, _incident_pause)]


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
    _incident_pause,
)


def _blocks_at(ctx: _Context, t: datetime) -> list[_Block]:
    first_per_code: dict[ReasonCode, _Block] = {}
    for rule in _RULES:
        for block in rule(ctx, t):
            first_per_code.setdefault(block.code, block)
    return sorted(first_per_code.values(), key=lambda b: _CODE_ORDER[b.code])
