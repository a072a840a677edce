"""Reads of the compliance pages: the audit trail searched by what a compliance officer knows (a loan or borrower
reference, a phone number, a user, a period), the contact attempts of the same search, and the account list.

audit_app knows events by subject (a model label and a primary key) and imports no other app, so a reference or a
number is turned into subjects here: the rows of a borrower's file or of a loan, as subqueries of the one query
that reads the events (no query per subject, whatever the file's size)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import CharField, Exists, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from audit_app.models import AuditEvent
from consent_app.admin.toolkit import phone_search_indexes
from consent_app.models import Borrower, Consent, InconvenientTime, PhoneNumber, Restriction, ThirdPartyContact

from ..desk.selectors import account_search
from ..loans.selectors import loans_in_bucket
from ..models import (
    OPEN_COMPLAINT_STATES,
    Callback,
    Complaint,
    ContactAttempt,
    Loan,
    Note,
    Payment,
    Promise,
    RepaymentPlan,
)
from ..permissions import loans_visible_to

# Rows read per query by the exports: memory stays flat whatever the export's size, one query per chunk.
EXPORT_CHUNK_SIZE = 500
# Events shown per page of the search (newest first, paged by id: no COUNT(*) over the whole trail).
AUDIT_PAGE_SIZE = 100
SYSTEM = "system"  # the actor of jobs and imports (AuditEvent.actor_label)


@dataclass(frozen=True)
class AuditSearch:
    """What an audit search asks. Every criterion given narrows it (AND); none lists the whole trail. `number` is
    the number as typed (kept in the session, never in an address): it is never shown or recorded, only its
    matches. `start`/`end`: the instants [start, end), the reader's days already turned into them."""

    loan_ref: str = ""
    borrower_ref: str = ""
    number: str = ""
    username: str = ""
    action: str = ""
    start: datetime | None = None
    end: datetime | None = None

    @property
    def is_empty(self) -> bool:
        return not any((self.loan_ref, self.borrower_ref, self.number, self.username, self.action, self.start,
                        self.end))

    def audit_data(self) -> dict[str, Any]:
        """The search as an audit event may carry it: references, codes and instants; for a number only that one
        was given (and which borrowers it found, by id), never its digits."""
        data: dict[str, Any] = {key: value for key, value in (
            ("loan_ref", self.loan_ref), ("borrower_ref", self.borrower_ref), ("user", self.username),
            ("action", self.action), ("start", self.start), ("end", self.end),
        ) if value}
        if self.number:
            data["number"] = True
            data["number_borrower_ids"] = sorted(_number_borrowers(self.number).values_list("pk", flat=True))
        return data


# --- Subjects -------------------------------------------------------------------------------------------------------


