"""Promise and plan outcomes per collector and team (the supervisor's report page and admin).

Definitions (shown on the page):
- Promises and plans count when *made* in the period, by the collector who negotiated them.
- Kept rate = kept / (kept + broken): pending promises are not decided yet and cancelled (superseded) ones are not
  outcomes, so neither counts.
- Promised = the amounts of promises not cancelled, plus the agreed totals of plans that became active.
- Collected = what was paid toward those promises (capped at each promise's amount), plus what was paid toward
  those plans' installments.
Amounts are kept per currency (the loan's): a sum across CNY, USD and GBP would mean nothing.
Four queries whatever the number of collectors and rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Least
from django.utils import timezone

from collections_app.permissions import report_scope

from ..amounts import Amounts, add_amount, add_amounts
from ..models import Installment, PlanState, Promise, PromiseState, RepaymentPlan

ZERO = Decimal("0")
PLAN_OUTCOMES = [s.value for s in PlanState if s != PlanState.PROPOSED]


@dataclass
class ReportRow:
    label: str
    team: str = ""
    promises: int = 0
    kept: int = 0
    broken: int = 0
    pending: int = 0
    cancelled: int = 0
    promised_on_promises: Amounts = field(default_factory=dict)
    collected_on_promises: Amounts = field(default_factory=dict)
    plans: int = 0
    plan_states: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PLAN_OUTCOMES, 0))
    promised_on_plans: Amounts = field(default_factory=dict)
    collected_on_plans: Amounts = field(default_factory=dict)

    @property
    def kept_rate(self) -> Decimal | None:
        decided = self.kept + self.broken
        return (Decimal(self.kept) * 100 / decided).quantize(Decimal("0.1")) if decided else None

    @property
    def promised(self) -> Amounts:
        return _sum(self.promised_on_promises, self.promised_on_plans)

    @property
    def collected(self) -> Amounts:
        return _sum(self.collected_on_promises, self.collected_on_plans)

    @property
    def promised_amounts(self) -> list[tuple[str, Decimal]]:
        return sorted(self.promised.items())

    @property
    def collected_amounts(self) -> list[tuple[str, Decimal]]:
        return sorted(self.collected.items())

    @property
    def plan_outcomes(self) -> list[int]:
        return [self.plan_states[s] for s in PLAN_OUTCOMES]

    def add(self, other: ReportRow) -> None:
        for name in ("promises", "kept", "broken", "pending", "cancelled", "plans"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("promised_on_promises", "collected_on_promises", "promised_on_plans", "collected_on_plans"):
            add_amounts(getattr(self, name), getattr(other, name))
        for state, n in other.plan_states.items():
            self.plan_states[state] += n


def _sum(*parts: Amounts) -> Amounts:
    total: Amounts = {}
    for part in parts:
        add_amounts(total, part)
    return total


@dataclass
class PlanReport:
    date_from: date
    date_to: date
    collectors: list[ReportRow]
    teams: list[ReportRow]
    total: ReportRow


def _bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (datetime.combine(date_from, time.min, tzinfo=tz),
            datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz))


def plan_report(*, user: Any, date_from: date, date_to: date) -> PlanReport:
    start, end = _bounds(date_from, date_to)
    User = get_user_model()
    scope = report_scope(user)
    collectors_in_scope = User.objects.filter(scope).values("pk")
    rows: dict[int, ReportRow] = {}

    def row(collector_id: int) -> ReportRow:
        return rows.setdefault(collector_id, ReportRow(label=""))

    # 1: promises per collector
    counted = ~Q(state=PromiseState.CANCELLED)
    for r in (
        Promise.objects.filter(created_at__gte=start, created_at__lt=end, collector__in=collectors_in_scope)
        .values("collector_id", "loan__currency")
        .annotate(
            n=Count("pk"),
            kept=Count("pk", filter=Q(state=PromiseState.KEPT)),
            broken=Count("pk", filter=Q(state=PromiseState.BROKEN)),
            pending=Count("pk", filter=Q(state=PromiseState.PENDING)),
            cancelled=Count("pk", filter=Q(state=PromiseState.CANCELLED)),
            promised=Sum("amount", filter=counted),
            collected=Sum(Least(F("paid_amount"), F("amount")), filter=counted),
        )
        .order_by()
    ):
        x = row(r["collector_id"])
        x.promises += r["n"]
        x.kept += r["kept"]
        x.broken += r["broken"]
        x.pending += r["pending"]
        x.cancelled += r["cancelled"]
        add_amount(x.promised_on_promises, r["loan__currency"], r["promised"])
        add_amount(x.collected_on_promises, r["loan__currency"], r["collected"])
    # 2: plans per collector and state
    plans_in_period = RepaymentPlan.objects.filter(created_at__gte=start, created_at__lt=end,
                                                   collector__in=collectors_in_scope)
    for r in (
        plans_in_period.values("collector_id", "state", "loan__currency")
        .annotate(n=Count("pk"), agreed=Sum("agreed_total", filter=Q(activated_at__isnull=False)))
        .order_by()
    ):
        x = row(r["collector_id"])
        x.plans += r["n"]
        if r["state"] in x.plan_states:
            x.plan_states[r["state"]] += r["n"]
        add_amount(x.promised_on_plans, r["loan__currency"], r["agreed"])
    # 3: paid toward those plans' installments
    for r in (
        Installment.objects.filter(plan__in=plans_in_period.values("pk"))
        .values("plan__collector_id", "plan__loan__currency").annotate(paid=Sum("paid_amount")).order_by()
    ):
        add_amount(row(r["plan__collector_id"]).collected_on_plans, r["plan__loan__currency"], r["paid"])
    # 4: the collectors' names and teams
    people = User.objects.filter(pk__in=list(rows)).select_related("team_membership__team")
    no_team = "—"
    for person in people:
        membership = getattr(person, "team_membership", None)
        rows[person.pk].label = person.get_username()
        rows[person.pk].team = membership.team.name if membership is not None else no_team

    collectors = sorted(rows.values(), key=lambda r: (r.team, r.label))
    teams: dict[str, ReportRow] = {}
    total = ReportRow(label="")
    for collector_row in collectors:
        teams.setdefault(collector_row.team, ReportRow(label=collector_row.team, team=collector_row.team)).add(
            collector_row)
        total.add(collector_row)
    return PlanReport(date_from=date_from, date_to=date_to, collectors=collectors,
                      teams=sorted(teams.values(), key=lambda r: r.label), total=total)
