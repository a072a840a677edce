"""Reads of promises and plans for the desk, the approval queues and the account panel; each in a fixed number of
queries whatever the number of rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Field, Min, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from collections_app.permissions import plans_decidable_by, plans_visible_to

from ..amounts import format_amount
from ..models import (
    Allocation,
    ApprovalLevel,
    ApprovalLimit,
    Installment,
    InstallmentState,
    LimitRole,
    Loan,
    PlanState,
    Promise,
    PromiseState,
    RepaymentPlan,
)
from ..workday import collector_zone
from .services import approval_limits
from .terms import LIMIT_FIELDS, Breach, Limits, Terms, breach_of, breaches

# Worklist signals; the desk puts "broken" before "due" (docs/worklist.md).
BROKEN = "broken"
DUE = "due"
_STRENGTH = {BROKEN: 0, DUE: 1}


def loans_with_broken_or_due_promises(loan_ids: Iterable[int], today: date) -> dict[int, str]:
    """For the worklist: loan id → "broken" or "due" (the stronger when both apply):
    - "broken": a promise or plan broken within the last PROMISE_BROKEN_WORKLIST_DAYS days, and the borrower has
      made no new promise or plan since (that new commitment is then what to follow up);
    - "due": a pending promise whose date is today or past (still within its grace days), or an active plan's
      unpaid installment due today or past.
    Loans with none of these are absent. Two queries (promises, plans) whatever the number of loans. Which
    promise or plan broke is in broken_promise_alerts."""
    ids = list(loan_ids)
    if not ids:
        return {}
    since = datetime.combine(today - timedelta(days=settings.PROMISE_BROKEN_WORKLIST_DAYS), datetime.min.time(),
                             tzinfo=timezone.get_current_timezone())
    found: dict[int, str] = {}
    newest_commitment: dict[int, datetime] = {}
    broken: list[tuple[int, datetime]] = []

    def offer(loan_id: int, signal: str) -> None:
        if loan_id not in found or _STRENGTH[signal] < _STRENGTH[found[loan_id]]:
            found[loan_id] = signal

    promises = Promise.objects.filter(
        Q(state=PromiseState.PENDING) | Q(state=PromiseState.BROKEN, broken_at__gte=since), loan_id__in=ids
    ).values_list("loan_id", "state", "due_date", "created_at", "broken_at")
    for loan_id, state, due_date, created_at, broken_at in promises:
        if state == PromiseState.PENDING:
            newest_commitment[loan_id] = max(created_at, newest_commitment.get(loan_id, created_at))
            if due_date <= today:
                offer(loan_id, DUE)
        elif broken_at is not None:  # always: a broken promise is selected by broken_at >= since
            broken.append((loan_id, broken_at))
    plans = (
        RepaymentPlan.objects.filter(
            Q(state__in=[PlanState.ACTIVE, PlanState.PENDING_APPROVAL])
            | Q(state=PlanState.BROKEN, broken_at__gte=since),
            loan_id__in=ids,
        )
        .annotate(next_due=Min("installments__due_date", filter=Q(installments__state=InstallmentState.PENDING)))
        .values_list("loan_id", "state", "next_due", "created_at", "broken_at")
    )
    for loan_id, state, next_due, created_at, broken_at in plans:
        if state == PlanState.BROKEN:
            if broken_at is not None:  # always: a broken plan is selected by broken_at >= since
                broken.append((loan_id, broken_at))
            continue
        newest_commitment[loan_id] = max(created_at, newest_commitment.get(loan_id, created_at))
        if state == PlanState.ACTIVE and next_due is not None and next_due <= today:
            offer(loan_id, DUE)
    for loan_id, broken_at in broken:
        # A new promise or plan made after the break replaces it as the thing to follow up.
        if newest_commitment.get(loan_id) is None or newest_commitment[loan_id] < broken_at:
            offer(loan_id, BROKEN)
    return found


@dataclass(frozen=True)
class BrokenAlert:
    kind: str  # "promise" or "plan"
    object_id: int
    loan_id: int
    loan_ref: str
    amount: Decimal  # the promised amount, or the plan's agreed total
    due_date: date | None  # the promised date, or the first broken installment's
    broken_at: datetime
    currency: str = ""

    @property
    def text(self) -> str:
        """One line for the collector's worklist."""
        values = {"amount": format_amount(self.amount, self.currency), "id": self.object_id,
                  "date": self.due_date.isoformat() if self.due_date else "-"}
        if self.kind == "promise":
            return _("Promise of %(amount)s due %(date)s was broken.") % values
        return _("Plan #%(id)s (%(amount)s) was broken: the installment due %(date)s is unpaid.") % values


