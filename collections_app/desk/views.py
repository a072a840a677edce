"""The desk's pages. Views parse input, authorize through collections_app.permissions, call one service and
render (STYLE.md §1). Anything a user may not see is a 404."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from collections_app.contact.selectors import contact_snapshots_for_loans, open_call_of
from collections_app.contact.services import CallAlreadyOpen, contact_start, inbound_call_start
from collections_app.desk.forms import (
    CallForm,
    HoldForm,
    HoldLiftForm,
    NoteForm,
    OutcomeForm,
    ReassignForm,
    RevealForm,
)
from collections_app.desk.selectors import (
    account_search,
    holds_in_force,
    loan_list_for_user,
    next_worklist_account,
    notifications_of,
    with_first_open_callback,
    with_reason_visibility,
    with_row_context,
)
from collections_app.desk.services import (
    FollowUps,
    hold_lift,
    hold_until_place,
    note_add,
    notification_mark_read,
    notifications_mark_all_read,
    outcome_record,
    worklist_recheck_due,
)
from collections_app.desk.tasks import build_worklist_for_collector
from collections_app.forms import add_service_errors
from collections_app.loans.buckets import bucket_labels, bucket_named
from collections_app.loans.services import loan_assign
from consent_app.admin.toolkit import is_phone_like, number_search_store, number_search_term
from consent_app.models import Consent, PhoneNumber, Restriction, RestrictionKind
from consent_app.services import phone_reveal

from .. import policy
from ..http import AuthenticatedRequest
from ..labels import DIAL_REVEAL_REASON
from ..models import Callback, ContactAttempt, Loan, Note, Notification, Promise, WorklistEntry
from ..permissions import (
    can_contact,
    can_manage_holds,
    get_loan_for_user_or_404,
    get_supervised_collector_or_404,
    is_collector,
    is_compliance,
    is_supervisor,
    is_supervisor_or_compliance,
    loans_visible_to,
    restrictions_visible_to,
    supervised_collectors,
)
from ..plans.selectors import broken_promise_alerts
from ..workday import collector_zone, collector_zones, work_date_in
from .floor import floor_figures

PAGE_SIZE = 50


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if is_collector(request.user):
        return redirect("worklist")
    if is_supervisor(request.user):
        return redirect("team")
    if is_compliance(request.user):  # every account, with its filters and search (collections_app.compliance)
        return redirect("compliance:accounts")
    page = Paginator(loan_list_for_user(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "collections_app/home.html", {"page": page})


# --- Worklist -----------------------------------------------------------------------------------------------------


@login_required
@never_cache  # personal data (names, masked numbers, a call's tel: link): never kept by a cache
def worklist(request: AuthenticatedRequest) -> HttpResponse:
    if not is_collector(request.user):
        raise Http404
    now = timezone.now()
    # The team's working day, not the reader's clock: a collector who reads the desk on another zone still works
    # the day their team's list was built for (workday.py).
    zone = collector_zone(request.user)
    today = work_date_in(zone, now)
    entries = WorklistEntry.objects.filter(collector=request.user, work_date=today)
    # Each row's verdict for now, not for when the list was built: entries the clock may have changed since are
    # judged again first (a window opened, a hold ended, a policy version took effect).
    if not worklist_recheck_due(collector_id=request.user.pk, work_date=today, now=now) and not entries.exists() \
            and Loan.objects.filter(assigned_collector=request.user).exists():
        build_worklist_for_collector.delay(request.user.pk)
    bucket = request.GET.get("bucket", "")
    show = request.GET.get("show", "")
    filtered = entries
    selected = bucket_named(bucket) if bucket else None
    if selected is not None:
        earliest, latest = selected.due_dates(today)
        filtered = filtered.filter(loan__due_date__lte=latest)
        if earliest:
            filtered = filtered.filter(loan__due_date__gte=earliest)
    filtered = with_row_context(
        with_first_open_callback(filtered.select_related("loan__borrower").order_by("sort_key"), today, zone))
    contactable = Paginator(filtered.filter(contactable=True), PAGE_SIZE).get_page(request.GET.get("page"))
    blocked = Paginator(filtered.filter(contactable=False), PAGE_SIZE).get_page(request.GET.get("bpage"))
    counts = entries.aggregate(
        total=Count("pk"), open=Count("pk", filter=Q(contactable=True)),
        worked=Count("pk", filter=Q(worked_at__isnull=False)),
    )
    alerts = broken_promise_alerts(request.user, timezone.now() - timedelta(days=1))
    if show != "contactable":
        # The hold behind each row on hold, with its reason: one query, only when the page has such a row.
        on_hold: list[Any] = [entry for entry in blocked if policy.ReasonCode.TEMPORARY_HOLD in entry.reason_codes]
        holds = holds_in_force(request.user, [entry.loan for entry in on_hold], now) if on_hold else {}
        for entry in on_hold:
            entry.holds = holds.get(entry.loan_id, [])
    # The page polls for its rows (and asks again when the collector comes back to the tab): only they are sent.
    template = "collections_app/_worklist_rows.html" if request.htmx else "collections_app/worklist.html"
    return render(request, template, {
        "contactable": contactable if show != "blocked" else None,
        "blocked": blocked if show != "contactable" else None,
        "counts": counts, "bucket": bucket, "show": show, "alerts": alerts,
        "buckets": bucket_labels(), "now": now, "open_call": open_call_of(request.user, now),
        "poll_seconds": settings.WORKLIST_POLL_SECONDS,
    })


@login_required
@require_POST
def worklist_refresh(request: AuthenticatedRequest) -> HttpResponse:
    if not is_collector(request.user):
        raise Http404
    transaction.on_commit(lambda: build_worklist_for_collector.delay(request.user.pk))
    messages.info(request, _("Your worklist is being rebuilt."))
    return redirect("worklist")


# --- Account workspace --------------------------------------------------------------------------------------------


def _number_decisions(loan: Loan, now):
    """Live decisions (call and SMS) for every number of the borrower, in a fixed number of queries."""
    rows = []
    for phone, snapshot in contact_snapshots_for_loans([loan], now).get(loan.pk, []):
        call = policy.evaluate(snapshot, channel="call", at=now)
        rows.append({
            "phone": phone,
            "call": call,
            "sms": policy.evaluate(snapshot, channel="sms", at=now),
            # Which of the zones the call was judged in sets its next allowed time (the address's or the number's).
            "call_binding": policy.window_opening_zones(snapshot, call.next_allowed_at) if call.next_allowed_at
            else (),
            "reveal_form": RevealForm(phone_id=phone.pk),
        })
    return rows


def _change_history(loan: Loan, limit: int = 40):
    borrower_id = loan.borrower_id
    sources = [
        (_("Loan"), Loan.history.filter(id=loan.pk)),
        (_("Borrower"), loan.borrower.history.model.objects.filter(id=borrower_id)),
        (_("Phone number"), PhoneNumber.history.filter(borrower_id=borrower_id)),
        (_("Consent"), Consent.history.filter(phone__borrower_id=borrower_id)),
        (_("Restriction"), Restriction.history.filter(borrower_id=borrower_id)),
    ]
    rows = []
    for label, queryset in sources:
        for record in queryset.select_related("history_user").order_by("-history_date")[:limit]:
            rows.append({"when": record.history_date, "what": label, "type": record.get_history_type_display(),
                         "who": record.history_user.username if record.history_user else _("system"),
                         "reason": record.history_change_reason or ""})
    rows.sort(key=lambda r: r["when"], reverse=True)
    return rows[:limit]


@login_required
@never_cache  # personal data (names, masked numbers, a call's tel: link): never kept by a cache
def loan_detail(request: HttpRequest, loan_ref: str) -> HttpResponse:
    return _account_page(request, _account_of(request, loan_ref))


def _account_of(request: HttpRequest, loan_ref: str) -> Loan:
    return get_loan_for_user_or_404(request.user, loan_ref, Loan.objects.select_related("borrower",
                                                                                        "assigned_collector"))


def _account_page(request: HttpRequest, loan: Loan, *, note_form: NoteForm | None = None,
                  hold_form: HoldForm | None = None, status: int = 200) -> HttpResponse:
    """The account workspace; a note or a hold refused comes back on it with its form's errors (422)."""
    borrower = loan.borrower
    now = timezone.now()
    context = {
        "loan": loan,
        "borrower": borrower,
        "now": now,
        "borrower_now": timezone.localtime(now, borrower.zoneinfo),
        "other_loans": loans_visible_to(request.user).filter(borrower=borrower).exclude(pk=loan.pk),
        "numbers": _number_decisions(loan, now),
        "consents": Consent.objects.filter(phone__borrower=borrower).select_related("phone").order_by("-granted_at"),
        # Every restriction of the borrower is listed; a hold's reason only where the user's scope has it.
        "restrictions": with_reason_visibility(request.user, borrower.restrictions.select_related("loan"))
        .order_by("-starts_at"),
        "attempts": ContactAttempt.objects.filter(borrower=borrower)
        .select_related("phone", "collector", "loan").order_by("-started_at")[:50],
        "notes": Note.objects.filter(loan=loan).select_related("author")[:20],
        "callbacks": Callback.objects.filter(loan=loan, done_at__isnull=True, cancelled_at__isnull=True),
        "changes": _change_history(loan),
        "can_contact": can_contact(request.user, loan),
        "open_call": open_call_of(request.user, now),
        "can_manage_holds": can_manage_holds(request.user, loan),
        "note_form": note_form or NoteForm(),
        "hold_form": hold_form or HoldForm(borrower_zone=borrower.primary_zone),
    }
    return render(request, "collections_app/account.html", context, status=status)


