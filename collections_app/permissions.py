"""Who may see and do what — in one place (STYLE.md §6). Nothing else in the project decides access.

Roles are Django groups created by a data migration; a superuser counts as a compliance officer. This module
holds:
- the role predicates (`is_collector`, `is_supervisor`, `is_compliance`, `is_integration`), built with `rules`;
- the object predicates (`can_view_loan`, `can_contact`, `may_decide`, `can_lift_restriction`, ...);
- one queryset scope per model (`loans_visible_to(user)`, `restrictions_visible_to(user)`,
  `attempts_visible_to(user)`, ...), which the desk views, the admin (through `consent_app.scopes`, registered by
  `register_scopes()` at start-up), the reports and the API all use.

An object the user may not see is a 404, never a 403 that would confirm it exists.

The rules:
- Compliance officers see everything. A supervisor sees the loans of their team's collectors and what hangs off
  them; a collector their assigned loans. The Integration API acts for the lender's systems of record.
- Only the assigned collector contacts a borrower, makes promises and proposes plans.
- A plan beyond the collector's limits is decided by the supervisor of the loan's collector's team (as the team
  stands at decision time); beyond the supervisor's limits, by compliance; never by the plan's own collector.
- Holds are placed by the loan's supervisor or compliance. Restrictions are lifted: `temporary_hold` by the
  supervisor of the loan it is on (borrower-wide: only when every active loan of the borrower is in their team);
  `complaint_hold` by whoever may act on its complaint (closing the complaint lifts it); `attorney`,
  `cease_communication`, `dispute`, `bankruptcy` and `deceased` by compliance officers only (a represented or
  ceased borrower must not become callable on a supervisor's say-so); the Integration API lifts what the loan
  system tells it to.
- Complaints: compliance sees and acts on all; a supervisor sees their team's and those assigned to them and
  acts on the ones assigned to them while in the supervisor queue; a collector sees, on their own accounts, a
  summary of the complaints that name no other collector.
"""

from __future__ import annotations

from typing import Any

import rules
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from consent_app import scopes
from consent_app.models import (
    Borrower,
    Consent,
    InconvenientTime,
    PhoneNumber,
    Restriction,
    RestrictionKind,
    ThirdPartyContact,
)

from .models import (
    Allocation,
    ApiToken,
    ApprovalLevel,
    ApprovalLimit,
    Complaint,
    ComplaintQueue,
    ContactAttempt,
    ContactPolicy,
    ContactPolicyVersion,
    ForbiddenPhrase,
    IncidentPause,
    Installment,
    Loan,
    LoanStatus,
    MessageTemplate,
    MessageTemplateVersion,
    Payment,
    PlanState,
    Promise,
    PublicHoliday,
    RepaymentPlan,
    StaffProfile,
    Team,
    TeamMember,
)

COLLECTOR = "Collector"
SUPERVISOR = "Supervisor"
COMPLIANCE = "Compliance officer"
INTEGRATION = "Integration"
ROLE_GROUPS = (COLLECTOR, SUPERVISOR, COMPLIANCE, INTEGRATION)

# Lifted by compliance officers only, in the desk and the admin (see the module docstring).
COMPLIANCE_LIFT_KINDS = frozenset({
    RestrictionKind.ATTORNEY, RestrictionKind.CEASE_COMMUNICATION, RestrictionKind.DISPUTE,
    RestrictionKind.BANKRUPTCY, RestrictionKind.DECEASED,
})


# --- Roles -------------------------------------------------------------------------------------------------------


def _groups(user: Any) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_role_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_groups = cached
    return cached


def role_group_annotations(user_field: str) -> dict[str, Exists]:
    """One boolean annotation per role group (`in_role_0`, ... in ROLE_GROUPS' order): whether the user that
    `user_field` of each row points at is in it. A lookup that loads a user (the API's bearer token) loads the
    roles in the same query and hands them to the predicates with `remember_role_groups`."""
    memberships = get_user_model().groups.through.objects
    return {
        f"in_role_{i}": Exists(memberships.filter(user_id=OuterRef(user_field), group__name=name))
        for i, name in enumerate(ROLE_GROUPS)
    }


def remember_role_groups(user: Any, row: Any) -> None:
    """The role groups read by `role_group_annotations` on `row`, kept on `user` for this request: the role
    predicates only ask about these groups, so they then need no query."""
    user._role_groups = frozenset(name for i, name in enumerate(ROLE_GROUPS) if getattr(row, f"in_role_{i}"))


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


# Supervisors and compliance officers: the team page, reports, the complaint review.
is_supervisor_or_compliance = is_supervisor | is_compliance


