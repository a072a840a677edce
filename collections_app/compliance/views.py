"""The compliance officers' pages: the audit trail search with its exports, and the account list. Anyone else gets
the desk's 404, as for the other compliance pages.

A phone number is searched as the admin and the desk search it (consent_app.admin.toolkit): the form posts, the
number is kept in the session, encrypted, under a random id, and the results and the exports are addressed by
`?qid=<id>`: no address, link or access log line holds the number."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from consent_app.admin.toolkit import NUMBER_SEARCH_VAR, is_phone_like, number_search_store, number_search_term

from ..permissions import is_compliance
from .forms import AccountFilterForm, AuditSearchForm
from .selectors import AuditSearch, audit_page, compliance_account_search, compliance_accounts
from .services import attempts_export, audit_trail_export

PAGE_SIZE = 50


def _compliance_only(request: HttpRequest) -> None:
    if not is_compliance(request.user):
        raise Http404("No such page.")


def _address(name: str, params: Mapping[str, Any]) -> str:
    return f"{reverse(name)}?{urlencode(params)}" if params else reverse(name)


def _kept_number(request: HttpRequest, params: QueryDict, page: str) -> tuple[str, str | None]:
    """The number the address's `qid` names in this session: (number, None), ("", None) without one, or ("", the
    address of `page` without it, to send the reader to) when it expired."""
    qid = params.get(NUMBER_SEARCH_VAR)
    if not qid:
        return "", None
    number = number_search_term(request, qid)
    if number is None:
        messages.warning(request, _("This number search has expired: type the number again."))
        return "", _address(page, {k: v for k, v in params.dict().items() if k != NUMBER_SEARCH_VAR})
    return number, None


def _last_digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())[-4:]


def _searched(request: HttpRequest) -> tuple[AuditSearchForm, AuditSearch | None, HttpResponse | None]:
    """The search in the address (and the number its `qid` names), or the redirect to send the reader on."""
    if request.GET.get("number"):  # a number typed into an address: out of it, into the session
        params = {k: v for k, v in request.GET.dict().items() if k not in ("number", NUMBER_SEARCH_VAR)}
        if is_phone_like(request.GET["number"]):
            params[NUMBER_SEARCH_VAR] = number_search_store(request, request.GET["number"].strip())
        return AuditSearchForm(), None, redirect(_address("compliance:audit", params))
    number, expired = _kept_number(request, request.GET, "compliance:audit")
    if expired is not None:
        return AuditSearchForm(), None, redirect(expired)
    form = AuditSearchForm({k: v for k, v in request.GET.items() if k in AuditSearchForm.ADDRESS_FIELDS})
    if not form.is_valid():
        return form, None, None
    return form, form.search(number=number), None


@login_required
@never_cache  # the trail names people's accounts and who read their data
@require_http_methods(["GET", "POST"])
def audit_search(request: HttpRequest) -> HttpResponse:
    """Search the audit trail by loan or borrower reference, phone number, user and period (the reader's days)."""
    _compliance_only(request)
    if request.method == "POST":
        form = AuditSearchForm(request.POST)
        if form.is_valid():
            params = form.address_params()
            if form.cleaned_data["number"]:
                params[NUMBER_SEARCH_VAR] = number_search_store(request, form.cleaned_data["number"])
            return redirect(_address("compliance:audit", params))
        return render(request, "collections_app/compliance/audit.html", {"form": form}, status=422)
    form, search, redirected = _searched(request)
    if redirected is not None:
        return redirected
    if search is None:
        return render(request, "collections_app/compliance/audit.html", {"form": form}, status=422)
    before = request.GET.get("before", "")
    events, next_before = audit_page(search, before=int(before) if before.isdigit() and len(before) < 19 else None)
    query = {k: v for k, v in request.GET.items() if k != "before"}
    return render(request, "collections_app/compliance/audit.html", {
        "form": form, "search": search, "events": events, "query": urlencode(query),
        "next_page": urlencode({**query, "before": next_before}) if next_before else "",
        "number_last_digits": _last_digits(search.number),
    })


def _csv(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _export(request: HttpRequest, service: Callable[..., Iterator[str]],
            filename: str) -> HttpResponse | StreamingHttpResponse:
    _compliance_only(request)
    form, search, redirected = _searched(request)
    if redirected is not None:
        return redirected
    if search is None:
        return render(request, "collections_app/compliance/audit.html", {"form": form}, status=422)
    lines = service(search=search, zone=timezone.get_current_timezone(),
                    language=translation.get_language() or "en", actor=request.user)
    return _csv(lines, f"{filename}-{timezone.localtime():%Y%m%d-%H%M}.csv")


@login_required
@require_GET
def audit_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The events of the search as CSV, streamed; the export is itself an audit event."""
    return _export(request, audit_trail_export, "audit-trail")


@login_required
@require_GET
def attempts_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The contact attempts of the same search as CSV, streamed; the export is itself an audit event."""
    return _export(request, attempts_export, "contact-attempts")


# --- The account list ---------------------------------------------------------------------------------------------


@login_required
@never_cache  # references and balances of every account
@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    """Every account, filtered by status, jurisdiction, bucket, held and open complaint, and searched as the desk's
    search does (references, last four digits; a whole number goes through the session like everywhere)."""
    _compliance_only(request)
    term = request.GET.get("q", "").strip()
    if is_phone_like(term):
        params = {k: v for k, v in request.GET.dict().items() if k not in ("q", NUMBER_SEARCH_VAR)}
        params[NUMBER_SEARCH_VAR] = number_search_store(request, term)
        return redirect(_address("compliance:accounts", params))
    number, expired = _kept_number(request, request.GET, "compliance:accounts")
    if expired is not None:
        return redirect(expired)
    form = AccountFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "collections_app/compliance/accounts.html", {"form": form, "rows": None}, status=422)
    filters, today = form.filters(), timezone.localdate()
    query = {k: v for k, v in request.GET.items() if k != "page"}
    context = {"form": form, "query": urlencode(query), "page": None, "searched": bool(term or number)}
    if term or number:
        loans, kind = compliance_account_search(request.user, number or term, filters=filters, today=today)
        # What was searched, as the page may repeat it: never a whole number.
        context.update(rows=loans, kind=kind, shown_term=f"…{_last_digits(number)}" if number else term)
    else:
        page = Paginator(compliance_accounts(request.user, filters=filters, today=today),
                         PAGE_SIZE).get_page(request.GET.get("page"))
        context.update(rows=page, page=page)
    return render(request, "collections_app/compliance/accounts.html", context)