def promises_made_counts(collector_ids: Iterable[int], today: date, zone: str | None = None) -> dict[int, int]:
    """Promises each collector recorded on `today` (a day on the clock of `zone`, default the reader's), for the
    supervisor's team page. One query."""
    tz = ZoneInfo(zone) if zone else timezone.get_current_timezone()
    start = datetime.combine(today, datetime.min.time(), tzinfo=tz)
    rows = (
        Promise.objects.filter(collector_id__in=list(collector_ids), created_at__gte=start,
                               created_at__lt=start + timedelta(days=1))
        .values("collector_id").annotate(n=Count("pk")).order_by()
    )
    return {row["collector_id"]: row["n"] for row in rows}


def broken_promise_alerts(collector: Any, since: datetime) -> list[BrokenAlert]:
    """The promises and plans broken since `since` on the loans now assigned to `collector`, newest first, for
    their worklist. Two queries."""
    promises = (
        Promise.objects.filter(loan__assigned_collector=collector, state=PromiseState.BROKEN, broken_at__gte=since)
        .values_list("pk", "loan_id", "loan__loan_ref", "amount", "due_date", "broken_at", "loan__currency")
    )
    plans = (
        RepaymentPlan.objects.filter(loan__assigned_collector=collector, state=PlanState.BROKEN,
                                     broken_at__gte=since)
        .annotate(first_broken=Min("installments__due_date", filter=Q(installments__state=InstallmentState.BROKEN)))
        .values_list("pk", "loan_id", "loan__loan_ref", "agreed_total", "first_broken", "broken_at",
                     "loan__currency")
    )
    alerts = [
        BrokenAlert(kind, pk, loan_id, loan_ref, amount, due_date, broken_at, currency)
        for kind, rows in (("promise", promises), ("plan", plans))
        for pk, loan_id, loan_ref, amount, due_date, broken_at, currency in rows
        if broken_at is not None  # always: both queries select by broken_at >= since
    ]
    return sorted(alerts, key=lambda a: (a.broken_at, a.kind, a.object_id), reverse=True)


# --- The account panel, plan pages and queues --------------------------------------------------------------------


@dataclass(frozen=True)
class AccountPlans:
    promises: list[Promise]
    plans: list[RepaymentPlan]

    @property
    def open_plan(self) -> RepaymentPlan | None:
        return next((p for p in self.plans if p.state in (PlanState.PENDING_APPROVAL, PlanState.ACTIVE)), None)


def account_plans(loan: Loan, *, limit: int = 20) -> AccountPlans:
    """The loan's latest promises and plans with their installments. Three queries."""
    promises = list(Promise.objects.filter(loan=loan).select_related("collector").order_by("-created_at", "-id")
                    [:limit])
    plans = list(
        RepaymentPlan.objects.filter(loan=loan)
        .select_related("collector", "approver", "decided_by")
        .prefetch_related(Prefetch("installments", queryset=Installment.objects.order_by("due_date", "number")))
        .order_by("-created_at", "-id")[:limit]
    )
    return AccountPlans(promises=promises, plans=plans)


