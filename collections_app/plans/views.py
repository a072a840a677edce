"""Pages for promises, plans, approvals and reports: parse, authorize, call one service, render (STYLE.md §1).

Authorization: a loan the user may not see, a plan not awaiting the user's decision, or a report the user may not
read is a 404 (get_loan_for_user_or_404, decidable_plan_or_404); a loan the user sees but may not negotiate on
(a supervisor's team loan) is a 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from collections_app.forms import add_service_errors
from collections_app.permissions import may_cancel, may_decide, may_negotiate, may_read_reports

from ..models import ApprovalLevel, Loan, PlanState, Promise
from ..permissions import (
    get_loan_for_user_or_404,
    is_compliance,
    is_supervisor_or_compliance,
    loans_visible_to,
)
from . import services
from .forms import CancelForm, DecisionForm, PlanForm, PromiseForm, ReportPeriodForm, installment_formset
from .reports import PLAN_OUTCOMES, plan_report
from .selectors import approval_queue, decidable_plan_or_404, plan_detail_for_user


def _messages_of(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _reason_error(form: CancelForm, missing: str) -> ValidationError:
    """The reason's own error when one was typed (too long), else `missing`."""
    typed = str(form.data.get("reason", "")).strip()
    return ValidationError(list(form.errors["reason"]) if typed and "reason" in form.errors else missing)


def _negotiable_loan(request: HttpRequest, loan_ref: str) -> Any:
    loan = get_loan_for_user_or_404(request.user, loan_ref, Loan.objects.select_related("borrower"))
    if not may_negotiate(request.user, loan):
        raise PermissionDenied
    return loan


@login_required
def promise_create(request: HttpRequest, loan_ref: str) -> HttpResponse:
    loan = _negotiable_loan(request, loan_ref)
    form = PromiseForm(request.POST or None, loan=loan)
    if request.method == "POST" and form.is_valid():
        try:
            services.promise_create(
                loan=loan, amount=form.cleaned_data["amount"], promise_date=form.cleaned_data["promise_date"],
                attempt=form.cleaned_data["attempt"], note=form.cleaned_data["note"], actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Promise recorded."))
            return redirect("loan_detail", loan_ref=loan.loan_ref)
    return render(request, "collections_app/plans/promise_form.html", {"loan": loan, "form": form})


@login_required
def plan_propose(request: HttpRequest, loan_ref: str) -> HttpResponse:
    loan = _negotiable_loan(request, loan_ref)
    data = request.POST if request.method == "POST" else None
    form = PlanForm(data, loan=loan)
    formset = installment_formset(data, zone=loan.borrower.primary_zone)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            plan = services.plan_propose(
                loan=loan, kind=form.cleaned_data["kind"], agreed_total=form.cleaned_data["agreed_total"],
                schedule=formset.schedule(), reason=form.cleaned_data["reason"],
                attempt=form.cleaned_data["attempt"], actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if plan.required_level == ApprovalLevel.COLLECTOR:
                messages.success(request, _("The plan is active."))
            else:
                messages.info(request, _("The plan is beyond your limits and awaits approval."))
            return redirect("plans:plan_detail", pk=plan.pk)
    return render(request, "collections_app/plans/plan_form.html",
                  {"loan": loan, "form": form, "formset": formset})


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _plan_page(request, plan_detail_for_user(request.user, pk))


def _plan_page(request: HttpRequest, plan: Any, *, cancel_form: CancelForm | None = None,
               status: int = 200) -> HttpResponse:
    """The plan's page; a cancellation refused comes back on it with its form's errors (422)."""
    history = plan.history.select_related("history_user").order_by("history_date", "history_id")
    return render(request, "collections_app/plans/plan_detail.html", {
        "plan": plan, "loan": plan.loan, "history": history,
        "can_decide": may_decide(request.user, plan),
        "can_cancel": may_cancel(request.user, plan.loan) and plan.state in ("pending_approval", "active"),
        "decision_form": DecisionForm(), "cancel_form": cancel_form or CancelForm(),
    }, status=status)


@login_required
@require_POST
def plan_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    plan = plan_detail_for_user(request.user, pk)
    form = CancelForm(request.POST, required_message=_("Say why the plan is cancelled."))
    if form.is_valid():
        try:
            services.plan_cancel(plan=plan, reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The plan is cancelled."))
            return redirect("plans:plan_detail", pk=plan.pk)
    # Refused: the plan's page again, the reason as typed and its error on it.
    return _plan_page(request, plan, cancel_form=form, status=422)


@login_required
@require_POST
def promise_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    promise = get_object_or_404(
        Promise.objects.select_related("loan").filter(loan__in=loans_visible_to(request.user).values("pk")), pk=pk
    )
    form = CancelForm(request.POST)
    try:
        if not form.is_valid():
            raise _reason_error(form, _("Say why the promise is withdrawn."))
        services.promise_cancel(promise=promise, reason=form.cleaned_data["reason"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("The promise is withdrawn."))
    return redirect("loan_detail", loan_ref=promise.loan.loan_ref)


def _require_approver(request: HttpRequest) -> None:
    if not is_supervisor_or_compliance(request.user):
        raise Http404


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    _require_approver(request)
    queue = approval_queue(request.user)
    return render(request, "collections_app/plans/approvals.html", {
        "compliance_queue": queue[ApprovalLevel.COMPLIANCE], "supervisor_queue": queue[ApprovalLevel.SUPERVISOR],
        "is_compliance": is_compliance(request.user), "form": DecisionForm(), "now": timezone.now(),
    })


def _decide(request: HttpRequest, pk: int, approve: bool) -> HttpResponse:
    plan = decidable_plan_or_404(request.user, pk)
    form = DecisionForm(request.POST)
    try:
        if not form.is_valid():  # a comment too long: refused, never dropped
            raise ValidationError(list(form.errors["comment"]))
        comment = form.cleaned_data["comment"]
        if approve:
            services.plan_approve(plan=plan, comment=comment, actor=request.user)
            messages.success(request, _("Plan #%(id)s approved: it is active.") % {"id": plan.pk})
        else:
            services.plan_decline(plan=plan, comment=comment, actor=request.user)
            messages.success(request, _("Plan #%(id)s declined.") % {"id": plan.pk})
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    next_url = request.POST.get("next")
    if next_url == "detail":
        return redirect("plans:plan_detail", pk=plan.pk)
    return redirect(reverse("plans:approvals"))


@login_required
@require_POST
def plan_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, approve=True)


@login_required
@require_POST
def plan_decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, approve=False)


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    if not may_read_reports(request.user):
        raise Http404
    period = ReportPeriodForm(request.GET or None)
    if period.is_bound and not period.is_valid():
        return render(request, "collections_app/plans/reports.html", {"period": period}, status=422)
    date_from, date_to = period.period()
    report = plan_report(user=request.user, date_from=date_from, date_to=date_to)
    return render(request, "collections_app/plans/reports.html", {"report": report, "period": period,
                                                                   **report_tables(report)})


def report_tables(report: Any) -> dict[str, Any]:
    """The report's tables for _report_tables.html (shared with the admin's report page)."""
    report.total.label = _("Total")
    return {
        "report": report,
        "outcomes": [PlanState(s).label for s in PLAN_OUTCOMES],
        "tables": [(_("Per collector"), report.collectors), (_("Per team"), [*report.teams, report.total])],
    }
