"""Phone numbers in admin: added and re-statused through the services, shown masked."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import (
    PhoneNumber,
)
from ..phones import blind_index, parse_number
from ..services import (
    PhoneInput,
    phone_add,
    phone_set_status,
)
from .borrowers import ConsentInline
from .filters import (
    JurisdictionFilter,
    PhoneOwnerFilter,
)
from .toolkit import (
    PhoneSearchMixin,
    ProtectedHistoryAdmin,
    adopt,
    link_to,
)

# --- Phone numbers -----------------------------------------------------------------------------------------------


class PhoneAddForm(forms.ModelForm):
    """Add a number typed in any format; it is parsed, normalised and indexed by `phone_add`. A number is never
    edited: a new number is added and the old one marked."""

    number = forms.CharField(label=_("number"), max_length=40, help_text=_("Any format, e.g. +86 138 0013 8000."))

    class Meta:
        model = PhoneNumber
        fields = ("borrower", "third_party", "number", "kind")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        borrower, third_party = data.get("borrower"), data.get("third_party")
        if borrower is None or not data.get("number"):
            return data
        if third_party is not None and third_party.borrower_id != borrower.pk:
            self.add_error("third_party", _("This contact belongs to another borrower."))
        try:
            parsed = parse_number(data["number"], borrower.region)
        except forms.ValidationError as exc:
            self.add_error("number", exc)
            return data
        existing = PhoneNumber.objects.filter(borrower=borrower, blind_index=blind_index(parsed.e164)).first()
        if existing is not None:
            self.add_error("number", _("This number is already recorded for this borrower."))
        return data


class PhoneStatusForm(forms.ModelForm):
    status_reason = forms.CharField(
        label=_("reason for the status change"), max_length=200, required=False,
        help_text=_("Required when the status changes (e.g. 'borrower says wrong number')."),
    )

    class Meta:
        model = PhoneNumber
        fields = ("status",)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if "status" in self.changed_data and not (data.get("status_reason") or "").strip():
            self.add_error("status_reason", _("Say why the status changes."))
        return data


@admin.register(PhoneNumber)
class PhoneNumberAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    list_display = ("masked_number", "borrower_link", "owner_label", "region", "kind", "status", "created_at")
    list_filter = ("status", "kind", "region", PhoneOwnerFilter, JurisdictionFilter)
    list_select_related = ("borrower", "third_party")
    search_fields = ("borrower__borrower_ref",)
    autocomplete_fields = ("borrower", "third_party")
    inlines = (ConsentInline,)

    def phone_search_q(self, indexes: set[str]) -> Q:
        return Q(blind_index__in=indexes)

    @admin.display(description=_("number"))
    def masked_number(self, obj: PhoneNumber) -> str:
        return obj.masked

    @admin.display(description=_("borrower"), ordering="borrower__borrower_ref")
    def borrower_link(self, obj: PhoneNumber) -> str:
        return link_to(obj.borrower)

    @admin.display(description=_("owner"))
    def owner_label(self, obj: PhoneNumber) -> str:
        return obj.third_party.contact_ref if obj.third_party is not None else str(_("Borrower"))

    form = PhoneStatusForm
    add_form = PhoneAddForm

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["borrower", "third_party", "number", "kind"]
        fields = ["borrower", "third_party", "masked_number", "region", "kind", "zones", "status",
                  "last_status_reason", "created_at", "updated_at"]
        return fields + (["status_reason"] if self.has_change_permission(request, obj) else [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["borrower", "third_party", "masked_number", "region", "kind", "zones", "last_status_reason",
                "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: PhoneNumber, form: Any, change: bool) -> None:
        if not change:
            number, _created = phone_add(
                borrower=obj.borrower, third_party=obj.third_party, actor=request.user,
                phone=PhoneInput(number=form.cleaned_data["number"], kind=obj.kind or None),
            )
            adopt(obj, number)
            return
        if "status" in form.changed_data:
            # The form already set the new status on `obj`; the service compares against the stored row.
            phone_set_status(
                phone=PhoneNumber.objects.get(pk=obj.pk), status=form.cleaned_data["status"], actor=request.user,
                reason=form.cleaned_data["status_reason"].strip(),
            )
