"""The admin toolkit every Collector Desk admin uses (consent_app's and collections_app's).

- Personal data is masked in lists and inlines (`+86 138****8000`, `****1234`); opening a page that shows a name
  or a national id in full writes a PII_REVEALED audit event.
- Encrypted fields cannot be filtered, so a search term that parses as a phone number is turned into blind-index
  lookups (`PhoneSearchMixin`). A number is searched by POST and kept in the session, never in the address: the
  changelist's links carry a random search id (`?qid=`) instead.
- Writes go through the services, which write their audit event in the same transaction; where no service exists
  the admin writes an ADMIN_CHANGE event itself. Nothing is deleted here (records are lifted or withdrawn), and
  history cannot be "reverted" around the services.
- Every row, related-object choice, history page and action goes through the model's registered access scope
  (`consent_app.scopes`, `ScopedAdminMixin`): the same rule as the desk and the API.
- Every date and time is shown on the reader's clock with its UTC offset (`ReaderTimesMixin`, part of
  `ScopedAdminMixin`): `2026-12-02 23:58 (UTC+08:00)`, never a bare time that reads as UTC or as the server's.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from typing import Any, cast
from urllib.parse import urlencode

from cryptography.fernet import InvalidToken
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR, SEARCH_VAR, ChangeList
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db.models import DateTimeField, Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedField
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from audit_app.models import AuditAction
from audit_app.services import audit_log

from .. import scopes
from ..history import with_change_reason
from ..models import (
    JURISDICTION_REGIONS,
    PhoneNumber,
)
from ..phones import blind_index_for_input, mask
from ..times import reader_local, reader_time


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


def is_phone_like(term: str) -> bool:
    """Digits (at least six) with the separators people type: what the admin treats as a phone number."""
    term = (term or "").strip()
    return bool(_PHONE_LIKE.match(term)) and sum(c.isdigit() for c in term) >= 6


def phone_search_indexes(term: str) -> set[str]:
    """Blind indexes of every number `term` could mean. A national number is tried under each region we serve
    (CN, US, GB and every jurisdiction's region); a term that is not number-like gives an empty set."""
    term = (term or "").strip()
    if not is_phone_like(term):
        return set()
    indexes = {blind_index_for_input(term, hint) for hint in _SEARCH_REGION_HINTS}
    indexes.discard(None)
    return indexes  # type: ignore[return-value]


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
        with_change_reason(obj, f"{op} in admin")
        obj.save()
        admin_change_log(request=request, obj=obj, op=op, fields=fields)


class PiiSafeHistoryHelper(HistoricalRecordContextHelper):
    """History diffs show encrypted fields masked (a changed national id is `****1234 -> ****5678`), times on the
    reader's clock with their offset, and a choice by its label (待审批, not pending_approval)."""

    def prepare_delta_change_value(self, change: Any, value: Any) -> Any:
        field = self.model._meta.get_field(change.field)
        if isinstance(field, EncryptedField):
            return redact(field.name, value)
        choices = dict(getattr(field, "flatchoices", None) or ())
        if choices and not isinstance(value, list | dict):
            return choices.get(value, value)
        if isinstance(value, datetime) and value.tzinfo is not None:
            return reader_time(value)
        return super().prepare_delta_change_value(change, value)


# --- Times on the reader's clock ----------------------------------------------------------------------------------
#
# Django's admin writes a date and time field in the current time zone (the reader's, activated per request) but
# without its offset: "Dec. 2, 2026, 11:58 p.m." could be anyone's clock, UTC included. Every datetime field the
# admin lists or shows read-only is written instead as `2026-12-02 23:58 (UTC+08:00)`: the field's name is swapped
# for a column (`reader_time_column`) on the changelist and on the change, version and inline forms' read-only
# fields. Fields that are edited keep Django's inputs (typed in the reader's zone).

EMPTY_VALUE = "-"


def _datetime_field(model: type[Model], name: Any) -> DateTimeField | None:
    if not isinstance(name, str):
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, DateTimeField) else None


@cache
def reader_time_column(field: DateTimeField) -> Callable[[Model], SafeString | str]:
    """An admin column (list_display or readonly_fields entry) showing `field` on the reader's clock with its offset,
    sortable by the field. One per field, so the changelist recognises it in list_display_links."""

    def column(obj: Model) -> SafeString | str:
        value = getattr(obj, field.attname, None)
        if not isinstance(value, datetime) or value.tzinfo is None:
            return EMPTY_VALUE if value is None else str(value)
        return format_html('<time datetime="{}">{}</time>', reader_local(value).isoformat(timespec="seconds"),
                           reader_time(value))

    column.__name__ = field.name  # the column's CSS class, as for the field itself
    column.short_description = field.verbose_name  # type: ignore[attr-defined]
    column.admin_order_field = field.name  # type: ignore[attr-defined]
    return column


