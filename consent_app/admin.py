"""Django admin for compliance officers: borrowers, numbers, third parties, consents, restrictions.

Rules every admin here follows (shared with collections_app.admin and audit_app.admin through the mixins below):
- Personal data is masked in lists and inlines (`+86 138****8000`, `****1234`); opening a page that shows a name
  or a national id in full writes a PII_REVEALED audit event.
- Encrypted fields cannot be filtered, so a search term that parses as a phone number is turned into blind-index
  lookups (`PhoneSearchMixin`).
- Writes go through the services (consent_withdraw, restriction_place, ...), which write their audit event in the
  same transaction; where no service exists the admin writes an ADMIN_CHANGE event itself. Nothing is deleted
  here (records are lifted or withdrawn), and history cannot be "reverted" around the services.
- Staff who are not compliance officers (supervisors) only see the borrowers of the loans they may see
  (`loans_visible_to`), the same rule as the desk.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedField
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from audit_app.models import AuditAction
from audit_app.services import audit_log
from collections_app.models import Loan
from collections_app.permissions import is_compliance, loans_visible_to

from .models import (
    JURISDICTION_REGIONS,
    Borrower,
    Consent,
    InconvenientTime,
    PhoneNumber,
    Restriction,
    ThirdPartyContact,
    WithdrawalChannel,
)
from .phones import blind_index, blind_index_for_input, mask, parse_number
from .services import (
    PhoneInput,
    ThirdPartyInput,
    borrower_upsert,
    consent_grant,
    consent_withdraw,
    phone_add,
    phone_set_status,
    restriction_lift,
    restriction_place,
    third_party_upsert,
)

# --- Shared helpers (imported by collections_app.admin and audit_app.admin) -----------------------------------


def mask_national_id(value: str) -> str:
    """`110101199003071234` -> `****1234`: the last four only, and not the length."""
    if not value:
        return ""
    return "****" + value[-4:] if len(value) > 4 else "****"


def redact(field_name: str, value: Any) -> str:
    """A display form of an encrypted field's value that never shows it in full."""
    if value in (None, ""):
        return ""
    if field_name == "e164":
        return mask(str(value))
    if field_name == "national_id":
        return mask_national_id(str(value))
    return "***"


# Digits with the separators people type: "+86 138 0013 8000", "0086-138-0013-8000", "(212) 555-0100".
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")
_SEARCH_REGION_HINTS = tuple(dict.fromkeys(("CN", "US", "GB", *JURISDICTION_REGIONS.values())))


def phone_search_indexes(term: str) -> set[str]:
    """Blind indexes of every number `term` could mean. A national number is tried under each region we serve
    (CN, US, GB and every jurisdiction's region); a term that is not number-like gives an empty set."""
    term = (term or "").strip()
    if not _PHONE_LIKE.match(term) or sum(c.isdigit() for c in term) < 6:
        return set()
    indexes = {blind_index_for_input(term, hint) for hint in _SEARCH_REGION_HINTS}
    indexes.discard(None)
    return indexes  # type: ignore[return-value]


def scoped_borrowers(user: Any) -> QuerySet[Borrower]:
    """Compliance sees every borrower; other staff the borrowers of the loans they may see on the desk."""
    if is_compliance(user):
        return Borrower.objects.all()
    return Borrower.objects.filter(pk__in=loans_visible_to(user).values("borrower_id"))


def admin_change_url(obj: Model | None) -> str:
    if obj is None or obj.pk is None:
        return ""
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


def link_to(obj: Model | None, label: Any = None) -> str:
    if obj is None:
        return "-"
    url = admin_change_url(obj)
    text = label if label is not None else str(obj)
    return format_html('<a href="{}">{}</a>', url, text) if url else str(text)


