"""Desk reads."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import groupby
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from consent_app.admin.toolkit import is_phone_like, phone_search_indexes
from consent_app.models import PhoneNumber, Restriction, RestrictionKind

from ..models import Callback, ContactAttempt, Loan, LoanStatus, Notification, Promise, WorklistEntry
from ..permissions import loans_visible_to, restrictions_visible_to
from ..workday import collector_zone, in_zone, work_date_in

# A call made up to this long before a callback's time counts as that callback (services.outcome_record closes
# it), so from then on the desk says the callback is "due soon" rather than merely scheduled.
CALLBACK_DUE_WINDOW = timedelta(minutes=30)


class CallbackState(StrEnum):
    DUE = "due"  # its time has come: due_at <= now
    SOON = "soon"  # within CALLBACK_DUE_WINDOW before its time: calling now counts as the callback
    SCHEDULED = "scheduled"  # later: calling now does not count as the callback


def callback_state(due_at: datetime, now: datetime) -> CallbackState:
    if due_at <= now:
        return CallbackState.DUE
    if due_at <= now + CALLBACK_DUE_WINDOW:
        return CallbackState.SOON
    return CallbackState.SCHEDULED


def _open_callbacks_due_by(day: date, zone: str | None = None) -> QuerySet[Callback]:
    """Open callbacks due on ``day`` or before, ``day`` being a date in ``zone`` (the current time zone's when
    None): a worklist's day is its team's, whichever clock the page is read on."""
    if zone is None:
        return Callback.objects.filter(done_at__isnull=True, cancelled_at__isnull=True, due_at__date__lte=day)
    next_day = datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(zone))
    return Callback.objects.filter(done_at__isnull=True, cancelled_at__isnull=True, due_at__lt=next_day)


def first_open_callbacks(loan_ids: Iterable[int], day: date) -> dict[int, datetime]:
    """The earliest open callback of each loan due on the desk's ``day`` or before (one query): the callbacks that
    put a loan first on that day's worklist."""
    return dict(
        _open_callbacks_due_by(day).filter(loan_id__in=list(loan_ids))
        .values("loan_id").annotate(first=Min("due_at")).values_list("loan_id", "first")
    )


def with_first_open_callback(entries: QuerySet[Any], day: date, zone: str | None = None) -> QuerySet[Any]:
    """Worklist entries annotated with ``callback_at``, their loan's earliest open callback due on ``day`` (a date
    in ``zone``, the list's team's) or before (a subquery: no query of its own), so the page says whether it is
    due now rather than at build time."""
    first = (_open_callbacks_due_by(day, zone).filter(loan_id=OuterRef("loan_id")).order_by("due_at")
             .values("due_at")[:1])
    return entries.annotate(callback_at=Subquery(first))


# --- The desk's account search -------------------------------------------------------------------------------------

SEARCH_RESULTS = 50
_LAST_FOUR = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class AccountSearch:
    """What a search term found among the accounts a user may see: the loans, and the numbers that matched (a
    whole number typed in, or its last four digits), so an inbound call is recorded on the number calling."""

    loans: list[Loan]
    phone_ids: frozenset[int]
    kind: str  # "ref", "last_four", "number" or "" (nothing to search)