def plan_detail_for_user(user: Any, pk: int) -> RepaymentPlan:
    queryset = plans_visible_to(user, RepaymentPlan.objects.select_related(
        "loan", "loan__assigned_collector", "collector", "approver", "decided_by"
    ).prefetch_related(
        Prefetch("installments", queryset=Installment.objects.order_by("due_date", "number")),
        Prefetch("allocations", queryset=Allocation.objects.select_related("payment", "installment")
                 .order_by("payment__paid_at", "id")),
    ))
    return get_object_or_404(queryset, pk=pk)


def decidable_plan_or_404(user: Any, pk: int) -> RepaymentPlan:
    """A plan awaiting `user`'s decision; anything else (not theirs, not pending, not visible) is a 404."""
    plan = plans_decidable_by(user, RepaymentPlan.objects.select_related("loan")).filter(pk=pk).first()
    if plan is None:
        raise Http404("No such plan awaiting your decision.")
    return plan


@dataclass(frozen=True)
class LimitBreach:
    """One approval limit a waiting plan goes beyond, for the approver: whose limit (a LimitRole), its name, its
    value and the plan's figure."""

    role: str
    name: str
    breach: Breach

    @property
    def role_label(self) -> str:
        return str(LimitRole(self.role).label)

    @property
    def is_percent(self) -> bool:
        return self.breach.code == "discount"


def plan_terms(plan: RepaymentPlan, installments: list[Installment]) -> Terms:
    """The figures the approval limits judged `plan` by when it was proposed (plans.services.plan_propose): its
    number of installments, its exact discount, and the days from the proposal (on its collector's team's clock)
    to the first installment. `installments` in date order."""
    balance = plan.balance_at_proposal
    discount = (balance - plan.agreed_total) * 100 / balance if balance else Decimal("0")
    proposed_on = plan.created_at.astimezone(ZoneInfo(collector_zone(plan.collector))).date()
    first_due = installments[0].due_date if installments else proposed_on
    return Terms(len(installments), discount, (first_due - proposed_on).days)


def limit_breaches(plan: RepaymentPlan, installments: list[Installment],
                   limits: dict[str, Limits]) -> list[LimitBreach]:
    """Which approval limits `plan` is waiting on: the collector's limits it was routed for (its stored
    `exceeded_limits`, against the limits in force now), and for a plan that went to compliance the supervisor's
    ones it goes beyond too."""
    terms = plan_terms(plan, installments)
    names = {code: str(cast(Field, ApprovalLimit._meta.get_field(field)).verbose_name)
             for code, field in LIMIT_FIELDS.items()}
    found = [LimitBreach(LimitRole.COLLECTOR, names[code], breach_of(terms, limits[LimitRole.COLLECTOR], code))
             for code in LIMIT_FIELDS if code in (plan.exceeded_limits or [])]
    if plan.required_level == ApprovalLevel.COMPLIANCE:
        found += [LimitBreach(LimitRole.SUPERVISOR, names[breach.code], breach)
                  for breach in breaches(terms, limits[LimitRole.SUPERVISOR])]
    return found


def approval_queue(user: Any) -> dict[str, list[RepaymentPlan]]:
    """Plans awaiting the user's decision, oldest first, split by level ("supervisor", "compliance"), each with
    `limit_breaches` (which approval limits it waits on, see limit_breaches). Three queries whatever the number
    of plans: plans with loans and people (the collector's team, whose clock the proposal day is on), their
    installments, the approval limits."""
    plans = list(
        plans_decidable_by(user)
        .select_related("loan", "collector__team_membership__team", "approver")
        .prefetch_related(Prefetch("installments", queryset=Installment.objects.order_by("due_date", "number")))
        .order_by("created_at", "id")
    )
    limits = approval_limits()
    for plan in plans:
        plan.limit_breaches = limit_breaches(plan, list(plan.installments.all()), limits)  # type: ignore[attr-defined]
    return {
        ApprovalLevel.COMPLIANCE: [p for p in plans if p.required_level == ApprovalLevel.COMPLIANCE],
        ApprovalLevel.SUPERVISOR: [p for p in plans if p.required_level == ApprovalLevel.SUPERVISOR],
    }
