"""Restrictions and inconvenient times in admin. Lifting goes through `restriction_lift`, which asks the
`consent_app.lift_restriction` permission (who may lift which kind is decided in collections_app.permissions)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..history import restriction_reason_label, with_change_reason
from ..models import (
    FREE_TEXT_MAX_LENGTH,
    InconvenientTime,
    Restriction,
    RestrictionKind,
)
from ..services import (
    TEMPORARY_HOLD_NEEDS_END,
    restriction_lift,
    restriction_place,
)
from ..validators import is_in_range
from .filters import (
    JurisdictionFilter,
    LiftedFilter,
    RestrictionInForceFilter,
)
from .toolkit import (
    PhoneSearchMixin,
    ProtectedHistoryAdmin,
    admin_change_log,
    adopt,
    link_to,
)

# --- Restrictions ------------------------------------------------------------------------------------------------


class RestrictionPlaceForm(forms.ModelForm):
    class Meta:
        model = Restriction
        fields = ("borrower", "loan", "kind", "starts_at", "ends_at", "reason")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        borrower, loan = data.get("borrower"), data.get("loan")
        if borrower is not None and loan is not None and loan.borrower_id != borrower.pk:
            self.add_error("loan", _("The loan belongs to another borrower."))
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
            if not is_in_range(value):
                self.add_error(name, _("The date must be between 1970 and 2199."))
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The end must be after the start."))
        if data.get("kind") == RestrictionKind.TEMPORARY_HOLD and "ends_at" in data and ends_at is None:
            self.add_error("ends_at", TEMPORARY_HOLD_NEEDS_END)
        return data


class RestrictionLiftForm(forms.ModelForm):
    lift = forms.BooleanField(label=_("lift this restriction now"), required=False)
    lift_reason_text = forms.CharField(
        label=_("lift reason"), max_length=FREE_TEXT_MAX_LENGTH, required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Restriction
        fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("lift") and not (data.get("lift_reason_text") or "").strip():
            self.add_error("lift_reason_text", _("Say why the restriction is lifted."))
        return data


@admin.register(Restriction)
class RestrictionAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    list_display = ("kind", "borrower_link", "loan", "starts_at", "ends_at", "lifted_at", "in_force", "created_by")
    list_filter = ("kind", LiftedFilter, RestrictionInForceFilter, JurisdictionFilter)
    list_select_related = ("borrower", "loan", "created_by")
    search_fields = ("borrower__borrower_ref", "loan__loan_ref")
    date_hierarchy = "starts_at"
    autocomplete_fields = ("borrower", "loan")
    actions = ("lift_selected",)

    @admin.display(description=_("borrower"), ordering="borrower__borrower_ref")
    def borrower_link(self, obj: Restriction) -> str:
        return link_to(obj.borrower)

    @admin.display(description=_("in force"), boolean=True)
    def in_force(self, obj: Restriction) -> bool:
        return obj.is_active()

    @admin.action(description=_("Lift selected restrictions"), permissions=["change"])
    def lift_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        # `queryset` is already the user's scope; the lift permission then decides each one by kind and team.
        lifted = refused = 0
        with transaction.atomic():
            for restriction in queryset.filter(lifted_at__isnull=True).select_related("borrower", "loan"):
                if not request.user.has_perm("consent_app.lift_restriction", restriction):
                    refused += 1
                    continue
                restriction_lift(restriction=restriction, actor=request.user, reason="lifted in admin")
                lifted += 1
        self.message_user(request, _("%(n)d restriction(s) lifted.") % {"n": lifted}, messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                _("%(n)d restriction(s) not lifted: only compliance officers lift them, or they cover another "
                  "team's accounts.") % {"n": refused},
                messages.WARNING,
            )

    form = RestrictionLiftForm
    add_form = RestrictionPlaceForm

    _shown = ["borrower", "loan", "kind", "starts_at", "ends_at", "reason_in_words", "lifted_at", "lift_reason",
              "created_by", "created_at"]

    @admin.display(description=_("reason"))
    def reason_in_words(self, obj: Restriction) -> str:
        return restriction_reason_label(obj.reason)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["borrower", "loan", "kind", "starts_at", "ends_at", "reason"]
        can_lift = (
            obj.lifted_at is None and self.has_change_permission(request, obj)
            and request.user.has_perm("consent_app.lift_restriction", obj)
        )
        return self._shown + (["lift", "lift_reason_text"] if can_lift else [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self._shown) if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Restriction, form: Any, change: bool) -> None:
        if not change:
            data = form.cleaned_data
            restriction = restriction_place(
                borrower=data["borrower"], loan=data.get("loan"), kind=data["kind"], starts_at=data["starts_at"],
                ends_at=data.get("ends_at"), reason=data["reason"], actor=request.user,
            )
            adopt(obj, restriction)
            return
        if form.cleaned_data.get("lift"):
            restriction = restriction_lift(
                restriction=obj, actor=request.user, reason=form.cleaned_data["lift_reason_text"].strip()
            )
            adopt(obj, restriction)


# --- Inconvenient times ------------------------------------------------------------------------------------------


@admin.register(InconvenientTime)
class InconvenientTimeAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    list_display = ("borrower_link", "weekdays", "start", "end", "note")
    list_filter = (JurisdictionFilter,)
    list_select_related = ("borrower",)
    search_fields = ("borrower__borrower_ref",)
    autocomplete_fields = ("borrower",)
    fields = ("borrower", "weekdays", "start", "end", "note")

    @admin.display(description=_("borrower"), ordering="borrower__borrower_ref")
    def borrower_link(self, obj: InconvenientTime) -> str:
        return link_to(obj.borrower)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["borrower"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: InconvenientTime, form: Any, change: bool) -> None:
        # No service for inconvenient times: the change reason and the audit event are written here, inside the
        # admin's transaction (changeform_view is atomic).
        with_change_reason(obj, "changed in admin" if change else "added in admin")
        super().save_model(request, obj, form, change)
        admin_change_log(request=request, obj=obj, op="changed" if change else "added", fields=form.changed_data)