def account_search(user: Any, term: str, *, within: QuerySet[Loan] | None = None) -> AccountSearch:
    """Accounts by loan or borrower reference (exact after trimming, else the one match ignoring case), by a
    number's last four digits, or by a whole number in any common format (through the blind index, never by
    decrypting): among loans_visible_to(user) only (and among `within`, a narrower list such as the compliance
    list's filters, when given), at most SEARCH_RESULTS. At most three queries."""
    term = (term or "").strip()
    visible = loans_visible_to(user, within).select_related("borrower", "assigned_collector").order_by("loan_ref")
    if not term:
        return AccountSearch([], frozenset(), "")
    if _LAST_FOUR.match(term) or is_phone_like(term):
        phones = (PhoneNumber.objects.filter(last_four=term) if _LAST_FOUR.match(term)
                  else PhoneNumber.objects.filter(blind_index__in=phone_search_indexes(term)))
        matched = dict(phones.filter(borrower__loans__in=visible.values("pk")).distinct()
                       .values_list("pk", "borrower_id"))
        loans = list(visible.filter(borrower_id__in=set(matched.values())).prefetch_related("borrower__phones")
                     [:SEARCH_RESULTS])
        return AccountSearch(loans, frozenset(matched), "last_four" if _LAST_FOUR.match(term) else "number")
    exact = list(visible.filter(Q(loan_ref=term) | Q(borrower__borrower_ref=term))[:SEARCH_RESULTS])
    if not exact:
        exact = list(visible.filter(Q(loan_ref__iexact=term) | Q(borrower__borrower_ref__iexact=term))
                     [:SEARCH_RESULTS])
    return AccountSearch(exact, frozenset(), "ref")


def with_row_context(entries: QuerySet[Any]) -> QuerySet[Any]:
    """Worklist entries annotated with what a collector reads on each row, as subqueries of the page's own query
    (no query of their own): the last contact (`last_contact_at`, `last_outcome`) and the newest promise
    (`promise_state`, `promise_amount`, `promise_date`)."""
    last = ContactAttempt.objects.filter(loan_id=OuterRef("loan_id")).order_by("-started_at")
    promise = Promise.objects.filter(loan_id=OuterRef("loan_id")).order_by("-created_at")
    return entries.annotate(
        last_contact_at=Subquery(last.values("started_at")[:1]), last_outcome=Subquery(last.values("outcome")[:1]),
        promise_state=Subquery(promise.values("state")[:1]), promise_amount=Subquery(promise.values("amount")[:1]),
        promise_date=Subquery(promise.values("due_date")[:1]),
    )


def next_worklist_account(collector: Any, *, after: Loan) -> Loan | None:
    """The account "save and next" opens: the first contactable, not yet worked entry of the collector's list for
    today (their team's day) other than `after`, in the list's order. One query."""
    today = work_date_in(collector_zone(collector), timezone.now())
    entry = (WorklistEntry.objects.filter(collector=collector, work_date=today, contactable=True,
                                          worked_at__isnull=True)
             .exclude(loan=after).select_related("loan").order_by("sort_key").first())
    return entry.loan if entry else None


# --- Holds and notifications --------------------------------------------------------------------------------------


def holds_in_force(user: Any, loans: Iterable[Loan], at: datetime) -> dict[int, list[Restriction]]:
    """The temporary holds in force at `at` on each of these loans (a hold on the loan, or a borrower-wide one),
    among the restrictions `user` may see, soonest ending first: what the worklist and the team's blocked list
    show next to an account on hold (the hold's reason included). One query."""
    by_id = {loan.pk: loan for loan in loans}
    if not by_id:
        return {}
    borrower_ids = {loan.borrower_id for loan in by_id.values()}
    rows = (restrictions_visible_to(user, Restriction.objects.in_force(at))
            .filter(kind=RestrictionKind.TEMPORARY_HOLD, borrower_id__in=borrower_ids)
            .filter(Q(loan_id__in=list(by_id)) | Q(loan__isnull=True)).order_by("ends_at", "pk"))
    holds: dict[int, list[Restriction]] = {}
    for hold in rows:
        for loan in by_id.values():
            if hold.loan_id == loan.pk or (hold.loan_id is None and hold.borrower_id == loan.borrower_id):
                holds.setdefault(loan.pk, []).append(hold)
    return holds


def with_reason_visibility(user: Any, restrictions: QuerySet[Restriction]) -> QuerySet[Restriction]:
    """Restrictions annotated with `visible`: whether `user`'s scope includes them (a hold on another team's loan
    of the same borrower is listed on the account page, but its reason is not shown). A subquery: no query of its
    own."""
    return restrictions.annotate(visible=Exists(restrictions_visible_to(user).filter(pk=OuterRef("pk"))))


