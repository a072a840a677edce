"""Who may negotiate, decide and read plans — the plans' part of collections_app.permissions (STYLE.md §6).

- Promises and plans are made by the loan's assigned collector only.
- A plan beyond the collector's limits is decided by the supervisor of the loan's collector's team (as the team
  stands at decision time, the desk's visibility rule); a plan beyond the supervisor's limits by compliance. A
  compliance officer may also decide a supervisor-level plan (compliance is above the supervisor).
- A plan the user may not decide is a 404 in the views, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from ..models import ApprovalLevel, Loan, PlanState, RepaymentPlan
from ..permissions import is_collector, is_compliance, is_supervisor, loans_visible_to, supervises_loan


def may_negotiate(user: Any, loan: Loan) -> bool:
    """Create a promise or propose a plan: the assigned collector."""
    return bool(is_collector(user)) and loan.assigned_collector_id == user.pk


def may_cancel(user: Any, loan: Loan) -> bool:
    """Withdraw a promise or cancel a plan: the assigned collector, the team's supervisor, or compliance."""
    return may_negotiate(user, loan) or bool(is_compliance(user)) or (
        bool(is_supervisor(user)) and bool(supervises_loan(user, loan))
    )


def plans_decidable_by(user: Any, queryset: QuerySet | None = None) -> QuerySet[RepaymentPlan]:
    """Plans awaiting approval that `user` may approve or decline."""
    qs = RepaymentPlan.objects.all() if queryset is None else queryset
    qs = qs.filter(state=PlanState.PENDING_APPROVAL)
    if is_compliance(user):
        return qs
    if is_supervisor(user):
        return qs.filter(
            required_level=ApprovalLevel.SUPERVISOR,
            loan__assigned_collector__team_membership__team__supervisor=user,
        )
    return qs.none()


def may_decide(user: Any, plan: RepaymentPlan) -> bool:
    if plan.state != PlanState.PENDING_APPROVAL or plan.collector_id == user.pk:
        return False
    if is_compliance(user):
        return True
    return (
        plan.required_level == ApprovalLevel.SUPERVISOR
        and bool(is_supervisor(user))
        and bool(supervises_loan(user, plan.loan))
    )


def may_read_reports(user: Any) -> bool:
    return bool(is_compliance(user)) or bool(is_supervisor(user))


def report_scope(user: Any) -> Q:
    """The collectors whose numbers a user may read, as a condition on the user model."""
    if is_compliance(user):
        return Q()
    if is_supervisor(user):
        return Q(team_membership__team__supervisor=user)
    return Q(pk__in=[])


def plans_visible_to(user: Any, queryset: QuerySet | None = None) -> QuerySet[RepaymentPlan]:
    qs = RepaymentPlan.objects.all() if queryset is None else queryset
    if is_compliance(user):
        return qs
    return qs.filter(loan__in=loans_visible_to(user).values("pk"))