@rules.predicate
def is_admin_user(user: Any) -> bool:
    """May open the admin (is_staff), or is a superuser."""
    return bool(getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))


# Who signs in with a second factor (collections_app.staff): whoever reads personal data beyond their own assigned
# accounts or uses the admin. Collectors work only their assigned accounts on the desk and are not asked. (The
# attribute check comes first: it needs no query.)
needs_second_factor = is_admin_user | is_supervisor | is_compliance


def may_set_time_zone(actor: Any, user: Any) -> bool:
    """Whose own clock (StaffProfile.time_zone) `actor` may set: their own, or anyone's for a superuser."""
    if not getattr(actor, "is_authenticated", False):
        return False
    return actor.pk == user.pk or bool(getattr(actor, "is_superuser", False))


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


# --- Loans and what hangs off them -----------------------------------------------------------------------------


@rules.predicate
def is_assigned_collector(user: Any, loan: Loan | None) -> bool:
    return loan is not None and loan.assigned_collector_id == user.pk


@rules.predicate
def supervises_loan(user: Any, loan: Loan | None) -> bool:
    if loan is None or loan.assigned_collector_id is None:
        return False
    return TeamMember.objects.filter(user_id=loan.assigned_collector_id, team__supervisor=user).exists()


can_view_loan = is_compliance | (is_supervisor & supervises_loan) | (is_collector & is_assigned_collector)
# Only the assigned collector starts contact, promises and proposes plans; supervisors and compliance read.
can_contact = is_collector & is_assigned_collector
# Holds are placed by the loan's supervisor or compliance.
can_manage_holds = is_compliance | (is_supervisor & supervises_loan)
# Withdraw a promise or cancel a plan: the assigned collector, the team's supervisor, or compliance.
can_cancel_arrangement = can_contact | is_compliance | (is_supervisor & supervises_loan)

rules.add_perm("collections_app.view_loan_desk", can_view_loan)
rules.add_perm("collections_app.reveal_phone", can_view_loan)
rules.add_perm("collections_app.contact_loan", can_contact)
rules.add_perm("collections_app.manage_holds", can_manage_holds)


def loans_visible_to(user: Any, queryset: QuerySet[Loan] | None = None) -> QuerySet[Loan]:
    """The loans a user may see: compliance all, a supervisor their team's, a collector their own."""
    qs = Loan.objects.all() if queryset is None else queryset
    if is_compliance(user):
        return qs
    condition = Q(pk__in=[])
    if is_supervisor(user):
        condition |= Q(assigned_collector__team_membership__team__supervisor=user)
    if is_collector(user):
        condition |= Q(assigned_collector=user)
    return qs.filter(condition)


def api_loans_visible_to(user: Any, queryset: QuerySet[Loan] | None = None) -> QuerySet[Loan]:
    """The loans the integration API may name for a token's user: every loan for an Integration user (the API acts
    for the lender's systems of record), none for anyone else (a token's user taken out of the group)."""
    qs = Loan.objects.all() if queryset is None else queryset
    return qs if is_integration(user) else qs.none()


def api_borrowers_visible_to(user: Any, queryset: QuerySet[Borrower] | None = None) -> QuerySet[Borrower]:
    """The borrowers the integration API may read for a token's user: as `api_loans_visible_to`, every borrower for
    an Integration user, none for anyone else."""
    qs = Borrower.objects.all() if queryset is None else queryset
    return qs if is_integration(user) else qs.none()


def api_attempts_visible_to(
    user: Any, queryset: QuerySet[ContactAttempt] | None = None
) -> QuerySet[ContactAttempt]:
    """The contact attempts the integration API may list: those on the loans it may name (every one for an
    Integration user, none for anyone else)."""
    qs = ContactAttempt.objects.all() if queryset is None else queryset
    return qs if is_integration(user) else qs.none()


def get_loan_for_user_or_404(user: Any, loan_ref: str, queryset: QuerySet[Loan] | None = None) -> Loan:
    loan = loans_visible_to(user, queryset).filter(loan_ref=loan_ref).first()
    if loan is None:
        raise Http404("No such loan.")
    return loan


def _by_visible_loan(user: Any, queryset: QuerySet[Any], path: str = "loan") -> QuerySet[Any]:
    """Rows that belong to a loan the user may see."""
    if is_compliance(user):
        return queryset
    return queryset.filter(**{f"{path}__in": loans_visible_to(user).values("pk")})


def payments_visible_to(user: Any, queryset: QuerySet[Payment] | None = None) -> QuerySet[Payment]:
    return _by_visible_loan(user, Payment.objects.all() if queryset is None else queryset)