@login_required
@require_POST
def phone_reveal_view(request: HttpRequest, loan_ref: str, phone_id: int) -> HttpResponse:
    loan = get_loan_for_user_or_404(request.user, loan_ref, Loan.objects.select_related("borrower"))
    phone = get_object_or_404(PhoneNumber.objects.select_related("borrower"), pk=phone_id, borrower=loan.borrower)
    form = RevealForm(request.POST, phone_id=phone.pk)
    if not form.is_valid():
        return render(request, "collections_app/_reveal.html", {"phone": phone, "loan": loan, "form": form},
                      status=422)
    number = phone_reveal(phone=phone, actor=request.user, reason=form.cleaned_data["reason"])
    response = render(request, "collections_app/_reveal.html", {"phone": phone, "loan": loan, "number": number})
    response["Cache-Control"] = "no-store"
    return response


def _call_target(request: HttpRequest, loan_ref: str) -> tuple[Loan, PhoneNumber] | HttpResponse:
    """The account and the borrower's number a call (outbound or inbound) is about: the loan through the user's
    scope and `can_contact`, the number among the borrower's (else a 404); a malformed form is a 400."""
    loan = get_loan_for_user_or_404(request.user, loan_ref, Loan.objects.select_related("borrower"))
    if not can_contact(request.user, loan):
        raise Http404
    form = CallForm(request.POST)
    if not form.is_valid():
        return render(request, "collections_app/bad_request.html", {"form": form}, status=400)
    phone = get_object_or_404(
        PhoneNumber.objects.select_related("third_party"), pk=form.cleaned_data["phone_id"], borrower=loan.borrower,
    )
    return loan, phone


