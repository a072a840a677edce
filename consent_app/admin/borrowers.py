"""Borrowers and their third-party contacts in admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from ..models import (
    Borrower,
    Consent,
    InconvenientTime,
    PhoneNumber,
    Restriction,
    ThirdPartyContact,
)
from ..services import (
    ThirdPartyInput,
    borrower_upsert,
    third_party_upsert,
)
from .filters import (
    JurisdictionFilter,
    ZoneNeedsReviewFilter,
)
from .toolkit import (
    PhoneSearchMixin,
    ProtectedHistoryAdmin,
    ReadOnlyInline,
    ScopedAdminMixin,
    adopt,
    link_to,
    mask_national_id,
    save_formset_audited,
)

# --- Inlines -----------------------------------------------------------------------------------------------------


class PhoneNumberInline(ReadOnlyInline):
    model = PhoneNumber
    fk_name = "borrower"
    fields = ("masked_number", "owner_label", "region", "kind", "status", "created_at")
    readonly_fields = fields
    verbose_name_plural = _("phone numbers (masked)")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("third_party")

    @admin.display(description=_("number"))
    def masked_number(self, obj: PhoneNumber) -> str:
        return obj.masked

    @admin.display(description=_("owner"))
    def owner_label(self, obj: PhoneNumber) -> str:
        return obj.third_party.contact_ref if obj.third_party is not None else str(_("Borrower"))


class ThirdPartyPhoneInline(PhoneNumberInline):
    fk_name = "third_party"


class ThirdPartyInline(ReadOnlyInline):
    model = ThirdPartyContact
    fields = ("contact_ref", "relation", "authorized", "authorization_evidence", "created_at")
    readonly_fields = fields


class BorrowerRestrictionInline(ReadOnlyInline):
    model = Restriction
    fk_name = "borrower"
    fields = ("kind", "loan", "starts_at", "ends_at", "lifted_at", "reason")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("loan", "borrower")


class InconvenientTimeInline(ScopedAdminMixin, admin.TabularInline):
    """Editable under the borrower; saved with an ADMIN_CHANGE audit event (see BorrowerAdmin.save_formset)."""

    model = InconvenientTime
    extra = 0
    can_delete = False
    fields = ("weekdays", "start", "end", "note")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = ("channels_label", "state_label", "basis", "evidence_ref", "granted_at", "expires_at", "withdrawn_at",
              "withdrawn_via")
    readonly_fields = fields

    @admin.display(description=_("channels"))
    def channels_label(self, obj: Consent) -> str:
        return ", ".join(obj.channels)

    @admin.display(description=_("state"))
    def state_label(self, obj: Consent) -> str:
        return obj.state_at()


# --- Borrower ----------------------------------------------------------------------------------------------------


@admin.register(Borrower)
class BorrowerAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    pii_view_field = "borrower_admin_view"
    phone_borrower_path = "pk"
    list_display = ("borrower_ref", "national_id_masked", "jurisdiction", "timezone", "created_at", "updated_at")
    list_filter = ("jurisdiction", ZoneNeedsReviewFilter, "created_at")
    search_fields = ("borrower_ref",)
    date_hierarchy = "created_at"
    inlines = (PhoneNumberInline, ThirdPartyInline, BorrowerRestrictionInline, InconvenientTimeInline)

    @admin.display(description=_("national id"))
    def national_id_masked(self, obj: Borrower) -> str:
        return mask_national_id(obj.national_id)

    @admin.display(description=_("consents"))
    def consents_summary(self, obj: Borrower) -> str:
        if obj.pk is None:
            return "-"
        consents = Consent.objects.filter(phone__borrower=obj).select_related("phone").order_by("-granted_at")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (link_to(c, f"#{c.pk}"), c.phone.masked, ", ".join(c.channels), c.state_at(), c.get_basis_display(),
                 c.granted_at.date())
                for c in consents
            ),
        )
        return format_html("<table>{}</table>", rows) if rows else "-"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The national id in full only for whoever may correct it (compliance); others see it masked.
        may_see = request.user.has_perm("consent_app.change_borrower")
        personal = ["full_name", "national_id"] if may_see else ["full_name", "national_id_masked"]
        fields = ["borrower_ref", *personal, "jurisdiction", "timezone"]
        return fields + (["consents_summary", "created_at", "updated_at"] if obj is not None else [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = ["national_id_masked", "consents_summary", "created_at", "updated_at"]
        return readonly + (["borrower_ref"] if obj is not None else [])

    def save_model(self, request: HttpRequest, obj: Borrower, form: Any, change: bool) -> None:
        borrower, _created = borrower_upsert(
            borrower_ref=obj.borrower_ref, full_name=obj.full_name, jurisdiction=obj.jurisdiction,
            national_id=obj.national_id, timezone_name=obj.timezone, actor=request.user, reason="changed in admin",
        )
        adopt(obj, borrower)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not InconvenientTime:
            return super().save_formset(request, form, formset, change)
        # No service for inconvenient times: saved with a change reason and an ADMIN_CHANGE audit event.
        save_formset_audited(request, formset)
        return None


# --- Third-party contacts ----------------------------------------------------------------------------------------


@admin.register(ThirdPartyContact)
class ThirdPartyContactAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    pii_view_field = "third_party_admin_view"
    list_display = ("contact_ref", "borrower_link", "relation", "authorized", "created_at")
    list_filter = ("relation", "authorized", JurisdictionFilter)
    list_select_related = ("borrower",)
    search_fields = ("contact_ref", "borrower__borrower_ref")
    autocomplete_fields = ("borrower",)
    inlines = (ThirdPartyPhoneInline,)

    def phone_search_q(self, indexes: set[str]) -> Q:
        # The contact who owns the number, and the contacts of the borrower who owns it.
        phones = PhoneNumber.objects.filter(blind_index__in=indexes)
        return Q(pk__in=phones.filter(third_party__isnull=False).values("third_party_id")) | Q(
            borrower_id__in=phones.filter(third_party__isnull=True).values("borrower_id")
        )

    @admin.display(description=_("borrower"), ordering="borrower__borrower_ref")
    def borrower_link(self, obj: ThirdPartyContact) -> str:
        return link_to(obj.borrower)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["borrower", "contact_ref", "full_name", "relation", "authorized", "authorization_evidence"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["borrower", "contact_ref"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: ThirdPartyContact, form: Any, change: bool) -> None:
        contact = third_party_upsert(
            borrower=obj.borrower,
            data=ThirdPartyInput(
                contact_ref=obj.contact_ref, name=obj.full_name, relation=obj.relation, authorized=obj.authorized,
                authorization_evidence=obj.authorization_evidence,
            ),
            actor=request.user,
        )
        adopt(obj, contact)