def attempts_visible_to(user: Any, queryset: QuerySet[ContactAttempt] | None = None) -> QuerySet[ContactAttempt]:
    """Contact attempts on the loans the user may see (collector, outcome and recording included)."""
    return _by_visible_loan(user, ContactAttempt.objects.all() if queryset is None else queryset)


# --- The borrower's data (consent_app) ---------------------------------------------------------------------------


def borrowers_visible_to(user: Any, queryset: QuerySet[Borrower] | None = None) -> QuerySet[Borrower]:
    """Compliance sees every borrower; other staff the borrowers of the loans they may see."""
    qs = Borrower.objects.all() if queryset is None else queryset
    if is_compliance(user):
        return qs
    return qs.filter(pk__in=loans_visible_to(user).values("borrower_id"))


def _by_visible_borrower(user: Any, queryset: QuerySet[Any], path: str) -> QuerySet[Any]:
    if is_compliance(user):
        return queryset
    return queryset.filter(**{f"{path}__in": loans_visible_to(user).values("borrower_id")})


def restrictions_visible_to(user: Any, queryset: QuerySet[Restriction] | None = None) -> QuerySet[Restriction]:
    """A loan's restrictions with the loan; a borrower-wide one with any visible loan of the borrower. Another
    team's restriction on its own loan of a shared borrower is not visible (nor liftable)."""
    qs = Restriction.objects.all() if queryset is None else queryset
    if is_compliance(user):
        return qs
    visible = loans_visible_to(user)
    return qs.filter(
        Q(loan__in=visible.values("pk")) | Q(loan__isnull=True, borrower__in=visible.values("borrower_id"))
    )


@rules.predicate
def can_lift_restriction(user: Any, restriction: Restriction) -> bool:
    """Who may lift which restriction (the module docstring has the rule). Asked by `restriction_lift`."""
    if is_compliance(user) or is_integration(user):
        return True
    if not is_supervisor(user) or restriction.kind in COMPLIANCE_LIFT_KINDS:
        return False
    if restriction.kind == RestrictionKind.COMPLAINT_HOLD:
        complaint = Complaint.objects.filter(hold_restriction=restriction).first()
        return complaint is not None and can_act_on_complaint(user, complaint)
    if restriction.kind != RestrictionKind.TEMPORARY_HOLD:
        return False
    if restriction.loan_id is not None:
        return bool(supervises_loan(user, restriction.loan))
    active = Loan.objects.filter(borrower_id=restriction.borrower_id, status=LoanStatus.ACTIVE)
    outside_team = active.exclude(assigned_collector__team_membership__team__supervisor=user)
    return active.exists() and not outside_team.exists()


rules.add_perm("consent_app.lift_restriction", can_lift_restriction)
# The national id in full (admin change form): compliance officers, who may correct it.
rules.add_perm("consent_app.see_national_id", is_compliance)


# --- Teams and collectors ------------------------------------------------------------------------------------------


def supervised_collectors(user: Any) -> QuerySet[Any]:
    """The collectors of the teams this user supervises (compliance: every collector)."""
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


def teams_visible_to(user: Any, queryset: QuerySet[Team] | None = None) -> QuerySet[Team]:
    qs = Team.objects.all() if queryset is None else queryset
    if is_compliance(user):
        return qs
    return qs.filter(supervisor=user) if is_supervisor(user) else qs.none()


def team_members_visible_to(user: Any, queryset: QuerySet[TeamMember] | None = None) -> QuerySet[TeamMember]:
    qs = TeamMember.objects.all() if queryset is None else queryset
    return qs.filter(team__in=teams_visible_to(user).values("pk")) if not is_compliance(user) else qs


def report_scope(user: Any) -> Q:
    """The collectors whose figures a user may read, as a condition on the user model."""
    if is_compliance(user):
        return Q()
    if is_supervisor(user):
        return Q(team_membership__team__supervisor=user)
    return Q(pk__in=[])


def may_read_reports(user: Any) -> bool:
    return bool(is_supervisor_or_compliance(user))


# --- Promises and plans --------------------------------------------------------------------------------------------


def may_negotiate(user: Any, loan: Loan) -> bool:
    """Create a promise or propose a plan: the assigned collector (the same rule as starting contact)."""
    return bool(can_contact(user, loan))


def may_cancel(user: Any, loan: Loan) -> bool:
    return bool(can_cancel_arrangement(user, loan))


def plans_visible_to(user: Any, queryset: QuerySet[RepaymentPlan] | None = None) -> QuerySet[RepaymentPlan]:
    return _by_visible_loan(user, RepaymentPlan.objects.all() if queryset is None else queryset)


