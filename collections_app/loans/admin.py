"""Django admin for loans, payments and teams (compliance officers; supervisors read their team's).

Loans and payments come from the loan system (loan_upsert, payment_record): in admin they are read, and the only
write is reassigning a loan, through loan_assign. Teams have no service, so their admin writes an ADMIN_CHANGE
audit event itself. See consent_app.admin for the shared rules (masking, phone search, scoping, no deletes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from collections_app.forms import is_storable_id
from collections_app.loans.buckets import CURRENT, bucket_labels
from collections_app.loans.selectors import loans_in_bucket
from collections_app.loans.services import loan_assign
from consent_app.admin.filters import JurisdictionFilter
from consent_app.admin.toolkit import (
    PhoneSearchMixin,
    ProtectedHistoryAdmin,
    ReadOnlyInline,
    ScopedAdminMixin,
    admin_change_log,
    link_to,
    save_formset_audited,
)
from consent_app.history import with_change_reason
from consent_app.models import Restriction

from ..models import Loan, Payment, Team, TeamMember
from ..permissions import COLLECTOR, SUPERVISOR, supervised_collectors

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

# --- List filters ------------------------------------------------------------------------------------------------


class DpdBucketFilter(admin.SimpleListFilter):
    """Days-past-due buckets (collections_app.loans.buckets), computed on due_date (dpd = today - due_date for
    active loans; other statuses are never past due, as Loan.days_past_due says)."""

    title = _("DPD bucket")
    parameter_name = "bucket"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return [(CURRENT, _("Current (not past due)"))] + [(label, label) for label in bucket_labels()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return loans_in_bucket(queryset, value, timezone.localdate()) if value else queryset


class AssignedCollectorFilter(admin.SimpleListFilter):
    title = _("assigned collector")
    parameter_name = "collector"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        collectors = supervised_collectors(request.user)
        return [("none", _("Unassigned")), *((str(u.pk), u.get_username()) for u in collectors)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "none":
            return queryset.filter(assigned_collector__isnull=True)
        if value and value.isdigit():
            # An id beyond the database's range names nobody (and would make the database raise).
            if not is_storable_id(get_user_model(), value):
                return queryset.none()
            return queryset.filter(assigned_collector_id=int(value))
        return queryset


class PaymentJurisdictionFilter(JurisdictionFilter):
    borrower_path = "loan__borrower__jurisdiction"


# --- Loans -------------------------------------------------------------------------------------------------------


class LoanReassignForm(forms.Form):
    collector = forms.ModelChoiceField(label=_("To collector"), queryset=get_user_model().objects.none())

    def __init__(self, *args: Any, collectors: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collector"].queryset = collectors  # type: ignore[attr-defined]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("external_id", "amount", "paid_at", "created_at")
    readonly_fields = fields


class LoanRestrictionInline(ReadOnlyInline):
    model = Restriction
    fk_name = "loan"
    fields = ("kind", "starts_at", "ends_at", "lifted_at", "reason")
    readonly_fields = fields
    verbose_name_plural = _("restrictions on this loan")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("borrower")


@admin.register(Loan)
class LoanAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    list_display = ("loan_ref", "borrower_link", "status", "currency", "principal", "balance", "due_date", "dpd",
                    "bucket", "assigned_collector")
    list_filter = ("status", DpdBucketFilter, AssignedCollectorFilter, "currency", JurisdictionFilter)
    list_select_related = ("borrower", "assigned_collector")
    search_fields = ("loan_ref", "borrower__borrower_ref")
    date_hierarchy = "due_date"
    inlines = (PaymentInline, LoanRestrictionInline)
    actions = ("reassign",)
    _shown = ("loan_ref", "borrower", "status", "currency", "principal", "balance", "due_date", "dpd", "bucket",
              "created_at", "updated_at")

    @admin.display(description=_("borrower"), ordering="borrower__borrower_ref")
    def borrower_link(self, obj: Loan) -> str:
        return link_to(obj.borrower)

    @admin.display(description=_("days past due"))
    def dpd(self, obj: Loan) -> int:
        return obj.dpd

    @admin.display(description=_("bucket"))
    def bucket(self, obj: Loan) -> str:
        return obj.bucket

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # loans come from the loan system (loan_upsert)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self._shown, "assigned_collector"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self._shown)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "assigned_collector":
            kwargs["queryset"] = supervised_collectors(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Loan, form: Any, change: bool) -> None:
        if "assigned_collector" in form.changed_data:
            loan_assign(
                loan=obj, collector=form.cleaned_data["assigned_collector"], actor=request.user,
                reason="reassigned in admin",
            )

    @admin.action(description=_("Reassign selected loans to another collector"), permissions=["change"])
    def reassign(self, request: HttpRequest, queryset: QuerySet[Loan]) -> TemplateResponse | None:
        """Move the selected loans (those the user may see) to one collector of the user's teams, each through
        loan_assign. The way to empty a departing collector's portfolio before deactivating the account."""
        collectors = supervised_collectors(request.user).filter(is_active=True)
        form = LoanReassignForm(request.POST if "apply" in request.POST else None, collectors=collectors)
        loans = list(queryset.select_related("assigned_collector").order_by("loan_ref"))
        if form.is_bound and form.is_valid():
            target = form.cleaned_data["collector"]
            for loan in loans:
                loan_assign(loan=loan, collector=target, actor=request.user, reason="reassigned in admin")
            messages.success(request, ngettext(
                "%(count)d loan reassigned to %(collector)s.", "%(count)d loans reassigned to %(collector)s.",
                len(loans)) % {"count": len(loans), "collector": target.get_username()})
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reassign loans"), "opts": self.model._meta, "form": form, "loans": loans,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "collections_app/loans/admin/reassign.html", context)


