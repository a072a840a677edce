"""How long a decision holds by the clock alone.

A stored decision (a worklist entry's verdict, judged at 05:30) goes stale as time passes: a window opens, a hold
ends, a new local day resets a cap. ``verdict_horizon`` answers, for one snapshot, the first instant after the
decision at which time alone could change it, so a reader re-evaluates exactly the decisions that may have
changed. It is an upper bound on freshness, never an exact event: an instant at which nothing changes may be
returned, never one later than a change. Changes of the facts themselves (a new consent, a restriction, an
attempt) are not time and are the caller's to notice.
"""

from __future__ import annotations

from datetime import datetime

from .types import Decision, Snapshot
from .zones import next_wall_boundary


def verdict_horizon(snapshot: Snapshot, decision: Decision, at: datetime) -> datetime | None:
    """The first instant after ``at`` at which the decision taken at ``at`` for ``snapshot`` may differ.

    A refusal whose blockers are all time-based holds until its ``next_allowed_at``, which the engine computed
    exactly. A refusal with a blocker that time does not lift (no consent, a cease request) cannot change by time
    alone: None. A permission holds until the first of: a wall-clock boundary (``zones.next_wall_boundary``:
    windows, declared inconvenient times, local midnight, a DST change), or an instant of the facts (a consent
    starting, expiring or withdrawn; a restriction or an incident pause starting, ending or lifted). Every
    attempt-counting rule (caps, rolling window, cooldown, "unreachable") counts borrower-local days, so it changes
    only at a local midnight."""
    if not decision.allowed:
        return decision.next_allowed_at
    instants = [next_wall_boundary(snapshot, at)]
    for consent in snapshot.consents:
        instants += [t for t in (consent.granted_at, consent.expires_at, consent.withdrawn_at) if t and t > at]
    for restriction in snapshot.restrictions:
        instants += [t for t in (restriction.starts_at, restriction.ends_at, restriction.lifted_at) if t and t > at]
    for pause in snapshot.pauses:
        instants += [t for t in (pause.starts_at, pause.ends_at, pause.lifted_at) if t and t > at]
    return min(instants)
