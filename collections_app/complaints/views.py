"""Complaint screens of the desk. Views parse input, authorize (complaints.permissions), call one service and
render. A complaint or account the user may not see is a 404."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from collections_app.forms import add_service_errors
from collections_app.permissions import can_act_on_complaint, can_review_complaints, complaints_reviewable_by

from ..models import ComplaintSource, ComplaintState
from ..permissions import get_loan_for_user_or_404, is_compliance
from .forms import ComplaintIntakeForm, ReportPeriodForm, TransitionForm
from .reports import ComplaintReport, build_report
from .selectors import complaint_detail_for_user, complaint_evidence, complaint_list_for_user
from .services import complaint_open, complaint_report_export, complaint_transition

LIST_VIEWS = ("open", "mine", "compliance", "closed", "all")


@login_required
@require_http_methods(["GET", "POST"])
def complaint_create(request: HttpRequest, loan_ref: str) -> HttpResponse:
    """Record a complaint from the account workspace (any user who may see the account)."""
    loan = get_loan_for_user_or_404(request.user, loan_ref)
    form = ComplaintIntakeForm(request.POST or None, loan=loan)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = complaint_open(
                borrower=loan.borrower, loan=loan, channel=data["channel"], category=data["category"],
                description=data["description"], received_at=data.get("received_at"),
                collectors=list(data["collectors"]), attempts=list(data["attempts"]), actor=request.user,
                source=ComplaintSource.DESK,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            text = _("Complaint %(ref)s recorded.") % {"ref": complaint.reference}
            if complaint.hold_restriction_id:
                text += " " + _("Collection is on hold while it is open.")
            messages.success(request, text)
            if complaints_reviewable_by(request.user).filter(pk=complaint.pk).exists():
                return redirect("complaints:detail", pk=complaint.pk)
            return redirect("loan_detail", loan_ref=loan.loan_ref)
    return render(request, "collections_app/complaints/create.html", {"loan": loan, "form": form},
                  status=422 if request.method == "POST" else 200)


@login_required
@require_GET
def complaint_list(request: HttpRequest) -> HttpResponse:
    view = request.GET.get("view", "open")
    if view not in LIST_VIEWS:
        view = "open"
    page = Paginator(complaint_list_for_user(request.user, view=view), 50).get_page(request.GET.get("page"))
    return render(request, "collections_app/complaints/list.html", {
        "page": page, "view": view, "can_review": can_review_complaints(request.user),
        "is_compliance": is_compliance(request.user), "now": timezone.now(),
    })


@login_required
@require_GET
def complaint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = complaint_detail_for_user(request.user, pk)
    return _render_detail(request, complaint, forms_by_state={})


def _render_detail(request: HttpRequest, complaint, forms_by_state: dict, status: int = 200) -> HttpResponse:
    now = timezone.now()
    can_act = can_act_on_complaint(request.user, complaint)
    transitions = []
    if can_act:
        for state in ComplaintState:
            if state in complaint.next_states:
                form = forms_by_state.get(state) or TransitionForm(initial={"to_state": state.value})
                transitions.append({"state": state, "form": form})
    # A refused move (not offered from this state, e.g. a stale page) has no form on the page: show its errors.
    refused = [
        error for state, form in forms_by_state.items() if state not in complaint.next_states
        for error in form.non_field_errors()
    ]
    return render(request, "collections_app/complaints/detail.html", {
        "complaint": complaint, "evidence": complaint_evidence(complaint, now=now), "now": now,
        "overdue": complaint.is_overdue(now), "can_act": can_act, "transitions": transitions, "refused": refused,
    }, status=status)


@login_required
@require_POST
def complaint_transition_view(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = complaint_detail_for_user(request.user, pk)
    if not can_act_on_complaint(request.user, complaint):
        # The user may see the complaint (their team's) but it is not theirs to decide.
        messages.error(request, _("This complaint is reviewed by someone else."))
        return redirect("complaints:detail", pk=complaint.pk)
    form = TransitionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            complaint_transition(
                complaint=complaint, to_state=data["to_state"], actor=request.user, outcome=data["outcome"],
                root_cause=data["root_cause"], remediation=data["remediation"], note=data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Complaint %(ref)s updated.") % {"ref": complaint.reference})
            return redirect("complaints:detail", pk=complaint.pk)
    state = request.POST.get("to_state", "")
    if state not in ComplaintState.values:
        raise Http404("No such state.")
    complaint.refresh_from_db()
    return _render_detail(request, complaint, forms_by_state={state: form}, status=422)


# --- Reports ----------------------------------------------------------------------------------------------------


def report_for_request(request: HttpRequest) -> tuple[ReportPeriodForm, ComplaintReport | None]:
    """The report for the period in the query string (default: the last 30 days), scoped to the user. A user
    who may not review complaints gets a 404."""
    if not can_review_complaints(request.user):
        raise Http404("No such page.")
    form = ReportPeriodForm(request.GET)  # always bound: empty fields mean the default period
    if not form.is_valid():
        return form, None
    start_day, end_day = form.cleaned_data["start"], form.cleaned_data["end"]
    zone = timezone.get_current_timezone()
    start = datetime.combine(start_day, time(0), tzinfo=zone)
    end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=zone)
    return form, build_report(user=request.user, start=start, end=end, now=timezone.now())


@login_required
@require_GET
def complaint_report(request: HttpRequest) -> HttpResponse:
    form, report = report_for_request(request)
    return render(request, "collections_app/complaints/report.html", {
        "form": form, "report": report, "query": request.GET.urlencode(),
    }, status=200 if report is not None else 422)


@login_required
@require_GET
def complaint_report_csv(request: HttpRequest) -> HttpResponse:
    form, report = report_for_request(request)
    if report is None:
        return render(request, "collections_app/complaints/report.html", {"form": form, "report": None}, status=422)
    body = complaint_report_export(report=report, actor=request.user)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    response["Content-Disposition"] = f'attachment; filename="complaints-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    return response