@login_required
@require_POST
def call_start(request: HttpRequest, loan_ref: str) -> HttpResponse:
    target = _call_target(request, loan_ref)
    if isinstance(target, HttpResponse):
        return target
    loan, phone = target
    try:
        attempt, decision = contact_start(loan=loan, phone=phone, channel="call", collector=request.user)
    except CallAlreadyOpen as exc:
        messages.error(request, exc.messages[0])
        if exc.attempt.collector_id == request.user.pk:
            return redirect("attempt_detail", attempt_id=exc.attempt.pk)  # back to the open call
        return redirect("loan_detail", loan_ref=loan.loan_ref)
    if attempt is None:
        for reason in decision.reasons:
            messages.error(request, str(reason.message))
        return redirect("loan_detail", loan_ref=loan.loan_ref)
    return redirect("attempt_detail", attempt_id=attempt.pk)


@login_required
@require_POST
def inbound_call(request: HttpRequest, loan_ref: str) -> HttpResponse:
    """A borrower called in: the collector takes the call on this account, from the number it came from."""
    target = _call_target(request, loan_ref)
    if isinstance(target, HttpResponse):
        return target
    loan, phone = target
    try:
        attempt = inbound_call_start(loan=loan, phone=phone, collector=request.user)
    except CallAlreadyOpen as exc:
        messages.error(request, exc.messages[0])
        return redirect("attempt_detail", attempt_id=exc.attempt.pk)
    return redirect("attempt_detail", attempt_id=attempt.pk)


