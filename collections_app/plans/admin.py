"""Admin for promises, plans, allocations and approval limits (imported by CollectionsAppConfig.ready).

Promises, plans and allocations are written by the services (the desk, the approval queue, payment_record):
here they are read, scoped like the desk (a supervisor sees their team's loans). Approval limits are edited here
by compliance, through approval_limit_save (history + audit event). The outcome report is at
admin/collections_app/promise/report/.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from collections_app.labels import exceeded_limits_label
from collections_app.permissions import may_read_reports
from consent_app.admin.toolkit import ProtectedHistoryAdmin, ReadOnlyInline, link_to

from ..models import Allocation, ApprovalLimit, Installment, Promise, RepaymentPlan
from .forms import ReportPeriodForm
from .reports import plan_report
from .services import approval_limit_save
from .views import report_tables


class _LoanScopedReadOnlyAdmin(ProtectedHistoryAdmin):
    """Read-only, scoped by the desk's loan rule."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("loan"), ordering="loan__loan_ref")
    def loan_link(self, obj: Any) -> str:
        return link_to(obj.loan)


@admin.register(ApprovalLimit)
class ApprovalLimitAdmin(ProtectedHistoryAdmin):
    list_display = ("role", "max_installments", "max_discount_percent", "max_first_payment_delay_days", "updated_at")
    fields = ("role", "max_installments", "max_discount_percent", "max_first_payment_delay_days")

    def save_model(self, request: HttpRequest, obj: ApprovalLimit, form: Any, change: bool) -> None:
        approval_limit_save(limit=obj, changed=form.changed_data, actor=request.user)


@admin.register(Promise)
class PromiseAdmin(_LoanScopedReadOnlyAdmin):
    list_display = ("id", "loan_link", "collector", "amount", "due_date", "paid_amount", "state", "created_at",
                    "kept_at", "broken_at")
    list_filter = ("state", "due_date", "created_at")
    list_select_related = ("loan", "collector")
    search_fields = ("loan__loan_ref", "collector__username")
    date_hierarchy = "due_date"
    fields = ("loan", "collector", "contact_attempt", "amount", "due_date", "paid_amount", "state", "note",
              "created_at", "kept_at", "broken_at", "cancelled_at", "cancel_reason")
    readonly_fields = fields

    def get_urls(self) -> list:
        report = path("report/", self.admin_site.admin_view(self.report_view), name="collections_app_plan_report")
        return [report, *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        if not may_read_reports(request.user):
            raise Http404
        period = ReportPeriodForm(request.GET or None)
        context = {**self.admin_site.each_context(request), "title": _("Promise and plan outcomes"),
                   "period": period, "opts": self.model._meta}
        if period.is_bound and not period.is_valid():
            return TemplateResponse(request, "collections_app/plans/admin_report.html", context, status=422)
        date_from, date_to = period.period()
        report = plan_report(user=request.user, date_from=date_from, date_to=date_to)
        context.update(report_tables(report))
        return TemplateResponse(request, "collections_app/plans/admin_report.html", context)


class InstallmentInline(ReadOnlyInline):
    model = Installment
    show_change_link = False
    fields = ("number", "due_date", "amount", "paid_amount", "state", "paid_at", "broken_at", "cancelled_at")
    readonly_fields = fields


class AllocationInline(ReadOnlyInline):
    model = Allocation
    show_change_link = False
    fields = ("payment", "installment", "kind", "amount", "reason", "created_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("payment", "installment")


@admin.register(RepaymentPlan)
class RepaymentPlanAdmin(_LoanScopedReadOnlyAdmin):
    list_display = ("id", "loan_link", "kind", "state", "agreed_total", "discount_percent", "required_level",
                    "collector", "approver", "decided_by", "created_at")
    list_filter = ("state", "kind", "required_level", "created_at")
    list_select_related = ("loan", "collector", "approver", "decided_by")
    search_fields = ("loan__loan_ref", "collector__username")
    date_hierarchy = "created_at"
    inlines = (InstallmentInline, AllocationInline)
    fields = ("loan", "kind", "state", "collector", "contact_attempt", "balance_at_proposal", "agreed_total",
              "discount_percent", "reason", "required_level", "limits_label", "approver", "decided_by",
              "decided_at", "decision_comment", "created_at", "activated_at", "completed_at", "broken_at",
              "cancelled_at", "cancel_reason")
    readonly_fields = fields

    @admin.display(description=_("limits exceeded"))
    def limits_label(self, obj: RepaymentPlan) -> str:
        return exceeded_limits_label(obj.exceeded_limits)


@admin.register(Allocation)
class AllocationAdmin(_LoanScopedReadOnlyAdmin):
    """Every part of every payment; filter on kind "over-payment" for the amounts to review or refund."""

    list_display = ("payment", "loan_link", "kind", "amount", "reason", "plan", "installment", "created_at")
    list_filter = ("kind", "reason", "created_at")
    list_select_related = ("payment", "loan", "plan", "installment")
    search_fields = ("payment__external_id", "loan__loan_ref")
    fields = ("payment", "loan", "plan", "installment", "kind", "amount", "reason", "created_at")
    readonly_fields = fields