def _ids(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """The rows' primary keys as text, the type of AuditEvent.subject_id (a subquery, no query of its own)."""
    return queryset.order_by().annotate(subject_pk=Cast("pk", output_field=CharField())).values("subject_pk")


def _subject(model: type[Model], queryset: QuerySet[Any]) -> Q:
    return Q(subject_type=model._meta.label_lower, subject_id__in=_ids(queryset))


def loan_subjects_q(loans: QuerySet[Loan]) -> Q:
    """The events about these loans and what hangs off them: their attempts, promises, plans, payments, notes,
    callbacks, complaints and the restrictions placed on them."""
    ids = loans.values("pk")
    return (
        _subject(Loan, loans)
        | _subject(ContactAttempt, ContactAttempt.objects.filter(loan__in=ids))
        | _subject(Promise, Promise.objects.filter(loan__in=ids))
        | _subject(RepaymentPlan, RepaymentPlan.objects.filter(loan__in=ids))
        | _subject(Payment, Payment.objects.filter(loan__in=ids))
        | _subject(Note, Note.objects.filter(loan__in=ids))
        | _subject(Callback, Callback.objects.filter(loan__in=ids))
        | _subject(Complaint, Complaint.objects.filter(loan__in=ids))
        | _subject(Restriction, Restriction.objects.filter(loan__in=ids))
    )


def borrower_subjects_q(borrowers: QuerySet[Borrower]) -> Q:
    """The events of these borrowers' whole files: the borrower, their numbers (reveals included), third parties,
    consents, restrictions, inconvenient times, complaints, and every loan's (`loan_subjects_q`)."""
    ids = borrowers.values("pk")
    return (
        _subject(Borrower, borrowers)
        | _subject(PhoneNumber, PhoneNumber.objects.filter(borrower__in=ids))
        | _subject(ThirdPartyContact, ThirdPartyContact.objects.filter(borrower__in=ids))
        | _subject(Consent, Consent.objects.filter(phone__borrower__in=ids))
        | _subject(Restriction, Restriction.objects.filter(borrower__in=ids))
        | _subject(InconvenientTime, InconvenientTime.objects.filter(borrower__in=ids))
        | _subject(Complaint, Complaint.objects.filter(borrower__in=ids))
        | loan_subjects_q(Loan.objects.filter(borrower__in=ids))
    )


def _loans(search: AuditSearch) -> QuerySet[Loan]:
    return Loan.objects.filter(loan_ref__iexact=search.loan_ref)


def _borrowers(search: AuditSearch) -> QuerySet[Borrower]:
    return Borrower.objects.filter(borrower_ref__iexact=search.borrower_ref)


def _number_borrowers(number: str) -> QuerySet[Borrower]:
    """The borrowers whose file holds the number (their own or a third party's), by its blind index in every form
    it could have been typed in."""
    indexes = phone_search_indexes(number)
    return Borrower.objects.filter(pk__in=PhoneNumber.objects.filter(blind_index__in=indexes).values("borrower_id"))


def _actor_q(username: str, path: str) -> Q:
    if username == SYSTEM:
        return Q(**{f"{path}__isnull": True})
    return Q(**{f"{path}__username": username})


def audit_events_matching(search: AuditSearch) -> QuerySet[AuditEvent]:
    """The events of the search, newest first: one query, whatever the number of subjects."""
    events = AuditEvent.objects.all()
    if search.loan_ref:
        events = events.filter(loan_subjects_q(_loans(search)))
    if search.borrower_ref:
        events = events.filter(borrower_subjects_q(_borrowers(search)))
    if search.number:
        events = events.filter(borrower_subjects_q(_number_borrowers(search.number)))
    if search.username:
        events = events.filter(_actor_q(search.username, "actor"))
    if search.action:
        events = events.filter(action=search.action)
    if search.start:
        events = events.filter(occurred_at__gte=search.start)
    if search.end:
        events = events.filter(occurred_at__lt=search.end)
    return events.order_by("-id")


def audit_page(search: AuditSearch, *, before: int | None = None) -> tuple[list[AuditEvent], int | None]:
    """One page of the search (events older than the id `before`, when given) and the id the next page starts
    before (None on the last page). One query."""
    events = audit_events_matching(search)
    if before is not None:
        events = events.filter(id__lt=before)
    rows = list(events.only("id", "occurred_at", "actor_label", "action", "subject_type", "subject_id", "data",
                            "seq")[:AUDIT_PAGE_SIZE + 1])
    more = len(rows) > AUDIT_PAGE_SIZE
    rows = rows[:AUDIT_PAGE_SIZE]
    return rows, (rows[-1].pk if more else None)


def attempts_matching(search: AuditSearch) -> QuerySet[ContactAttempt]:
    """The contact attempts of the same search: on the loan, of the borrowers' files (by reference or by a number
    they hold), made by the user (the collector), started in the period; newest first. The action criterion is
    the audit trail's only."""
    attempts = ContactAttempt.objects.all()
    if search.loan_ref:
        attempts = attempts.filter(loan__in=_loans(search).values("pk"))
    if search.borrower_ref:
        attempts = attempts.filter(borrower__in=_borrowers(search).values("pk"))
    if search.number:
        attempts = attempts.filter(borrower__in=_number_borrowers(search.number).values("pk"))
    if search.username:
        attempts = attempts.filter(_actor_q(search.username, "collector"))
    if search.start:
        attempts = attempts.filter(started_at__gte=search.start)
    if search.end:
        attempts = attempts.filter(started_at__lt=search.end)
    return attempts.order_by("-id")


def known_user(username: str) -> bool:
    return username == SYSTEM or get_user_model()._default_manager.filter(username=username).exists()


# --- The exports' reads ---------------------------------------------------------------------------------------------


def in_chunks(queryset: QuerySet[Any], *, up_to_id: int | None) -> Iterator[list[Any]]:
    """The rows of `queryset` (ordered by descending id) in lists of EXPORT_CHUNK_SIZE, one query per list, keyed on
    the id (no OFFSET): the rows with an id up to `up_to_id` only, so an export holds what there was when it
    started (its own audit event, written then, is not in it)."""
    if up_to_id is None:
        return
    last = up_to_id + 1
    while True:
        chunk = list(queryset.filter(id__lt=last)[:EXPORT_CHUNK_SIZE])
        if not chunk:
            return
        yield chunk
        if len(chunk) < EXPORT_CHUNK_SIZE:
            return
        last = chunk[-1].pk


def newest_id(queryset: QuerySet[Any]) -> int | None:
    return queryset.order_by("-id").values_list("id", flat=True).first()


# --- The account list -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountFilters:
    """The compliance account list's filters; every one given narrows it."""

    status: str = ""
    jurisdiction: str = ""
    bucket: str = ""
    held: bool = False  # a restriction in force on the loan or borrower-wide
    complaint: bool = False  # an open complaint on the loan or about the borrower and no loan


def _held(now: datetime) -> Exists:
    in_force = Restriction.objects.in_force(now).filter(borrower_id=OuterRef("borrower_id"))
    return Exists(in_force.filter(Q(loan__isnull=True) | Q(loan_id=OuterRef("pk"))))


def _open_complaint() -> Exists:
    open_ = Complaint.objects.filter(state__in=OPEN_COMPLAINT_STATES)
    return Exists(open_.filter(Q(loan_id=OuterRef("pk")) | Q(loan__isnull=True, borrower_id=OuterRef("borrower_id"))))


def compliance_accounts(user: Any, *, filters: AccountFilters, today: date,
                        now: datetime | None = None) -> QuerySet[Loan]:
    """Every loan the user may see (loans_visible_to), filtered, annotated with `held` and `open_complaint` (as
    subqueries: no query of their own), in due-date order."""
    now = now or timezone.now()
    held, open_complaint = _held(now), _open_complaint()
    loans: QuerySet[Loan] = (loans_visible_to(user).select_related("borrower", "assigned_collector")
                             .annotate(held=held, open_complaint=open_complaint))
    if filters.status:
        loans = loans.filter(status=filters.status)
    if filters.jurisdiction:
        loans = loans.filter(borrower__jurisdiction=filters.jurisdiction)
    if filters.bucket:
        loans = loans_in_bucket(loans, filters.bucket, today)
    if filters.held:
        loans = loans.filter(held)
    if filters.complaint:
        loans = loans.filter(open_complaint)
    return loans.order_by("due_date", "loan_ref")


def compliance_account_search(user: Any, term: str, *, filters: AccountFilters, today: date) -> tuple[list[Loan], str]:
    """The desk's account search (desk.selectors.account_search: references, last four digits, a whole number)
    among the filtered list: at most SEARCH_RESULTS loans, and what kind of term it was."""
    found = account_search(user, term, within=compliance_accounts(user, filters=filters, today=today))
    return found.loans, found.kind