def adopt(obj: Model, saved: Model) -> None:
    """Copy the state of the instance a service saved onto the admin's form instance, so the admin's log entry
    and redirect refer to the saved row."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def admin_change_log(*, request: HttpRequest, obj: Model, op: str, fields: list[str] | tuple[str, ...] = ()) -> None:
    """Audit event for an admin write that has no service. Field names only, never values."""
    audit_log(
        action=AuditAction.ADMIN_CHANGE, subject=obj, actor=request.user,
        data={"op": op, "model": obj._meta.label_lower, "fields": sorted(fields)},
    )


def save_formset_audited(request: HttpRequest, formset: Any) -> None:
    """Save an inline formset of a model without a service: each row with a change reason and an ADMIN_CHANGE
    audit event, in the admin's transaction. Deleting is not offered (inlines here have can_delete False)."""
    formset.save(commit=False)  # sets new_objects / changed_objects, which the admin's change message reads
    added_fields = {id(form.instance): form.changed_data for form in formset.extra_forms}
    changes = [(obj, "added", added_fields.get(id(obj), [])) for obj in formset.new_objects]
    changes += [(obj, "changed", fields) for obj, fields in formset.changed_objects]
    for obj, op, fields in changes:
        obj._change_reason = f"{op} in admin"
        obj.save()
        admin_change_log(request=request, obj=obj, op=op, fields=fields)


class PiiSafeHistoryHelper(HistoricalRecordContextHelper):
    """History diffs show encrypted fields masked (a changed national id is `****1234 -> ****5678`)."""

    def prepare_delta_change_value(self, change: Any, value: Any) -> Any:
        field = self.model._meta.get_field(change.field)
        if isinstance(field, EncryptedField):
            return redact(field.name, value)
        return super().prepare_delta_change_value(change, value)


