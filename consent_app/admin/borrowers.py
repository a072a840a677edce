"""Borrowers and their third-party contacts in admin. A borrower's name and national id are masked everywhere in
admin until a reader reveals one with a reason (BorrowerAdmin.reveal_view)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..history import restriction_reason_label
from ..models import (
    Borrower,
    Consent,
    InconvenientTime,
    PhoneNumber,
    Restriction,
    RevealPurpose,
    ThirdPartyContact,
)
from ..services import (
    BORROWER_REVEALABLE_FIELDS,
    ThirdPartyInput,
    borrower_reveal,
    borrower_upsert,
    third_party_reveal,
    third_party_upsert,
)
from ..times import reader_time, zone_location, zone_place
from ..validators import canonical_timezone, place_zones
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
    fields = ("kind", "loan", "starts_at", "ends_at", "lifted_at", "reason_in_words")
    readonly_fields = fields

    @admin.display(description=_("reason"))
    def reason_in_words(self, obj: Restriction) -> str:
        return restriction_reason_label(obj.reason)

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


# The zones of the desk's jurisdictions, offered first; then every place's zone (consent_app.validators).
COMMON_ZONES = ("Asia/Shanghai", "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
                "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "Europe/London")


def zone_choices(current: str = "") -> list[Any]:
    """The time zone picker's choices, named by country and place in the reader's language (never the IANA key a
    reader would have to know); a stored zone that is no longer offered (a legacy name) stays selectable as it is."""
    everything = sorted(place_zones(), key=zone_location)
    choices: list[Any] = [
        ("", _("Unknown: the jurisdiction's zone")),
        (_("The desk's jurisdictions"), [(key, zone_location(key)) for key in COMMON_ZONES]),
        (_("All zones"), [(key, zone_location(key)) for key in everything]),
    ]
    if current and current not in place_zones():
        choices.insert(1, (current, current))
    return choices


class ZoneField(forms.ChoiceField):
    """A place's zone, picked by its name; a legacy name sent as the value (`US/Eastern`) is taken as the zone it
    links to, as everywhere else (consent_app.validators.canonical_timezone), and UTC or an unknown name refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=zone_choices, required=False, label=_("time zone"), help_text=_(
            "Where the borrower lives; unknown: the jurisdiction's zone is used."), **kwargs)

    def to_python(self, value: Any) -> str:
        return canonical_timezone(super().to_python(value))

    def valid_value(self, value: Any) -> bool:
        return value == "" or value in place_zones() or super().valid_value(value)


class BorrowerChangeForm(forms.ModelForm):
    """The borrower's page: the name and the national id are never put in a field (the page would hold them in
    clear); a correction is typed into an empty one and replaces the stored value."""

    new_full_name = forms.CharField(label=_("new full name"), required=False, max_length=200,
                                    help_text=_("Empty: the name stays as it is."))
    new_national_id = forms.CharField(label=_("new national id"), required=False, max_length=64,
                                      help_text=_("Empty: the national id stays as it is."))

    timezone = ZoneField()

    class Meta:
        model = Borrower
        fields = ("jurisdiction", "timezone")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.timezone if self.instance is not None else ""
        cast(forms.ChoiceField, self.fields["timezone"]).choices = zone_choices(current)


class BorrowerAddForm(forms.ModelForm):
    timezone = ZoneField()

    class Meta:
        model = Borrower
        fields = ("borrower_ref", "full_name", "national_id", "jurisdiction", "timezone")


class RevealForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Why do you need it?"), choices=[("", "---------"), *RevealPurpose.choices])


MASKED = "***"


def masked_with_reveal(masked: str, url: str) -> SafeString:
    """A masked value with the button to the page that shows it in clear."""
    return format_html('{} <a class="button reveal" href="{}">{}</a>', masked, url, _("Show in clear"))


def reveal_page(model_admin: admin.ModelAdmin, request: HttpRequest, obj: Any, *, field_label: Any, title: str,
                reveal: Callable[[str], str]) -> HttpResponse:
    """The reveal page of a masked value (a borrower's name or national id, a third party's name): it asks why
    (GET), then shows the value `reveal(purpose)` returns — the service that checks the reader and records the
    reading — to this reader in this answer only (POST, never stored by a cache)."""
    form = RevealForm(request.POST or None)
    value = None
    if request.method == "POST" and form.is_valid():
        value = reveal(form.cleaned_data["purpose"])
    context = {
        **model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "original": obj,
        "title": title, "field_label": field_label, "form": form, "value": value,
    }
    response = TemplateResponse(request, "consent_app/admin/reveal.html", context,
                                status=422 if request.method == "POST" and value is None else 200)
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store"
    return response