def notifications_of(user: Any) -> QuerySet[Notification]:
    """The user's own notifications, newest first, with what the list renders them from (the plan and its
    decider, the loan) and `loan_visible`: whether the user may still see the account it is about (an account
    since reassigned to another team is told of, never named or linked). One query for a page of them."""
    visible = loans_visible_to(user).filter(pk=OuterRef("loan_id"))
    return (Notification.objects.filter(recipient=user).select_related("loan", "plan__decided_by")
            .annotate(loan_visible=Exists(visible)).order_by("-created_at", "-pk"))


def unread_notification_count(user: Any) -> int:
    """The desk's unread badge. One query (the (recipient, read_at) index)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def loan_list_for_user(user: Any) -> QuerySet[Loan]:
    return loans_visible_to(user).select_related("borrower", "assigned_collector").order_by("due_date", "loan_ref")


# --- The worklist's chunks ----------------------------------------------------------------------------------------


def listed_loans(work_date: date) -> QuerySet[Loan]:
    """The loans on some collector's worklist for ``work_date`` (docs/worklist.md): active, past due, assigned to
    an active collector."""
    return Loan.objects.filter(
        status=LoanStatus.ACTIVE, due_date__lt=work_date, assigned_collector__isnull=False,
        assigned_collector__is_active=True,
    )


@dataclass(frozen=True)
class WorklistChunk:
    """A share of one collector's list: the loans with ``after_loan_id < id <= upto_loan_id`` (``None``: no
    bound). A collector's chunks, in order, cover every loan id with no gap and no overlap (the first has no lower
    bound, the last no upper one), so each loan and each stale entry falls in exactly one of them."""

    collector_id: int
    after_loan_id: int | None = None
    upto_loan_id: int | None = None


def worklist_chunks(*, work_date: date, collector_id: int | None = None, zone: str | None = None,
                    chunk_size: int | None = None) -> list[WorklistChunk]:
    """The chunks of every collector's list for ``work_date`` (or one collector's, or those of the collectors whose
    team works in ``zone``), at most ``chunk_size`` listed loans each (default: ``WORKLIST_CHUNK_SIZE``), counted
    now: a loan assigned later falls in the chunk whose range holds its id. A collector with entries that day but no
    listed loan left gets one chunk without bounds, which removes them. Two queries whatever the number of loans:
    the listed loans' (collector, id) in order, and the collectors with entries that day."""
    size = chunk_size or settings.WORKLIST_CHUNK_SIZE
    loans = listed_loans(work_date)
    entries = WorklistEntry.objects.filter(work_date=work_date)
    if collector_id is not None:
        loans = loans.filter(assigned_collector_id=collector_id)
        entries = entries.filter(collector_id=collector_id)
    if zone is not None:  # the collectors whose team works in that zone (desk.workday)
        loans = loans.filter(in_zone(zone, user_path="assigned_collector"))
        entries = entries.filter(in_zone(zone, user_path="collector"))
    chunks: list[WorklistChunk] = []
    planned: set[int] = set()
    # order_by() replaces Loan.Meta.ordering, whose columns would otherwise join the SELECT.
    rows = loans.order_by("assigned_collector_id", "pk").values_list("assigned_collector_id", "pk")
    for owner, group in groupby(rows, key=itemgetter(0)):
        ids = [loan_id for _owner, loan_id in group]
        planned.add(owner)
        # The last id of every chunk but the collector's last, whose range stays open above.
        bounds = [None, *ids[size - 1:-1:size], None]
        chunks += [WorklistChunk(owner, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    for stale_owner in sorted(set(entries.order_by().values_list("collector_id", flat=True).distinct()) - planned):
        chunks.append(WorklistChunk(stale_owner))
    return chunks