class ScopedAdminMixin:
    """Row scoping for staff who are not compliance officers, and related-object choices scoped the same way.

    `borrower_path`: the lookup from this model to the borrower's id (None: no borrower scoping)."""

    borrower_path: str | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)  # type: ignore[misc]
        if self.borrower_path is None or is_compliance(request.user):
            return qs
        return qs.filter(**{f"{self.borrower_path}__in": loans_visible_to(request.user).values("borrower_id")})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        model = db_field.related_model
        if model is Borrower:
            kwargs["queryset"] = scoped_borrowers(request.user)
        elif model is Loan:
            kwargs["queryset"] = loans_visible_to(request.user)
        elif model is PhoneNumber:
            kwargs["queryset"] = PhoneNumber.objects.filter(borrower__in=scoped_borrowers(request.user))
        elif model is ThirdPartyContact:
            kwargs["queryset"] = ThirdPartyContact.objects.filter(borrower__in=scoped_borrowers(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class PhoneSearchMixin:
    """Search by reference as usual, plus by phone number in any common format through the blind index.

    `phone_borrower_path`: lookup from this model to the borrower id whose numbers match (a borrower is found by
    any number on their file). Override `phone_search_q` for another meaning (e.g. the number itself)."""

    phone_borrower_path: str | None = "borrower_id"
    search_help_text = _("Reference, or a phone number in any format: national, +country code or 00 prefix.")

    def phone_search_q(self, indexes: set[str]) -> Q:
        borrower_ids = PhoneNumber.objects.filter(blind_index__in=indexes).values("borrower_id")
        return Q(**{f"{self.phone_borrower_path}__in": borrower_ids})

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        indexes = phone_search_indexes(search_term)
        if not indexes:
            return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        # The text search runs on an unscoped base queryset and is folded in as a pk subquery, so the result
        # is one filter on the admin's queryset (scoping, annotations and select_related kept, no duplicates).
        text_matches, _dups = super().get_search_results(  # type: ignore[misc]
            request, self.model._default_manager.all(), search_term  # type: ignore[attr-defined]
        )
        return queryset.filter(self.phone_search_q(indexes) | Q(pk__in=text_matches.values("pk"))), False


class ProtectedHistoryAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """History view for compliance, with encrypted values masked and no way around the services: reverting a
    version is disabled (it would save without a service or an audit event) and nothing is deleted.

    `pii_view_field`: when set, opening the change form (or a historical version) writes PII_REVEALED."""

    pii_view_field: str | None = None
    add_form: type[forms.ModelForm] | None = None  # the form for adding, when it differs from the change form
    list_per_page = 50
    show_full_result_count = False  # one COUNT(*) fewer on every changelist

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None and self.add_form is not None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change, **kwargs)

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def get_historical_record_context_helper(self, request: HttpRequest, historical_record: Any) -> Any:
        return PiiSafeHistoryHelper(self.model, historical_record)

    def _check_in_scope(self, request: HttpRequest, object_id: str) -> Model:
        obj = self.get_queryset(request).filter(pk=unquote(object_id)).first()
        if obj is None:
            raise Http404
        return obj

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        self._check_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if request.method != "GET":
            raise PermissionDenied
        obj = self._check_in_scope(request, object_id)
        response = super().history_form_view(request, object_id, version_id, extra_context)
        if self.pii_view_field and response.status_code == 200:
            audit_log(
                action=AuditAction.PII_REVEALED, subject=obj, actor=request.user,
                data={"field": f"{self.pii_view_field}_history", "history_id": str(version_id)},
            )
        return response

    def render_change_form(
        self, request: HttpRequest, context: dict, add: bool = False, change: bool = False, form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if self.pii_view_field and change and obj is not None and request.method == "GET":
            # One event per page view: the form shows the data subject's name and id in full.
            audit_log(
                action=AuditAction.PII_REVEALED, subject=obj, actor=request.user, data={"field": self.pii_view_field}
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


class ReadOnlyInline(admin.TabularInline):
    """An inline that lists, never edits: the rows are written through their own services."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- List filters ------------------------------------------------------------------------------------------------


class JurisdictionFilter(admin.SimpleListFilter):
    title = _("jurisdiction")
    parameter_name = "jurisdiction"
    borrower_path = "borrower__jurisdiction"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return Borrower._meta.get_field("jurisdiction").choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.borrower_path: self.value()}) if self.value() else queryset


class ConsentJurisdictionFilter(JurisdictionFilter):
    borrower_path = "phone__borrower__jurisdiction"


class PhoneOwnerFilter(admin.SimpleListFilter):
    title = _("owner")
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("debtor", _("Borrower")), ("third_party", _("Third party")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "debtor":
            return queryset.filter(third_party__isnull=True)
        if self.value() == "third_party":
            return queryset.filter(third_party__isnull=False)
        return queryset


class ConsentChannelFilter(admin.SimpleListFilter):
    title = _("channels")
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("call", _("Calls")), ("sms", _("SMS")), ("both", _("Calls and SMS")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "call":
            return queryset.filter(allows_call=True)
        if self.value() == "sms":
            return queryset.filter(allows_sms=True)
        if self.value() == "both":
            return queryset.filter(allows_call=True, allows_sms=True)
        return queryset


class ConsentStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("active", _("Active")), ("withdrawn", _("Withdrawn")), ("expired", _("Expired")),
                ("pending", _("Not yet in force")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        not_withdrawn = Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=now)
        not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        match self.value():
            case "active":
                return queryset.filter(not_withdrawn, not_expired, granted_at__lte=now)
            case "withdrawn":
                return queryset.filter(withdrawn_at__lte=now)
            case "expired":
                return queryset.filter(not_withdrawn, expires_at__lte=now)
            case "pending":
                return queryset.filter(not_withdrawn, not_expired, granted_at__gt=now)
        return queryset


class LiftedFilter(admin.SimpleListFilter):
    title = _("lifted")
    parameter_name = "lifted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("no", _("Not lifted")), ("yes", _("Lifted")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "no":
            return queryset.filter(lifted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


class RestrictionInForceFilter(admin.SimpleListFilter):
    title = _("in force now")
    parameter_name = "in_force"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        in_force = (
            Q(starts_at__lte=now)
            & (Q(lifted_at__isnull=True) | Q(lifted_at__gt=now))
            & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        )
        if self.value() == "yes":
            return queryset.filter(in_force)
        if self.value() == "no":
            return queryset.exclude(in_force)
        return queryset


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
        return obj.third_party.contact_ref if obj.third_party_id else str(_("Borrower"))


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


class InconvenientTimeInline(admin.TabularInline):
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
    borrower_path = "pk"
    phone_borrower_path = "pk"
    list_display = ("borrower_ref", "national_id_masked", "jurisdiction", "timezone", "created_at", "updated_at")
    list_filter = ("jurisdiction", "created_at")
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
        personal = ["full_name", "national_id"] if is_compliance(request.user) else ["full_name",
                                                                                       "national_id_masked"]
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
    borrower_path = "borrower_id"
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


# --- Phone numbers -----------------------------------------------------------------------------------------------


class PhoneAddForm(forms.ModelForm):
    """Add a number typed in any format; it is parsed, normalised and indexed by `phone_add`. A number is never
    edited: a new number is added and the old one marked."""

    number = forms.CharField(label=_("number"), max_length=40, help_text=_("Any format, e.g. +86 138 0013 8000."))

    class Meta:
        model = PhoneNumber
        fields = ("borrower", "third_party", "number", "kind")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
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
        data = super().clean()
        if "status" in self.changed_data and not (data.get("status_reason") or "").strip():
            self.add_error("status_reason", _("Say why the status changes."))
        return data


@admin.register(PhoneNumber)
class PhoneNumberAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    borrower_path = "borrower_id"
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
        return obj.third_party.contact_ref if obj.third_party_id else str(_("Borrower"))

    form = PhoneStatusForm
    add_form = PhoneAddForm

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["borrower", "third_party", "number", "kind"]
        fields = ["borrower", "third_party", "masked_number", "region", "kind", "zones", "status", "created_at",
                  "updated_at"]
        return fields + (["status_reason"] if self.has_change_permission(request, obj) else [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["borrower", "third_party", "masked_number", "region", "kind", "zones", "created_at", "updated_at"]

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


# --- Consents ----------------------------------------------------------------------------------------------------


# How a borrower can ask, as recorded by a compliance officer; "api" is the loan system's own channel.
ADMIN_WITHDRAWAL_CHANNELS = tuple(v for v in WithdrawalChannel.values if v != WithdrawalChannel.API)


class ConsentGrantForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        label=_("channels"), choices=(("call", _("Calls")), ("sms", _("SMS"))), widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Consent
        fields = ("phone", "channels", "basis", "evidence_ref", "granted_at", "expires_at")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        phone, granted_at, expires_at = data.get("phone"), data.get("granted_at"), data.get("expires_at")
        if phone is not None and phone.third_party_id is not None:
            self.add_error("phone", _("Consent is given by the borrower for the borrower's own numbers."))
        if granted_at and granted_at > timezone.now() + timedelta(minutes=5):
            self.add_error("granted_at", _("A consent cannot be granted in the future."))
        if granted_at and expires_at and expires_at <= granted_at:
            self.add_error("expires_at", _("The consent must expire after it was granted."))
        return data


class ConsentWithdrawForm(forms.ModelForm):
    withdraw_via = forms.ChoiceField(
        label=_("withdraw now, asked via"), required=False,
        choices=[("", "---------"), *((v, label) for v, label in WithdrawalChannel.choices
                                     if v in ADMIN_WITHDRAWAL_CHANNELS)],
        help_text=_("Leave empty to keep the consent. Withdrawal cannot be undone (a new consent is granted)."),
    )
    withdraw_channels = forms.MultipleChoiceField(
        label=_("only these channels"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=(("call", _("Calls")), ("sms", _("SMS"))), help_text=_("Empty: every channel."),
    )

    class Meta:
        model = Consent
        fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        unknown = set(data.get("withdraw_channels") or ()) - set(self.instance.channels)
        if unknown:
            self.add_error("withdraw_channels", _("This consent does not cover: %s.") % ", ".join(sorted(unknown)))
        return data


def _withdraw_action(via: str, label: str) -> Any:
    def action(modeladmin: ConsentAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        with transaction.atomic():
            for consent in queryset.filter(withdrawn_at__isnull=True):
                consent_withdraw(consent=consent, via=via, actor=request.user)
                count += 1
        modeladmin.message_user(request, _("%(n)d consent(s) withdrawn.") % {"n": count}, messages.SUCCESS)

    action.__name__ = f"withdraw_via_{via}"
    description = format_lazy(_("Withdraw selected consents (borrower asked: {via})"), via=label)
    return admin.action(description=description, permissions=["change"])(action)


@admin.register(Consent)
class ConsentAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    borrower_path = "phone__borrower_id"
    list_display = ("id", "masked_number", "borrower_link", "channels_label", "state_label", "basis", "granted_at",
                    "expires_at", "withdrawn_at", "withdrawn_via")
    list_filter = (ConsentStateFilter, ConsentChannelFilter, "basis", "withdrawn_via", ConsentJurisdictionFilter)
    list_select_related = ("phone", "phone__borrower")
    search_fields = ("phone__borrower__borrower_ref", "evidence_ref")
    date_hierarchy = "granted_at"
    autocomplete_fields = ("phone",)
    actions = [_withdraw_action(via, label) for via, label in WithdrawalChannel.choices
               if via in ADMIN_WITHDRAWAL_CHANNELS]

    def phone_search_q(self, indexes: set[str]) -> Q:
        return Q(phone__blind_index__in=indexes)

    @admin.display(description=_("number"))
    def masked_number(self, obj: Consent) -> str:
        return obj.phone.masked

    @admin.display(description=_("borrower"), ordering="phone__borrower__borrower_ref")
    def borrower_link(self, obj: Consent) -> str:
        return link_to(obj.phone.borrower)

    @admin.display(description=_("channels"))
    def channels_label(self, obj: Consent) -> str:
        return ", ".join(obj.channels)

    @admin.display(description=_("state"))
    def state_label(self, obj: Consent) -> str:
        return obj.state_at()

    form = ConsentWithdrawForm
    add_form = ConsentGrantForm

    _shown = ["phone_link", "channels_label", "state_label", "basis", "evidence_ref", "granted_at", "expires_at",
              "withdrawn_at", "withdrawn_via", "created_at"]

    @admin.display(description=_("number"))
    def phone_link(self, obj: Consent) -> str:
        return link_to(obj.phone)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["phone", "channels", "basis", "evidence_ref", "granted_at", "expires_at"]
        can_withdraw = obj.withdrawn_at is None and self.has_change_permission(request, obj)
        return self._shown + (["withdraw_via", "withdraw_channels"] if can_withdraw else [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self._shown) if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Consent, form: Any, change: bool) -> None:
        if not change:
            data = form.cleaned_data
            consent = consent_grant(
                phone=data["phone"], channels=data["channels"], basis=data["basis"], evidence_ref=data["evidence_ref"],
                granted_at=data["granted_at"], expires_at=data.get("expires_at"), actor=request.user,
            )
            adopt(obj, consent)
            return
        via = form.cleaned_data.get("withdraw_via")
        if via:
            consent = consent_withdraw(
                consent=obj, via=via, actor=request.user, channels=tuple(form.cleaned_data.get("withdraw_channels")
                                                                          or ()),
            )
            adopt(obj, consent)


# --- Restrictions ------------------------------------------------------------------------------------------------


class RestrictionPlaceForm(forms.ModelForm):
    class Meta:
        model = Restriction
        fields = ("borrower", "loan", "kind", "starts_at", "ends_at", "reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        borrower, loan = data.get("borrower"), data.get("loan")
        if borrower is not None and loan is not None and loan.borrower_id != borrower.pk:
            self.add_error("loan", _("The loan belongs to another borrower."))
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The end must be after the start."))
        return data


class RestrictionLiftForm(forms.ModelForm):
    lift = forms.BooleanField(label=_("lift this restriction now"), required=False)
    lift_reason_text = forms.CharField(label=_("lift reason"), max_length=500, required=False)

    class Meta:
        model = Restriction
        fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("lift") and not (data.get("lift_reason_text") or "").strip():
            self.add_error("lift_reason_text", _("Say why the restriction is lifted."))
        return data


@admin.register(Restriction)
class RestrictionAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    borrower_path = "borrower_id"
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
        count = 0
        with transaction.atomic():
            for restriction in queryset.filter(lifted_at__isnull=True):
                restriction_lift(restriction=restriction, actor=request.user, reason="lifted in admin")
                count += 1
        self.message_user(request, _("%(n)d restriction(s) lifted.") % {"n": count}, messages.SUCCESS)

    form = RestrictionLiftForm
    add_form = RestrictionPlaceForm

    _shown = ["borrower", "loan", "kind", "starts_at", "ends_at", "reason", "lifted_at", "lift_reason", "created_by",
              "created_at"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["borrower", "loan", "kind", "starts_at", "ends_at", "reason"]
        can_lift = obj.lifted_at is None and self.has_change_permission(request, obj)
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
    borrower_path = "borrower_id"
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
        obj._change_reason = "changed in admin" if change else "added in admin"
        super().save_model(request, obj, form, change)
        admin_change_log(request=request, obj=obj, op="changed" if change else "added", fields=form.changed_data)


__all__ = [
    "PhoneSearchMixin",
    "ProtectedHistoryAdmin",
    "ReadOnlyInline",
    "ScopedAdminMixin",
    "admin_change_log",
    "save_formset_audited",
    "link_to",
    "mask_national_id",
    "phone_search_indexes",
    "scoped_borrowers",
]