@admin.register(Borrower)
class BorrowerAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    """The name and the national id are masked on every page (the list, the change page, its history and versions)
    until a reader reveals one, for themselves, with a reason (`reveal_view`, through `borrower_reveal`: a
    PII_REVEALED audit event). The national id is revealed to compliance officers only."""

    phone_borrower_path = "pk"
    list_display = ("borrower_ref", "national_id_masked", "jurisdiction", "zone_in_words", "created_at",
                    "updated_at")
    list_filter = ("jurisdiction", ZoneNeedsReviewFilter, "created_at")
    search_fields = ("borrower_ref",)
    date_hierarchy = "created_at"
    inlines = (PhoneNumberInline, ThirdPartyInline, BorrowerRestrictionInline, InconvenientTimeInline)
    form = BorrowerChangeForm
    add_form = BorrowerAddForm

    def _reveal_link(self, obj: Borrower, field: str, masked: str) -> str:
        if obj.pk is None or not masked:
            return masked or "-"
        url = reverse("admin:consent_app_borrower_reveal", args=[obj.pk, field])
        return masked_with_reveal(masked, url)

    @admin.display(description=_("time zone"), ordering="timezone")
    def zone_in_words(self, obj: Borrower) -> str:
        return zone_place(obj.timezone) if obj.timezone else "-"

    @admin.display(description=_("full name"))
    def full_name_masked(self, obj: Borrower) -> str:
        return self._reveal_link(obj, "full_name", MASKED if obj.full_name else "")

    @admin.display(description=_("national id"))
    def national_id_masked(self, obj: Borrower) -> str:
        return mask_national_id(obj.national_id)

    @admin.display(description=_("national id"))
    def national_id_revealable(self, obj: Borrower) -> str:
        return self._reveal_link(obj, "national_id", mask_national_id(obj.national_id))

    @admin.display(description=_("consents"))
    def consents_summary(self, obj: Borrower) -> str:
        if obj.pk is None:
            return "-"
        consents = Consent.objects.filter(phone__borrower=obj).select_related("phone").order_by("-granted_at")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (link_to(c, f"#{c.pk}"), c.phone.masked, c.channel_labels, Consent.STATE_LABELS[c.state_at()],
                 c.get_basis_display(),
                 reader_time(c.granted_at))
                for c in consents
            ),
        )
        return format_html("<table>{}</table>", rows) if rows else "-"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["borrower_ref", "full_name", "national_id", "jurisdiction", "timezone"]
        # The national id can be revealed by whoever the see_national_id permission grants (compliance).
        national_id = ("national_id_revealable" if request.user.has_perm("consent_app.see_national_id")
                       else "national_id_masked")
        corrections = ["new_full_name", "new_national_id"] if self.has_change_permission(request, obj) else []
        return ["borrower_ref", "full_name_masked", national_id, *corrections, "jurisdiction", "timezone",
                "consents_summary", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = ["full_name_masked", "national_id_masked", "national_id_revealable", "consents_summary",
                    "created_at", "updated_at"]
        return readonly + (["borrower_ref"] if obj is not None else [])

    def save_model(self, request: HttpRequest, obj: Borrower, form: Any, change: bool) -> None:
        data = form.cleaned_data
        full_name = (data.get("new_full_name") or "").strip() or obj.full_name
        national_id = (data.get("new_national_id") or "").strip() or obj.national_id
        borrower, _created = borrower_upsert(
            borrower_ref=obj.borrower_ref, full_name=full_name, jurisdiction=obj.jurisdiction,
            national_id=national_id, timezone_name=obj.timezone, actor=request.user, reason="changed in admin",
        )
        adopt(obj, borrower)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not InconvenientTime:
            return super().save_formset(request, form, formset, change)
        # No service for inconvenient times: saved with a change reason and an ADMIN_CHANGE audit event.
        save_formset_audited(request, formset)
        return None

    # --- Revealing the name or the national id, for one reader ----------------------------------------------------

    def get_urls(self) -> list[Any]:
        reveal = path("<path:object_id>/reveal/<str:field>/", self.admin_site.admin_view(self.reveal_view),
                      name="consent_app_borrower_reveal")
        return [reveal, *super().get_urls()]

    def reveal_view(self, request: HttpRequest, object_id: str, field: str) -> HttpResponse:
        """Ask why (GET), then show the value to this reader in this answer only (POST, never stored by a cache),
        recorded by borrower_reveal. Another team's borrower is a 404; the national id to others than compliance a
        403."""
        if field not in BORROWER_REVEALABLE_FIELDS:
            raise Http404
        borrower = cast(Borrower, self._check_in_scope(request, object_id))
        if not self.has_view_or_change_permission(request, borrower):
            raise PermissionDenied
        if field == "national_id" and not request.user.has_perm("consent_app.see_national_id"):
            raise PermissionDenied
        label = {"full_name": _("full name"), "national_id": _("national id")}[field]
        return reveal_page(
            self, request, borrower, field_label=label,
            title=_("Reveal the %(field)s of %(ref)s") % {"field": label, "ref": borrower.borrower_ref},
            reveal=lambda purpose: borrower_reveal(borrower=borrower, field=field, purpose=purpose,
                                                   actor=request.user),
        )


# --- Third-party contacts ----------------------------------------------------------------------------------------


class ThirdPartyChangeForm(forms.ModelForm):
    """A third party's page: the name is never put in a field (the page would hold it in clear); a correction is
    typed into an empty one and replaces the stored name."""

    new_full_name = forms.CharField(label=_("new full name"), required=False, max_length=200,
                                    help_text=_("Empty: the name stays as it is."))

    class Meta:
        model = ThirdPartyContact
        fields = ("relation", "authorized", "authorization_evidence")


class ThirdPartyAddForm(forms.ModelForm):
    class Meta:
        model = ThirdPartyContact
        fields = ("borrower", "contact_ref", "full_name", "relation", "authorized", "authorization_evidence")


@admin.register(ThirdPartyContact)
class ThirdPartyContactAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    """The contact's name is masked on every page, as the borrower's is, and shown to one reader who says why
    (third_party_reveal, a PII_REVEALED event)."""

    form = ThirdPartyChangeForm
    add_form = ThirdPartyAddForm
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

    @admin.display(description=_("full name"))
    def full_name_masked(self, obj: ThirdPartyContact) -> str:
        if obj.pk is None or not obj.full_name:
            return "-"
        return masked_with_reveal(MASKED, reverse("admin:consent_app_thirdpartycontact_reveal", args=[obj.pk]))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["borrower", "contact_ref", "full_name", "relation", "authorized", "authorization_evidence"]
        correction = ["new_full_name"] if self.has_change_permission(request, obj) else []
        return ["borrower", "contact_ref", "full_name_masked", *correction, "relation", "authorized",
                "authorization_evidence"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["borrower", "contact_ref", "full_name_masked"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: ThirdPartyContact, form: Any, change: bool) -> None:
        name = (form.cleaned_data.get("new_full_name") or "").strip() or obj.full_name
        contact = third_party_upsert(
            borrower=obj.borrower,
            data=ThirdPartyInput(
                contact_ref=obj.contact_ref, name=name, relation=obj.relation, authorized=obj.authorized,
                authorization_evidence=obj.authorization_evidence,
            ),
            actor=request.user,
        )
        adopt(obj, contact)

    # --- Revealing the name, for one reader ------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        reveal = path("<path:object_id>/reveal/", self.admin_site.admin_view(self.reveal_view),
                      name="consent_app_thirdpartycontact_reveal")
        return [reveal, *super().get_urls()]

    def reveal_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Ask why (GET), then show the name to this reader in this answer only (POST, never stored by a cache),
        recorded by third_party_reveal. Another team's contact is a 404."""
        contact = cast(ThirdPartyContact, self._check_in_scope(request, object_id))
        if not self.has_view_or_change_permission(request, contact):
            raise PermissionDenied
        return reveal_page(
            self, request, contact, field_label=_("full name"),
            title=_("Reveal the full name of %(ref)s") % {"ref": contact},
            reveal=lambda purpose: third_party_reveal(contact=contact, purpose=purpose, actor=request.user),
        )
