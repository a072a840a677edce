"""Admin for complaints (imported by CollectionsAppConfig.ready): intake, review and the report for compliance
officers (everything) and supervisors (their team's, read-only except the complaints assigned to them).

Writes go through the services: intake through complaint_open, every move through complaint_transition (the
admin form offers the moves the transition table allows). Nothing is deleted; opening a complaint's page shows
its text and is recorded as a PII_REVEALED event, as for a borrower's record.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from collections_app.forms import IdsChoiceField, add_service_errors
from collections_app.labels import escalation_label, routing_rule_label
from collections_app.permissions import can_act_on_complaint, complaints_reviewable_by
from consent_app.admin.filters import JurisdictionFilter
from consent_app.admin.toolkit import PhoneSearchMixin, ProtectedHistoryAdmin, adopt, link_to
from consent_app.validators import is_in_future, validate_in_range

from ..models import Complaint, ComplaintOutcome, ComplaintSource, ComplaintState, ContactAttempt
from ..models.complaints import overdue_q
from ..permissions import COLLECTOR, is_collector, is_compliance
from .services import complaint_open, complaint_report_export, complaint_transition, transition_check
from .views import report_for_request


class EscalatedFilter(admin.SimpleListFilter):
    title = _("escalated")
    parameter_name = "escalated"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(escalated_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(escalated_at__isnull=True)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(overdue_q(timezone.now()))
        if self.value() == "no":
            return queryset.exclude(overdue_q(timezone.now()))
        return queryset


class ComplaintIntakeForm(forms.ModelForm):
    class Meta:
        model = Complaint
        fields = ("borrower", "loan", "channel", "category", "description", "received_at", "collectors", "attempts")
        field_classes = {"collectors": IdsChoiceField, "attempts": IdsChoiceField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_at"].required = False
        self.fields["received_at"].help_text = _("Empty: now.")
        self.fields["received_at"].validators.append(validate_in_range)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        borrower, loan = data.get("borrower"), data.get("loan")
        if borrower is not None and loan is not None and loan.borrower_id != borrower.pk:
            self.add_error("loan", _("The loan belongs to another borrower."))
        attempts = data.get("attempts") or []
        if borrower is not None and any(a.borrower_id != borrower.pk for a in attempts):
            self.add_error("attempts", _("Only the borrower's own contact attempts can be attached."))
        if any(not is_collector(u) for u in data.get("collectors") or []):
            self.add_error("collectors", _("Only collectors can be named as concerned."))
        received_at = data.get("received_at")
        if is_in_future(received_at):
            self.add_error("received_at", _("A complaint cannot be received in the future."))
        return data


class ComplaintReviewForm(forms.ModelForm):
    move_to = forms.ChoiceField(label=_("move to"), required=False)
    resolution_outcome = forms.ChoiceField(
        label=_("outcome"), required=False, choices=[("", "---------"), *ComplaintOutcome.choices]
    )
    resolution_root_cause = forms.CharField(label=_("root cause"), required=False, widget=forms.Textarea)
    resolution_remediation = forms.CharField(label=_("remediation"), required=False, widget=forms.Textarea)
    withdrawal_note = forms.CharField(label=_("how the borrower withdrew it"), required=False, widget=forms.Textarea)

    _FIELD_OF = {"outcome": "resolution_outcome", "root_cause": "resolution_root_cause",
                 "remediation": "resolution_remediation", "note": "withdrawal_note", "state": "move_to"}

    class Meta:
        model = Complaint
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = self.instance.next_states if self.instance.pk else frozenset()
        cast(forms.ChoiceField, self.fields["move_to"]).choices = [("", "---------")] + [
            (value, label) for value, label in ComplaintState.choices if value in allowed
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        to_state = data.get("move_to")
        if not to_state:
            return data
        try:
            transition_check(
                from_state=self.instance.state, to_state=to_state, outcome=data.get("resolution_outcome") or "",
                root_cause=data.get("resolution_root_cause") or "",
                remediation=data.get("resolution_remediation") or "", note=data.get("withdrawal_note") or "",
            )
        except ValidationError as exc:
            add_service_errors(self, exc, field_names=self._FIELD_OF)
        return data


@admin.register(Complaint)
class ComplaintAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    pii_view_field = "complaint_admin_view"
    change_list_template = "collections_app/complaints/admin/change_list.html"
    list_display = ("reference_label", "borrower_link", "loan", "category", "channel", "state", "queue",
                    "assigned_to", "received_at", "ack_due_at", "resolve_due_at", "escalated_at", "outcome")
    # The team filter offers the teams of the complaints in scope, not every team.
    list_filter = ("state", "category", "channel", "queue", "outcome", EscalatedFilter, OverdueFilter,
                   ("team", admin.RelatedOnlyFieldListFilter), JurisdictionFilter)
    list_select_related = ("borrower", "loan", "assigned_to")
    search_fields = ("borrower__borrower_ref", "loan__loan_ref")
    date_hierarchy = "received_at"
    autocomplete_fields = ("borrower", "loan")
    raw_id_fields = ("attempts",)
    filter_horizontal = ("collectors",)
    form = ComplaintReviewForm
    add_form = ComplaintIntakeForm

    _shown = ["reference_label", "borrower_link", "loan", "channel", "category", "description", "received_at",
              "collectors_label", "attempts_label", "state", "queue", "routing_label", "team", "assigned_to",
              "ack_due_at", "resolve_due_at", "acknowledged_at", "investigation_started_at", "closed_at",
              "escalated_at", "escalation_label", "outcome", "root_cause", "remediation", "close_note",
              "hold_label", "evidence_link", "source", "created_by", "created_at"]

    # --- Scoping and permissions ---------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return complaints_reviewable_by(request.user, super().get_queryset(request))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or (obj.is_open and can_act_on_complaint(request.user, obj)))

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "collectors":
            kwargs["queryset"] = get_user_model().objects.filter(groups__name=COLLECTOR).order_by("username")
        elif db_field.name == "attempts":
            kwargs["queryset"] = ContactAttempt.objects.all()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # --- Display -------------------------------------------------------------------------------------------

    @admin.display(description=_("reference"), ordering="pk")
    def reference_label(self, obj: Complaint) -> str:
        return obj.reference

    @admin.display(description=_("borrower"), ordering="borrower__borrower_ref")
    def borrower_link(self, obj: Complaint) -> str:
        return link_to(obj.borrower)

    @admin.display(description=_("collectors concerned"))
    def collectors_label(self, obj: Complaint) -> str:
        return ", ".join(u.get_username() for u in obj.collectors.all()) or "-"

    @admin.display(description=_("contact attempts concerned"))
    def attempts_label(self, obj: Complaint) -> str:
        return ", ".join(f"#{a.pk}" for a in obj.attempts.order_by("started_at")) or "-"

    @admin.display(description=_("routing rule"))
    def routing_label(self, obj: Complaint) -> str:
        return routing_rule_label(obj.routing_rule)

    @admin.display(description=_("escalation reason"))
    def escalation_label(self, obj: Complaint) -> str:
        return escalation_label(obj.escalation_reason) if obj.escalation_reason else "-"

    @admin.display(description=_("collection hold"))
    def hold_label(self, obj: Complaint) -> str:
        return link_to(obj.hold_restriction) if obj.hold_restriction_id else "-"

    @admin.display(description=_("evidence"))
    def evidence_link(self, obj: Complaint) -> str:
        return format_html('<a href="{}">{}</a>', reverse("complaints:detail", args=[obj.pk]),
                           _("Open the evidence panel"))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["borrower", "loan", "channel", "category", "description", "received_at", "collectors", "attempts"]
        review = ["move_to", "resolution_outcome", "resolution_root_cause", "resolution_remediation",
                  "withdrawal_note"]
        return self._shown + (review if self.has_change_permission(request, obj) else [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self._shown) if obj is not None else []

    # --- Writes through the services -----------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Complaint, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            complaint = complaint_open(
                borrower=data["borrower"], loan=data.get("loan"), channel=data["channel"], category=data["category"],
                description=data["description"], received_at=data.get("received_at"),
                collectors=list(data.get("collectors") or []), attempts=list(data.get("attempts") or []),
                actor=request.user, source=ComplaintSource.ADMIN,
            )
            adopt(obj, complaint)
            return
        if data.get("move_to"):
            complaint = complaint_transition(
                complaint=obj, to_state=data["move_to"], actor=request.user,
                outcome=data.get("resolution_outcome") or "", root_cause=data.get("resolution_root_cause") or "",
                remediation=data.get("resolution_remediation") or "", note=data.get("withdrawal_note") or "",
            )
            adopt(obj, complaint)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # complaint_open already linked the collectors and attempts; the review form has no related fields.
        return None

    # --- Report --------------------------------------------------------------------------------------------

    def get_urls(self) -> list:
        urls = super().get_urls()
        extra = [
            path("report/", self.admin_site.admin_view(self.report_view), name="collections_app_complaint_report"),
            path("report.csv", self.admin_site.admin_view(self.report_csv_view),
                 name="collections_app_complaint_report_csv"),
        ]
        return extra + urls

    def report_view(self, request: HttpRequest) -> HttpResponse:
        form, report = report_for_request(request)
        context = {**self.admin_site.each_context(request), "title": _("Complaint report"), "form": form,
                   "report": report, "query": request.GET.urlencode(), "opts": self.model._meta}
        return TemplateResponse(request, "collections_app/complaints/admin/report.html", context,
                                status=200 if report is not None else 422)

    def report_csv_view(self, request: HttpRequest) -> HttpResponse:
        form, report = report_for_request(request)
        if report is None:
            return render(request, "collections_app/complaints/admin/report.html",
                          {**self.admin_site.each_context(request), "form": form, "report": None}, status=422)
        body = complaint_report_export(report=report, actor=request.user)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        scope = "all" if is_compliance(request.user) else "team"
        response["Content-Disposition"] = (
            f'attachment; filename="complaints-{scope}-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
        )
        return response
