"""The contact policy engine: may this number be contacted on this channel at this instant, and if not, why?

Pure function of a Snapshot (see types.py): no ORM, no clock. Every blocking rule is reported, each with the
legal source the policy attaches to it, and the earliest instant at which every time-based blocker has lifted.

``evaluate`` builds the evaluation context (context.py) from the snapshot, runs the rules (rules.py) and asks
next_allowed.py when each blocker lifts; zones.py holds the time-zone and DST arithmetic they share.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from .context import _Attempt, _Context, _counts, _is_debtor_conversation
from .next_allowed import _next_allowed, _until
from .reasons import RULE_KEYS
from .rules import NUMBER_STATUSES, RESTRICTION_CODES, _blocks_at, caps_remaining
from .types import Channel, Decision, Reason, Snapshot
from .zones import (
    _closing_bounds,
    _inconvenient_spans,
    _opening_bounds,
    _require_aware,
    _window_spans,
    candidate_zones,
)


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
        remaining=MappingProxyType(caps_remaining(ctx, at_utc)),
    )