# --- Payments ----------------------------------------------------------------------------------------------------


@admin.register(Payment)
class PaymentAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    """Read-only: payments are recorded once by payment_record (idempotent by external_id)."""

    phone_borrower_path = "loan__borrower_id"
    list_display = ("external_id", "loan_link", "borrower_ref", "amount", "currency", "paid_at", "created_at")
    list_filter = ("loan__currency", PaymentJurisdictionFilter, "paid_at")
    list_select_related = ("loan", "loan__borrower")
    search_fields = ("external_id", "loan__loan_ref", "loan__borrower__borrower_ref")
    date_hierarchy = "paid_at"

    @admin.display(description=_("loan"), ordering="loan__loan_ref")
    def loan_link(self, obj: Payment) -> str:
        return link_to(obj.loan)

    @admin.display(description=_("borrower"), ordering="loan__borrower__borrower_ref")
    def borrower_ref(self, obj: Payment) -> str:
        return link_to(obj.loan.borrower)

    @admin.display(description=_("currency"))
    def currency(self, obj: Payment) -> str:
        return obj.loan.currency

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Teams -------------------------------------------------------------------------------------------------------


class TeamMemberInline(ScopedAdminMixin, admin.TabularInline):
    model = TeamMember
    extra = 0
    can_delete = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(groups__name=COLLECTOR).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class _AuditedAdminWrites:
    """Teams have no service: every admin save gets a change reason and an ADMIN_CHANGE audit event, written in
    the admin's transaction."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with_change_reason(obj, "changed in admin" if change else "added in admin")
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        admin_change_log(request=request, obj=obj, op="changed" if change else "added", fields=form.changed_data)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        save_formset_audited(request, formset)


class _TeamCounts(TypedDict):
    n_members: int  # annotated by TeamAdmin.get_queryset


@admin.register(Team)
class TeamAdmin(_AuditedAdminWrites, ProtectedHistoryAdmin):
    list_display = ("name", "supervisor", "timezone", "member_count")
    list_select_related = ("supervisor",)
    search_fields = ("name", "supervisor__username")
    inlines = (TeamMemberInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Meta.ordering does not apply to a query with an aggregate: order it again (autocomplete paginates it).
        return super().get_queryset(request).annotate(n_members=Count("members")).order_by("name")

    @admin.display(description=_("members"), ordering="n_members")
    def member_count(self, obj: WithAnnotations[Team, _TeamCounts]) -> int:
        return obj.n_members

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "supervisor":
            kwargs["queryset"] = get_user_model().objects.filter(groups__name=SUPERVISOR).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(TeamMember)
class TeamMemberAdmin(_AuditedAdminWrites, ProtectedHistoryAdmin):
    list_display = ("user", "team")
    list_filter = (("team", admin.RelatedOnlyFieldListFilter),)  # the teams of the rows in scope, not every team
    list_select_related = ("user", "team")
    search_fields = ("user__username", "team__name")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(groups__name=COLLECTOR).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