@login_required
@never_cache  # results name accounts and borrowers
def search(request: HttpRequest) -> HttpResponse:
    """The desk's account search: a loan or borrower reference, a number's last four digits, or a whole number in
    any format (an inbound call). The box posts; a whole number is kept in the session under a random id, so no
    number is ever in an address or an access log (as in the admin)."""
    if request.method == "POST":
        term = request.POST.get("q", "").strip()
        if is_phone_like(term):
            return redirect(f"{reverse('search')}?{urlencode({'qid': number_search_store(request, term)})}")
        return redirect(f"{reverse('search')}?{urlencode({'q': term})}" if term else reverse("search"))
    term = request.GET.get("q", "").strip()
    if is_phone_like(term):  # a number typed into the address: out of it, and out of every link from here
        return redirect(f"{reverse('search')}?{urlencode({'qid': number_search_store(request, term)})}")
    qid = request.GET.get("qid")
    if qid:
        stored = number_search_term(request, qid)
        if stored is None:
            messages.warning(request, _("This number search has expired: type the number again."))
            return redirect("search")
        term = stored
    found = account_search(request.user, term)
    digits = "".join(c for c in term if c.isdigit())
    collectors = list(supervised_collectors(request.user)) if is_supervisor_or_compliance(request.user) else []
    return render(request, "collections_app/search.html", {
        "found": found, "loans": found.loans,
        # What was searched, as the page may repeat it: never a whole number.
        "shown_term": f"…{digits[-4:]}" if found.kind == "number" else term,
        "can_take_calls": is_collector(request.user), "open_call": open_call_of(request.user, timezone.now()),
        "collectors": collectors,
    })