def promises_visible_to(user: Any, queryset: QuerySet[Promise] | None = None) -> QuerySet[Promise]:
    return _by_visible_loan(user, Promise.objects.all() if queryset is None else queryset)


def plans_decidable_by(user: Any, queryset: QuerySet[RepaymentPlan] | None = None) -> QuerySet[RepaymentPlan]:
    """Plans awaiting approval that `user` may approve or decline (never their own: a user who is both collector
    and supervisor does not see the plans they proposed)."""
    qs = RepaymentPlan.objects.all() if queryset is None else queryset
    qs = qs.filter(state=PlanState.PENDING_APPROVAL).exclude(collector=user)
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


# --- Complaints ----------------------------------------------------------------------------------------------------


def complaints_visible_to(user: Any, queryset: QuerySet[Complaint] | None = None) -> QuerySet[Complaint]:
    """The complaints a user may see listed (summary rows)."""
    qs = Complaint.objects.all() if queryset is None else queryset
    if is_compliance(user):
        return qs
    condition = Q(pk__in=[])
    if is_supervisor(user):
        condition |= Q(team__supervisor=user) | Q(assigned_to=user)
    if is_collector(user):
        others = get_user_model().objects.exclude(pk=user.pk)
        condition |= Q(loan__assigned_collector=user) & ~Q(
            pk__in=Complaint.collectors.through.objects.filter(user__in=others).values("complaint_id")
        )
    return qs.filter(condition)


def complaints_reviewable_by(user: Any, queryset: QuerySet[Complaint] | None = None) -> QuerySet[Complaint]:
    """The complaints whose detail and evidence panel a user may open: compliance all, a supervisor their team's
    and their assigned ones, nobody else."""
    qs = Complaint.objects.all() if queryset is None else queryset
    if is_compliance(user):
        return qs
    if is_supervisor(user):
        return qs.filter(Q(team__supervisor=user) | Q(assigned_to=user))
    return qs.none()


def can_review_complaints(user: Any) -> bool:
    return bool(is_supervisor_or_compliance(user))


def get_complaint_for_user_or_404(user: Any, pk: int, queryset: QuerySet[Complaint] | None = None) -> Complaint:
    complaint = complaints_reviewable_by(user, queryset).filter(pk=pk).first()
    if complaint is None:
        raise Http404("No such complaint.")
    return complaint


def can_act_on_complaint(user: Any, complaint: Complaint) -> bool:
    """May `user` move this complaint through the workflow?"""
    if is_compliance(user):
        return True
    return bool(
        is_supervisor(user)
        and complaint.queue == ComplaintQueue.SUPERVISOR
        and complaint.assigned_to_id == user.pk
    )


# --- Compliance-only and shared reference data ---------------------------------------------------------------------


def compliance_only(user: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    return queryset if is_compliance(user) else queryset.none()


def reference_data(user: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Contact policies, their versions and holidays: the same for everyone, no personal data."""
    return queryset


def register_scopes() -> None:
    """Give every admin-visible model its scope (`consent_app.scopes`), so the admin, whose toolkit lives in
    consent_app and cannot import this module, applies the same rules as the desk. Called once at start-up."""
    for model, scope in (
        (Loan, loans_visible_to),
        (Payment, payments_visible_to),
        (Borrower, borrowers_visible_to),
        (PhoneNumber, lambda user, qs: _by_visible_borrower(user, qs, "borrower")),
        (ThirdPartyContact, lambda user, qs: _by_visible_borrower(user, qs, "borrower")),
        (Consent, lambda user, qs: _by_visible_borrower(user, qs, "phone__borrower")),
        (InconvenientTime, lambda user, qs: _by_visible_borrower(user, qs, "borrower")),
        (Restriction, restrictions_visible_to),
        (ContactAttempt, attempts_visible_to),
        (RepaymentPlan, plans_visible_to),
        (Promise, promises_visible_to),
        (Installment, lambda user, qs: _by_visible_loan(user, qs, "plan__loan")),
        (Allocation, lambda user, qs: _by_visible_loan(user, qs)),
        (Complaint, complaints_visible_to),
        (Team, teams_visible_to),
        (TeamMember, team_members_visible_to),
        (get_user_model(), compliance_only),
        (StaffProfile, compliance_only),
        (ApprovalLimit, compliance_only),
        (ApiToken, compliance_only),
        (MessageTemplate, compliance_only),
        (MessageTemplateVersion, compliance_only),
        (ForbiddenPhrase, compliance_only),
        (IncidentPause, compliance_only),
        (ContactPolicy, reference_data),
        (ContactPolicyVersion, reference_data),
        (PublicHoliday, reference_data),
    ):
        scopes.register(model, scope)
