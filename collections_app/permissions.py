"""Who may see and do what — in one place (STYLE.md §6).

Roles are Django groups created by a data migration. Object access is decided here by `rules` predicates and
by `loans_visible_to`, which every view and selector uses; an object the user may not see is a 404, never a
403 that would confirm it exists.
"""

from __future__ import annotations

from typing import Any

import rules
from django.db.models import Q, QuerySet
from django.http import Http404

COLLECTOR = "Collector"
SUPERVISOR = "Supervisor"
COMPLIANCE = "Compliance officer"
INTEGRATION = "Integration"
ROLE_GROUPS = (COLLECTOR, SUPERVISOR, COMPLIANCE, INTEGRATION)


def _groups(user: Any) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_role_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_groups = cached
    return cached


@rules.predicate
def is_collector(user: Any) -> bool:
    return COLLECTOR in _groups(user)


@rules.predicate
def is_supervisor(user: Any) -> bool:
    return SUPERVISOR in _groups(user)


@rules.predicate
def is_compliance(user: Any) -> bool:
    return COMPLIANCE in _groups(user) or bool(getattr(user, "is_superuser", False))


@rules.predicate
def is_integration(user: Any) -> bool:
    return INTEGRATION in _groups(user)


@rules.predicate
def is_assigned_collector(user: Any, loan: Any) -> bool:
    return loan is not None and loan.assigned_collector_id == user.pk


@rules.predicate
def supervises_loan(user: Any, loan: Any) -> bool:
    if loan is None or loan.assigned_collector_id is None:
        return False
    from .models import TeamMember

    return TeamMember.objects.filter(user_id=loan.assigned_collector_id, team__supervisor=user).exists()


can_view_loan = is_compliance | (is_supervisor & supervises_loan) | (is_collector & is_assigned_collector)
rules.add_perm("collections_app.view_loan_desk", can_view_loan)
rules.add_perm("collections_app.reveal_phone", can_view_loan)


def role_of(user: Any) -> str | None:
    """The user's main role for navigation: compliance > supervisor > collector > integration."""
    if is_compliance(user):
        return "compliance"
    if is_supervisor(user):
        return "supervisor"
    if is_collector(user):
        return "collector"
    if is_integration(user):
        return "integration"
    return None


def loans_visible_to(user: Any, queryset: QuerySet | None = None) -> QuerySet:
    """The loans a user may see on the desk: compliance all, a supervisor their team's, a collector their own."""
    from .models import Loan

    qs = Loan.objects.all() if queryset is None else queryset
    if is_compliance(user):
        return qs
    condition = Q(pk__in=[])
    if is_supervisor(user):
        condition |= Q(assigned_collector__team_membership__team__supervisor=user)
    if is_collector(user):
        condition |= Q(assigned_collector=user)
    return qs.filter(condition)


def get_loan_for_user_or_404(user: Any, loan_ref: str, queryset: QuerySet | None = None) -> Any:
    loan = loans_visible_to(user, queryset).filter(loan_ref=loan_ref).first()
    if loan is None:
        raise Http404("No such loan.")
    return loan


# --- Desk actions -------------------------------------------------------------------------------------------------

# Only the assigned collector starts contact; supervisors and compliance read.
can_contact = is_collector & is_assigned_collector
rules.add_perm("collections_app.contact_loan", can_contact)
# Holds are placed and lifted by the loan's supervisor or compliance.
can_manage_holds = is_compliance | (is_supervisor & supervises_loan)
rules.add_perm("collections_app.manage_holds", can_manage_holds)


def supervised_collectors(user: Any) -> QuerySet:
    """The collectors of the teams this user supervises (compliance: every collector)."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(groups__name=COLLECTOR)
    if is_compliance(user):
        return users.order_by("username")
    if is_supervisor(user):
        return users.filter(team_membership__team__supervisor=user).order_by("username")
    return users.none()


def get_supervised_collector_or_404(user: Any, username: str) -> Any:
    collector = supervised_collectors(user).filter(username=username).first()
    if collector is None:
        raise Http404("No such collector.")
    return collector
