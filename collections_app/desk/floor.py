"""The supervisor's floor figures (the team page): per collector and per team, today and this month, each on the
clock of the collector's team (workday.py):

- right-party contacts: attempts whose party reached is the borrower and whose outcome is a conversation;
- promises made (by their creation) and promises kept (by when they were kept);
- the amount collected: payments, by their payment time, on the loans now assigned to the collector, per currency;
- accounts worked: distinct loans with an attempt by the collector (for a team: distinct across its collectors).

Every figure is counted in SQL, in a fixed number of queries whatever the number of collectors, teams, zones and
rows: each period is one condition per zone the collectors work in, inside conditional aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from ..amounts import Amounts, add_amounts
from ..models import AttemptOutcome, AttemptParty, ContactAttempt, Payment, Promise, PromiseState
from ..permissions import payments_visible_to, supervised_collectors
from ..workday import team_zone, work_date_in

PERIODS = ("today", "month")


@dataclass
class Figures:
    right_party_contacts: int = 0
    promises_made: int = 0
    promises_kept: int = 0
    accounts_worked: int = 0
    collected: Amounts = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        """Add a collector's counts (not accounts worked: a loan two collectors worked counts once for a team)."""
        self.right_party_contacts += other.right_party_contacts
        self.promises_made += other.promises_made
        self.promises_kept += other.promises_kept
        add_amounts(self.collected, other.collected)

    @property
    def collected_amounts(self) -> list[tuple[str, Decimal]]:
        return sorted(self.collected.items())


@dataclass
class FloorRow:
    """One collector's or one team's figures: `key` is the collector's or the team's id (None: collectors without
    a team), `today` the day of `day` on the zone's clock, `month` its month."""

    key: int | None
    label: str
    zone: str
    day: date
    today: Figures = field(default_factory=Figures)
    month: Figures = field(default_factory=Figures)


@dataclass(frozen=True)
class Floor:
    collectors: list[FloorRow]
    teams: list[FloorRow]


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))


def _bounds(zone: str, now: datetime) -> dict[str, tuple[datetime, datetime]]:
    """Today's and this month's [start, end) on the zone's clock."""
    today = work_date_in(zone, now)
    first = today.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return {"today": (_midnight(today, zone), _midnight(today + timedelta(days=1), zone)),
            "month": (_midnight(first, zone), _midnight(next_first, zone))}


def floor_figures(user: Any, now: datetime) -> Floor:
    """The figures of the collectors `user` supervises (compliance: every collector), and of their teams. Five
    queries: the collectors with their teams, the attempts per collector, the accounts worked per team, the
    promises per collector, the payments per collector and currency."""
    people = list(supervised_collectors(user).values_list(
        "pk", "username", "team_membership__team_id", "team_membership__team__name",
        "team_membership__team__timezone"))
    if not people:
        return Floor([], [])
    zones: dict[str, list[int]] = {}
    rows: dict[int, FloorRow] = {}
    teams: dict[int | None, FloorRow] = {}
    team_of: dict[int, int | None] = {}
    for pk, username, team_id, team_name, team_timezone in people:
        zone = team_zone(team_timezone) if team_id is not None else settings.TIME_ZONE
        zones.setdefault(zone, []).append(pk)
        day = work_date_in(zone, now)
        rows[pk] = FloorRow(pk, username, zone, day)
        team_of[pk] = team_id
        if team_id not in teams:
            teams[team_id] = FloorRow(team_id, team_name or _("No team"), zone, day)
    bounds = {zone: _bounds(zone, now) for zone in zones}
    ids = list(rows)
    earliest = min(b["month"][0] for b in bounds.values())
    latest = max(b["month"][1] for b in bounds.values())

    def period(name: str, when: str, who: str) -> Q:
        """`when` in period `name` on the clock of the collector at `who`: one condition per zone."""
        condition = Q(pk__in=[])
        for zone, members in zones.items():
            start, end = bounds[zone][name]
            condition |= Q(**{f"{who}__in": members, f"{when}__gte": start, f"{when}__lt": end})
        return condition

    right_party = Q(party=AttemptParty.DEBTOR, outcome=AttemptOutcome.CONVERSATION)
    attempts = ContactAttempt.objects.filter(collector_id__in=ids, started_at__gte=earliest, started_at__lt=latest)
    worked = {name: Count("loan_id", distinct=True, filter=period(name, "started_at", "collector_id"))
              for name in PERIODS}
    for row in attempts.values("collector_id").order_by().annotate(
        **{f"rpc_{name}": Count("pk", filter=right_party & period(name, "started_at", "collector_id"))
           for name in PERIODS},
        **{f"worked_{name}": worked[name] for name in PERIODS},
    ):
        for name in PERIODS:
            figures = getattr(rows[row["collector_id"]], name)
            figures.right_party_contacts = row[f"rpc_{name}"]
            figures.accounts_worked = row[f"worked_{name}"]
    for row in attempts.values("collector__team_membership__team_id").order_by().annotate(
            **{f"worked_{name}": worked[name] for name in PERIODS}):
        team = teams.get(row["collector__team_membership__team_id"])
        if team is not None:
            for name in PERIODS:
                getattr(team, name).accounts_worked = row[f"worked_{name}"]

    promises = Promise.objects.filter(
        Q(created_at__gte=earliest, created_at__lt=latest) | Q(kept_at__gte=earliest, kept_at__lt=latest),
        collector_id__in=ids,
    )
    kept = Q(state=PromiseState.KEPT)
    for row in promises.values("collector_id").order_by().annotate(
        **{f"made_{name}": Count("pk", filter=period(name, "created_at", "collector_id")) for name in PERIODS},
        **{f"kept_{name}": Count("pk", filter=kept & period(name, "kept_at", "collector_id")) for name in PERIODS},
    ):
        for name in PERIODS:
            figures = getattr(rows[row["collector_id"]], name)
            figures.promises_made = row[f"made_{name}"]
            figures.promises_kept = row[f"kept_{name}"]

    payments = payments_visible_to(user, Payment.objects.filter(
        loan__assigned_collector_id__in=ids, paid_at__gte=earliest, paid_at__lt=latest))
    for row in payments.values("loan__assigned_collector_id", "loan__currency").order_by().annotate(
        **{name: Sum("amount", filter=period(name, "paid_at", "loan__assigned_collector_id")) for name in PERIODS},
    ):
        for name in PERIODS:
            if row[name]:
                getattr(rows[row["loan__assigned_collector_id"]], name).collected[row["loan__currency"]] = row[name]

    for pk, collector_row in rows.items():
        team = teams[team_of[pk]]
        team.today.add(collector_row.today)
        team.month.add(collector_row.month)
    return Floor(
        collectors=sorted(rows.values(), key=lambda r: r.label),
        teams=sorted(teams.values(), key=lambda r: (r.key is None, r.label)),
    )
