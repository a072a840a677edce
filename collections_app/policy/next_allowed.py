"""When blockers lift: each reason's ``until`` and the decision's ``next_allowed_at``.

Both iterate the rules to a fixed point: a block's lift is a lower bound of when its rule can pass, so jumping to
it never skips an allowed instant, and re-evaluating there either confirms it or yields a later lift.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .context import _Block, _Context
from .reasons import ReasonCode
from .rules import _blocks_at
from .zones import Check, _earliest, _in_spans

_MINUTE = timedelta(minutes=1)
# Bound of the fixed-point search for next_allowed_at (the brief's "e.g. 400 iterations").
_MAX_ITERATIONS = 400

_CLOCK_CODES = frozenset({ReasonCode.OUTSIDE_CONTACT_HOURS, ReasonCode.INCONVENIENT_TIME})


def _clock_lift(ctx: _Context, t: datetime) -> datetime | None:
    """Earliest instant >= t inside the window in every zone and outside every declared inconvenient time.

    Searched jointly: alternating between the two rules' own lifts could bounce forever (inconvenient 08:00-10:00
    against a window 08:00-09:00).
    """
    checks: list[Check] = [(zone, lambda local: _in_spans(ctx.window_spans, local)) for zone in ctx.zones]
    checks.append((ctx.primary, lambda local: not _in_spans(ctx.inconvenient_spans, local)))
    return _earliest(t, checks, ctx.window_bounds | ctx.inconvenient_bounds)


def _ceil_minute(instant: datetime) -> datetime:
    floor = instant.replace(second=0, microsecond=0)
    return floor if floor == instant else floor + _MINUTE


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