def with_reader_times(model: type[Model], names: Iterable[Any]) -> list[Any]:
    """`names` (field names, callables, or tuples of them for one line) with every datetime field of `model` swapped
    for its reader-time column."""
    swapped: list[Any] = []
    for name in names:
        if isinstance(name, list | tuple):
            swapped.append(type(name)(with_reader_times(model, name)))
            continue
        field = _datetime_field(model, name)
        swapped.append(reader_time_column(field) if field is not None else name)
    return swapped


def _read_only_times(form: Any, model: type[Model]) -> None:
    """On an AdminForm or InlineAdminFormSet already built: its read-only datetime fields written on the reader's
    clock. Only read-only ones: an edited field stays the form's input."""
    readonly = list(form.readonly_fields or ())
    swap = {name: reader_time_column(field) for name in readonly if (field := _datetime_field(model, name))}
    if not swap:
        return

    def swapped(names: Iterable[Any]) -> list[Any]:
        return [type(n)(swapped(n)) if isinstance(n, list | tuple) else swap.get(n, n) for n in names]

    form.readonly_fields = swapped(readonly)
    form.fieldsets = [(title, {**options, "fields": swapped(options.get("fields", ()))})
                      for title, options in form.fieldsets]


class ReaderTimesMixin:
    """Datetimes on the reader's clock with their offset, on the changelist, the change and view pages, their inlines
    and the history pages (see `reader_time_column`)."""

    object_history_list_template = "consent_app/admin/object_history_list.html"

    def get_list_display(self, request: HttpRequest) -> Any:
        return with_reader_times(self.model, super().get_list_display(request))  # type: ignore[attr-defined,misc]

    def render_change_form(
        self, request: HttpRequest, context: dict, add: bool = False, change: bool = False, form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        self._reader_times_in(context)
        return super().render_change_form(request, context, add, change, form_url, obj)  # type: ignore[misc]

    def render_history_view(self, request: HttpRequest, template: str, context: dict, **kwargs: Any) -> HttpResponse:
        self._reader_times_in(context)
        return super().render_history_view(request, template, context, **kwargs)  # type: ignore[misc]

    def _reader_times_in(self, context: dict) -> None:
        if context.get("adminform") is not None:
            _read_only_times(context["adminform"], self.model)  # type: ignore[attr-defined]
        for inline in context.get("inline_admin_formsets") or ():
            _read_only_times(inline, inline.formset.model)


class ScopedAdminMixin(ReaderTimesMixin):
    """Rows, and the choices of every related-object field, limited to what the user may see: the scope
    registered for the model (`consent_app.scopes`), the same rule as the desk and the API. Used by every admin
    and inline that shows rows of a scoped model (and so every one shows times on the reader's clock)."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scopes.visible_to(request.user, super().get_queryset(request))  # type: ignore[misc]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        model = db_field.related_model
        if scopes.has_scope(model):
            kwargs["queryset"] = scopes.visible_to(request.user, model._default_manager.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """An action runs on the selected rows only when every one of them is in the user's scope. Django's own
        handling runs it on the rows that remain (none, for another team's row) and lets the action report that
        as a success ("0 restriction(s) lifted."): here a selection naming a row outside the scope, or one that no
        longer exists, changes nothing and is told as the change view tells it."""
        selected = list(dict.fromkeys(request.POST.getlist(ACTION_CHECKBOX_NAME)))
        if selected and request.POST.get("select_across") != "1":
            try:
                found = {str(pk) for pk in queryset.filter(pk__in=selected).values_list("pk", flat=True)}
            except (ValueError, ValidationError):
                found = set()
            missing = [key for key in selected if key not in found]
            if missing:
                name = self.model._meta.verbose_name  # type: ignore[attr-defined]
                for key in missing:
                    self.message_user(  # type: ignore[attr-defined]
                        request, _("%(name)s with ID “%(key)s” doesn’t exist. Perhaps it was deleted?")
                        % {"name": name, "key": key}, messages.ERROR,
                    )
                return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        model = db_field.related_model
        if scopes.has_scope(model):
            kwargs["queryset"] = scopes.visible_to(request.user, model._default_manager.all())
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


# --- Searching by number, without the number in the address ------------------------------------------------------
#
# A number typed into the search box would otherwise travel as `?q=+8613800138000`: in the address bar, the
# browser history, every link of the changelist and the web server's access log. So the search form posts, the
# number is kept in the session (encrypted, under a random id, for NUMBER_SEARCH_TTL_SECONDS), and the changelist
# is addressed as `?qid=<random id>`. The id means nothing outside the session that holds it: not a blind index,
# which would be a stable pseudonym of the number in every log line.

NUMBER_SEARCH_VAR = "qid"
NUMBER_SEARCH_MARK = "_number_search"  # the posted search form's marker (an action or a bulk edit also posts)
NUMBER_SEARCH_TTL_SECONDS = 30 * 60
NUMBER_SEARCHES_KEPT = 20
_NUMBER_SEARCHES_SESSION_KEY = "admin_number_searches"
_NUMBER_SEARCH_ATTRIBUTE = "_number_search_term"  # set on the request for get_search_results
_NOT_CARRIED = {SEARCH_VAR, NUMBER_SEARCH_VAR, NUMBER_SEARCH_MARK, PAGE_VAR, ERROR_FLAG, "csrfmiddlewaretoken"}


def _session_fernet() -> Any:
    # The personal-data key (FERNET_KEYS, as the encrypted fields use it): the session row holds no plaintext.
    return cast(EncryptedField, PhoneNumber._meta.get_field("e164")).fernet


def number_search_store(request: HttpRequest, term: str) -> str:
    """Keep `term` in the session and return the random id the changelist is addressed with."""
    now = time.time()
    searches = {
        qid: entry for qid, entry in request.session.get(_NUMBER_SEARCHES_SESSION_KEY, {}).items()
        if isinstance(entry, dict) and now - entry.get("at", 0) < NUMBER_SEARCH_TTL_SECONDS
    }
    qid = secrets.token_urlsafe(16)
    searches[qid] = {"term": _session_fernet().encrypt(term.encode()).decode(), "at": now}
    newest = sorted(searches.items(), key=lambda item: item[1]["at"])[-NUMBER_SEARCHES_KEPT:]
    request.session[_NUMBER_SEARCHES_SESSION_KEY] = dict(newest)
    return qid


def number_search_term(request: HttpRequest, qid: str) -> str | None:
    """The number kept under `qid` in this session; None when unknown (another session's) or expired."""
    entry = request.session.get(_NUMBER_SEARCHES_SESSION_KEY, {}).get(qid)
    if not isinstance(entry, dict) or time.time() - entry.get("at", 0) >= NUMBER_SEARCH_TTL_SECONDS:
        return None
    try:
        return str(_session_fernet().decrypt(str(entry["term"]).encode()).decode())
    except (InvalidToken, KeyError, UnicodeDecodeError):
        return None


class NumberSearchChangeList(ChangeList):
    """A changelist whose address may carry the search id: `qid` is kept in its links, not read as a filter."""

    def get_filters_params(self, params: Any = None) -> Any:
        lookup_params = super().get_filters_params(params)
        lookup_params.pop(NUMBER_SEARCH_VAR, None)
        return lookup_params


class PhoneSearchMixin:
    """Search by reference as usual, plus by phone number in any common format through the blind index.

    `phone_borrower_path`: lookup from this model to the borrower id whose numbers match (a borrower is found by
    any number on their file). Override `phone_search_q` for another meaning (e.g. the number itself).

    The search box posts (with its CSRF token): a term that looks like a number is kept in the session and the
    changelist redirected to `?qid=<random id>`; any other term is searched by `?q=` as usual."""

    phone_borrower_path: str | None = "borrower_id"
    search_help_text = _("Reference, or a phone number in any format: national, +country code or 00 prefix.")
    change_list_template = "consent_app/admin/number_search_change_list.html"

    def phone_search_q(self, indexes: set[str]) -> Q:
        borrower_ids = PhoneNumber.objects.filter(blind_index__in=indexes).values("borrower_id")
        return Q(**{f"{self.phone_borrower_path}__in": borrower_ids})

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return NumberSearchChangeList

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        if request.method == "POST" and NUMBER_SEARCH_MARK in request.POST:
            return self._redirect_to_search(request, request.POST, (request.POST.get(SEARCH_VAR) or "").strip())
        if is_phone_like(request.GET.get(SEARCH_VAR, "")):
            # A number in the address already (a bookmark, a hand-typed URL): keep it out of every link from here.
            return self._redirect_to_search(request, request.GET, request.GET[SEARCH_VAR].strip())
        qid = request.GET.get(NUMBER_SEARCH_VAR)
        if qid is not None:
            term = number_search_term(request, qid)
            if term is None:
                messages.warning(request, _("This number search has expired: type the number again."))
                return self._redirect_to_search(request, request.GET, "")
            setattr(request, _NUMBER_SEARCH_ATTRIBUTE, term)
            digits = "".join(c for c in term if c.isdigit())
            extra_context = {**(extra_context or {}), "number_search_last_digits": digits[-4:]}
        extra_context = {**(extra_context or {}), "number_search_mark": NUMBER_SEARCH_MARK}
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def _redirect_to_search(self, request: HttpRequest, params: Any, term: str) -> HttpResponse:
        """The changelist with the same filters, searching for `term`: a number by its session id, other text as
        `q`, nothing when empty."""
        query = {key: values for key, values in params.lists() if key not in _NOT_CARRIED}
        if is_phone_like(term):
            query[NUMBER_SEARCH_VAR] = [number_search_store(request, term)]
        elif term:
            query[SEARCH_VAR] = [term]
        query_string = urlencode(sorted(query.items()), doseq=True)
        return HttpResponseRedirect(f"{request.path}?{query_string}" if query_string else request.path)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        search_term = getattr(request, _NUMBER_SEARCH_ATTRIBUTE, None) or search_term
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


class ReadOnlyInline(ScopedAdminMixin, admin.TabularInline):
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