@login_required
@never_cache  # personal data (names, masked numbers, a call's tel: link): never kept by a cache
def attempt_detail(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = get_object_or_404(
        ContactAttempt.objects.select_related("loan__borrower", "phone__third_party"), pk=attempt_id,
        collector=request.user,
    )
    loan = attempt.loan
    get_loan_for_user_or_404(request.user, loan.loan_ref)
    form = OutcomeForm(request.POST or None, borrower_zone=loan.borrower.primary_zone)
    if request.method == "POST" and attempt.in_progress and form.is_valid():
        data = form.cleaned_data
        follow_ups = FollowUps(
            callback_at=data["callback_at"], promise_amount=data["promise_amount"], promise_date=data["promise_date"],
            dispute=data["dispute"], cease=data["cease"], hold_until=data["hold_until"], note=data["note"],
        )
        try:
            outcome_record(attempt=attempt, outcome=data["outcome"], party=data["party"], opt_out=data["opt_out"],
                           follow_ups=follow_ups, actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Outcome recorded."))
            if "save_next" in request.POST:
                following = next_worklist_account(request.user, after=loan)
                if following is None:
                    messages.info(request, _("No other account is contactable now."))
                    return redirect("worklist")
                return redirect("loan_detail", loan_ref=following.loan_ref)
            return redirect("loan_detail", loan_ref=loan.loan_ref)
    number = None
    if attempt.in_progress and attempt.direction == "outbound":
        # The dial link carries the full number: reading it is a personal-data access, logged with its reason.
        # An inbound call needs none: the borrower is already on the line.
        with transaction.atomic():
            number = phone_reveal(phone=attempt.phone, actor=request.user, reason=DIAL_REVEAL_REASON)
    return render(request, "collections_app/attempt.html", {
        "attempt": attempt, "loan": loan, "form": form, "number": number,
        # What the collector needs during the call: the balance (on the loan) and the promises made before.
        "promises": Promise.objects.filter(loan=loan).order_by("-created_at")[:5],
        "borrower_now": timezone.localtime(timezone.now(), loan.borrower.zoneinfo),
    }, status=422 if request.method == "POST" and attempt.in_progress else 200)


@login_required
@require_POST
def note_create(request: HttpRequest, loan_ref: str) -> HttpResponse:
    loan = _account_of(request, loan_ref)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            note_add(loan=loan, text=form.cleaned_data["text"], actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc, field_names={"note": "text"})
        else:
            messages.success(request, _("Note added."))
            return redirect("loan_detail", loan_ref=loan.loan_ref)
    # Refused: the account again, the note as typed and its error on it.
    return _account_page(request, loan, note_form=form, status=422)


@login_required
@require_POST
def hold_place(request: HttpRequest, loan_ref: str) -> HttpResponse:
    loan = _account_of(request, loan_ref)
    if not can_manage_holds(request.user, loan):
        raise Http404
    form = HoldForm(request.POST, borrower_zone=loan.borrower.primary_zone)
    if form.is_valid():
        try:
            hold_until_place(loan=loan, until=form.cleaned_data["until"], reason=form.cleaned_data["reason"],
                             actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc, field_names={"hold_until": "until"})
        else:
            messages.success(request, _("Hold placed."))
            return redirect("loan_detail", loan_ref=loan.loan_ref)
    # Refused: the account again, the hold form open with what was typed and its errors.
    return _account_page(request, loan, hold_form=form, status=422)


@login_required
@never_cache  # the hold's reason is typed text about the borrower
def hold_lift_view(request: HttpRequest, loan_ref: str, restriction_id: int) -> HttpResponse:
    """Lift a hold in two steps: the page shows the hold and asks why and for a confirmation; the POST lifts it
    only with both (else the form again, 422, and nothing lifted)."""
    loan = get_loan_for_user_or_404(request.user, loan_ref, Loan.objects.select_related("borrower"))
    if not can_manage_holds(request.user, loan):
        raise Http404
    # A hold on this loan, or a borrower-wide one: never another loan's, even of the same borrower.
    restriction = get_object_or_404(
        restrictions_visible_to(request.user).filter(Q(loan=loan) | Q(loan__isnull=True)),
        pk=restriction_id, borrower=loan.borrower, kind=RestrictionKind.TEMPORARY_HOLD,
    )
    if restriction.lifted_at is not None:
        messages.info(request, _("This hold is already lifted."))
        return redirect("loan_detail", loan_ref=loan.loan_ref)
    form = HoldLiftForm(request.POST if request.method == "POST" else None)  # an empty POST is an error too
    if request.method == "POST" and form.is_valid():
        try:
            hold_lift(restriction=restriction, reason=form.cleaned_data["reason"], actor=request.user)
        except PermissionDenied:
            form.add_error(None, _("This hold also covers another team's accounts: ask compliance to lift it."))
        except ValidationError as exc:  # a reason too long is refused, not cut short
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Hold lifted."))
            return redirect("loan_detail", loan_ref=loan.loan_ref)
    return render(request, "collections_app/hold_lift.html", {
        "loan": loan, "borrower": loan.borrower, "hold": restriction, "form": form,
    }, status=422 if request.method == "POST" else 200)


# --- Notifications ------------------------------------------------------------------------------------------------


@login_required
@never_cache  # names accounts and shows approvers' comments
def notification_list(request: AuthenticatedRequest) -> HttpResponse:
    page = Paginator(notifications_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "collections_app/notifications.html", {"page": page})


def _own_notification_or_404(request: AuthenticatedRequest, notification_id: int) -> Notification:
    # Someone else's notification is a 404, as if it did not exist.
    return get_object_or_404(Notification.objects.filter(recipient=request.user), pk=notification_id)


@login_required
@require_POST
def notification_read(request: AuthenticatedRequest, notification_id: int) -> HttpResponse:
    notification_mark_read(notification=_own_notification_or_404(request, notification_id), actor=request.user)
    return redirect("notifications")


@login_required
@require_POST
def notifications_read_all(request: AuthenticatedRequest) -> HttpResponse:
    marked = notifications_mark_all_read(actor=request.user)
    if marked:
        messages.success(request, ngettext("%(n)d notification marked read.", "%(n)d notifications marked read.",
                                           marked) % {"n": marked})
    return redirect("notifications")


# --- Supervisor ---------------------------------------------------------------------------------------------------


def _collectors_by_zone(user: Any, now: datetime) -> list[tuple[str, date, list[int]]]:
    """The user's supervised collectors grouped by the zone their team works in, with that zone's today (each
    collector's "today" is their team's): (zone, today, collector ids), one query."""
    zones = collector_zones(supervised_collectors(user).values_list("pk", flat=True))
    return [(zone, work_date_in(zone, now), [pk for pk, key in zones.items() if key == zone])
            for zone in sorted(set(zones.values()))]


def _team_page(request: HttpRequest, reassign_form: ReassignForm | None = None, status: int = 200) -> HttpResponse:
    now = timezone.now()
    scope = supervised_collectors(request.user)
    collectors: list[Any] = []
    blocked: Counter[str] = Counter()
    # The figures are counted per zone the teams work in (one set of queries per zone; a supervisor's teams
    # usually share one).
    for zone, today, ids in _collectors_by_zone(request.user, now):
        start = datetime.combine(today, time.min, tzinfo=ZoneInfo(zone))
        group = list(scope.filter(pk__in=ids).annotate(
            entries=Count("worklist", filter=Q(worklist__work_date=today), distinct=True),
            worked=Count("worklist", filter=Q(worklist__work_date=today, worklist__worked_at__isnull=False),
                         distinct=True),
            attempts_today=Count("contact_attempts", filter=Q(contact_attempts__started_at__gte=start),
                                 distinct=True),
            contacted=Count("contact_attempts", filter=Q(contact_attempts__started_at__gte=start,
                                                         contact_attempts__outcome="conversation"), distinct=True),
        ))
        for codes in WorklistEntry.objects.filter(collector__in=ids, work_date=today,
                                                  contactable=False).values_list("reason_codes", flat=True):
            blocked.update(codes)
        collectors += group
    collectors.sort(key=lambda c: c.username)
    return render(request, "collections_app/team.html", {
        "collectors": collectors, "blocked": blocked.most_common(), "floor": floor_figures(request.user, now),
        "reassign_form": reassign_form or ReassignForm(collectors=collectors),
    }, status=status)


@login_required
def team(request: HttpRequest) -> HttpResponse:
    if not is_supervisor_or_compliance(request.user):
        raise Http404
    return _team_page(request)


def _reassign_target(user: Any, typed: str) -> Loan | None:
    """The account a typed reference means among those the user may see: exact after trimming, else the only one
    that matches ignoring case."""
    ref = typed.strip()
    loan = loans_visible_to(user).filter(loan_ref=ref).first()
    if loan is None:
        matches = list(loans_visible_to(user).filter(loan_ref__iexact=ref)[:2])
        loan = matches[0] if len(matches) == 1 else None
    return loan


@login_required
@require_POST
def team_reassign(request: HttpRequest) -> HttpResponse:
    if not is_supervisor_or_compliance(request.user):
        raise Http404
    collectors = list(supervised_collectors(request.user))
    form = ReassignForm(request.POST, collectors=collectors)
    loan = _reassign_target(request.user, request.POST.get("loan_ref", "")) if form.is_valid() else None
    if form.is_valid() and loan is None:
        form.add_error("loan_ref", _("No account of your team has this reference: pick it from the search."))
    if not form.is_valid() or loan is None:
        return _team_page(request, form, status=422)
    target = next(c for c in collectors if c.username == form.cleaned_data["collector"])
    if loan.assigned_collector_id == target.pk:
        form.add_error("collector", _("%(loan)s is already assigned to %(collector)s.") % {
            "loan": loan.loan_ref, "collector": target.username})
        return _team_page(request, form, status=422)
    # A fixed code, as every change reason (shown in the reader's language: collections_app.labels).
    loan_assign(loan=loan, collector=target, actor=request.user, reason="reassigned by supervisor")
    messages.success(request, _("%(loan)s reassigned to %(collector)s.") % {"loan": loan.loan_ref,
                                                                           "collector": target.username})
    # Back to the search it was picked from (a path of this desk, never another site), else the team page.
    next_page = request.POST.get("next", "")
    return redirect(next_page if next_page.startswith(f"{reverse('search')}?") else "team")


@login_required
@never_cache
def team_blocked(request: HttpRequest, code: str) -> HttpResponse:
    """The accounts on the team's worklists today that are blocked by one reason (the team page's counts link
    here)."""
    if not is_supervisor_or_compliance(request.user):
        raise Http404
    entries: list[WorklistEntry] = []
    for _zone, today, ids in _collectors_by_zone(request.user, timezone.now()):
        entries += [entry for entry in WorklistEntry.objects.filter(collector__in=ids, work_date=today,
                                                                    contactable=False)
                    .select_related("loan__borrower", "collector").order_by("sort_key")
                    if code in entry.reason_codes]
    if code == policy.ReasonCode.TEMPORARY_HOLD and entries:  # each hold with its reason: one query
        holds = holds_in_force(request.user, [entry.loan for entry in entries], timezone.now())
        held: list[Any] = entries
        for row in held:
            row.holds = holds.get(row.loan_id, [])
    return render(request, "collections_app/team_blocked.html", {"code": code, "entries": entries})


@login_required
def collector_attempts(request: HttpRequest, username: str) -> HttpResponse:
    collector = get_supervised_collector_or_404(request.user, username)
    attempts = (ContactAttempt.objects.filter(collector=collector)
                .select_related("loan", "phone", "borrower").order_by("-started_at")[:100])
    return render(request, "collections_app/collector_attempts.html", {"collector": collector,
                                                                      "attempts": attempts})
