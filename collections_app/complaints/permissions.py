"""Who may see and act on complaints — in one place (STYLE.md §6), on top of collections_app.permissions' roles.

- Compliance officers see every complaint, act on every one, and alone work the compliance queue.
- A supervisor sees their team's complaints (the team of the collector concerned, set at intake) and those
  assigned to them, with the evidence panel; they act on the ones assigned to them while those are in the
  supervisor queue (an escalated complaint belongs to compliance).
- A collector never opens a complaint or its evidence: they see, on their own accounts, a summary (reference,
  category, state, dates; no description) of the complaints that name no other collector, so that they know why
  the account is on hold, but never what was said about a colleague. They may record a complaint the borrower
  makes on the phone.
- An object the user may not see is a 404, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import Http404

from ..models import Complaint, ComplaintQueue
from ..permissions import is_collector, is_compliance, is_supervisor


def complaints_visible_to(user: Any, queryset: QuerySet | None = None) -> QuerySet:
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


def complaints_reviewable_by(user: Any, queryset: QuerySet | None = None) -> QuerySet:
    """The complaints whose detail and evidence panel a user may open: compliance all, a supervisor their team's
    and their assigned ones, nobody else."""
    qs = Complaint.objects.all() if queryset is None else queryset
    if is_compliance(user):
        return qs
    if is_supervisor(user):
        return qs.filter(Q(team__supervisor=user) | Q(assigned_to=user))
    return qs.none()


def can_review_complaints(user: Any) -> bool:
    return bool(is_compliance(user) or is_supervisor(user))


def get_complaint_for_user_or_404(user: Any, pk: int, queryset: QuerySet | None = None) -> Complaint:
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
