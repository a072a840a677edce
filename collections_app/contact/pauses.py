"""Incident pauses in force, through a per-process copy keyed by the policy generation (as contact/versions.py).

Starting or lifting a pause bumps the policy generation in the same transaction (incidents.services), and so does
a change of a team's members (a team's pause covers the loans assigned to its collectors: contact/signals.py). A
decision that has read the generation — with the loans (the pre-check), the policy versions (the desk, the
worklist) or the signed-in user (the banner) — takes the pauses from memory when this process last loaded that
very generation, else reads them (one query of the few unlifted pauses, +1 for the members of paused teams).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from consent_app.models import Jurisdiction

from .. import policy
from ..models import IncidentPause, PauseScope, TeamMember
from .generation import Generation, GenerationCache


@dataclass(frozen=True, slots=True)
class PauseInForce:
    """An unlifted pause as the decisions and the banner read it (codes and ids only)."""

    pk: int
    scope: str
    jurisdiction: str
    team_id: int | None
    collector_ids: frozenset[int]  # a team's pause: the team's members when it was loaded
    supervisor_id: int | None  # a team's pause: the team's supervisor (shown the banner)
    reason: str
    reference: str
    drill: bool
    starts_at: datetime
    ends_at: datetime | None

    def covers_loan(self, jurisdiction: str, collector_id: int | None) -> bool:
        if self.scope == PauseScope.ALL:
            return True
        if self.scope == PauseScope.JURISDICTION:
            return jurisdiction == self.jurisdiction
        return collector_id is not None and collector_id in self.collector_ids

    def concerns_user(self, user_id: int, *, sees_all: bool) -> bool:
        """Whether the desk's banner tells this user: compliance officers of every pause, everyone of a pause of
        everything or of a jurisdiction, a team's members and its supervisor of the team's."""
        if sees_all or self.scope != PauseScope.TEAM:
            return True
        return user_id in self.collector_ids or user_id == self.supervisor_id

    @property
    def jurisdiction_label(self) -> str:
        """The jurisdiction in words, in the reader's language (the banner never shows a code)."""
        return str(Jurisdiction(self.jurisdiction).label) if self.jurisdiction else ""

    def in_force(self, at: datetime) -> bool:
        return self.starts_at <= at and (self.ends_at is None or self.ends_at > at)

    @property
    def fact(self) -> policy.PauseFact:
        return policy.PauseFact(pause_id=self.pk, starts_at=self.starts_at, ends_at=self.ends_at, lifted_at=None)


@dataclass(frozen=True)
class LoadedPauses:
    generation: Generation
    pauses: tuple[PauseInForce, ...]

    def facts_for(self, jurisdiction: str, collector_id: int | None) -> tuple[policy.PauseFact, ...]:
        """The pauses whose scope holds a loan of this jurisdiction assigned to this collector (the engine decides
        whether each is in force at the instant judged)."""
        return tuple(p.fact for p in self.pauses if p.covers_loan(jurisdiction, collector_id))

    def for_user(self, user_id: int, at: datetime, *, sees_all: bool) -> list[PauseInForce]:
        """The pauses in force at `at` that the desk's banner shows this user."""
        return [p for p in self.pauses if p.in_force(at) and p.concerns_user(user_id, sees_all=sees_all)]


def _load(generation: Generation) -> LoadedPauses:
    rows = list(
        IncidentPause.objects.filter(lifted_at__isnull=True).order_by("starts_at", "pk").values_list(
            "pk", "scope", "jurisdiction", "team_id", "reason", "reference", "drill", "starts_at", "ends_at",
            "team__supervisor_id")
    )
    team_ids = {row[3] for row in rows if row[3] is not None}
    members: dict[int, set[int]] = {}
    if team_ids:
        for team_id, user_id in TeamMember.objects.filter(team_id__in=team_ids).values_list("team_id", "user_id"):
            members.setdefault(team_id, set()).add(user_id)
    pauses = tuple(
        PauseInForce(pk=pk, scope=scope, jurisdiction=jurisdiction, team_id=team_id,
                     collector_ids=frozenset(members.get(team_id, ())) if team_id else frozenset(),
                     supervisor_id=supervisor_id, reason=reason, reference=reference, drill=drill,
                     starts_at=starts_at, ends_at=ends_at)
        for pk, scope, jurisdiction, team_id, reason, reference, drill, starts_at, ends_at, supervisor_id in rows
    )
    return LoadedPauses(generation=generation, pauses=pauses)


_cache = GenerationCache(_load)


def pauses_at(generation: Generation) -> LoadedPauses:
    """The unlifted incident pauses as of `generation`, which the caller has just read from the database."""
    return _cache.get(generation)
