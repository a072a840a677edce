"""The collector's desk: building worklists, recording outcomes with their follow-ups, callbacks, notes, and
closing abandoned calls. Every contact rule stays in collections_app.policy; this module only asks it."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Field, Max, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from collections_app.contact.selectors import LoanRow, contact_snapshots_for_loan_rows, contact_snapshots_for_loans
from collections_app.contact.services import attempt_complete
from collections_app.loans.buckets import bucket_rank
from consent_app.history import with_change_reason
from consent_app.models import PhoneNumber, Restriction, RestrictionKind
from consent_app.services import restriction_lift, restriction_place
from consent_app.validators import is_in_range

from .. import policy
from ..models import (
    AttemptOutcome,
    Callback,
    ContactAttempt,
    ContactPolicyVersion,
    Loan,
    LoanStatus,
    Note,
    Notification,
    NotificationKind,
    WorklistEntry,
    WorklistRun,
)
from ..plans.selectors import loans_with_broken_or_due_promises
from ..plans.services import promise_create
from ..workday import collector_zone, collector_zones, desk_zones, work_date_in
from .clock import borrower_clock
from .notifications import notifications_send
from .selectors import CALLBACK_DUE_WINDOW, WorklistChunk, first_open_callbacks, listed_loans, worklist_chunks

# --- Worklist -----------------------------------------------------------------------------------------------------

# Priority groups, in order (docs/worklist.md): a callback due today, a promise due or broken, everything else.
GROUP_CALLBACK, GROUP_PROMISE, GROUP_REST = 0, 1, 2
_BALANCE_CEILING = Decimal("999999999999.99")
# The columns a build writes, in this order; `worked_at` is not among them, so a rebuild keeps the day's worked
# marks (and a new entry starts unworked).
_ENTRY_COLUMNS = (
    "collector", "loan", "work_date", "priority", "sort_key", "contactable", "reason_codes", "decisions",
    "next_allowed_at", "recheck_at", "built_at",
)
_ENTRY_KEY = ("collector", "loan", "work_date")  # uniq_worklist_entry


def evaluate_loans(loans: list[LoanRow], at: datetime, channel: str = "call", *,
                   borrowers: QuerySet | None = None) -> dict[int, list[dict[str, Any]]]:
    """The policy's decision for every number of every loan, as stored on a worklist entry, in a fixed number of
    queries (`borrowers`: see contact_snapshots_for_loan_rows)."""
    decisions: dict[int, list[dict[str, Any]]] = {}
    masked: dict[int, str] = {}  # a borrower with several loans has the same numbers on each
    for loan_id, entries in contact_snapshots_for_loan_rows(loans, at, borrowers=borrowers).items():
        rows = []
        for phone, snapshot in entries:
            decision = policy.evaluate(snapshot, channel=channel, at=at)
            if phone.pk not in masked:
                masked[phone.pk] = phone.masked
            next_allowed_at = decision.next_allowed_at
            holds_until = policy.verdict_horizon(snapshot, decision, at)
            rows.append({
                "phone_id": phone.pk,
                "masked": masked[phone.pk],
                "owner": phone.owner,
                "relation": phone.relation,
                "allowed": decision.allowed,
                "reasons": [str(r.code) for r in decision.reasons],
                "next_allowed_at": next_allowed_at.isoformat() if next_allowed_at else None,
                # The zones the policy judged the number in, and those whose contact window sets next_allowed_at.
                "zones": list(decision.zones),
                "binding": list(policy.window_opening_zones(snapshot, next_allowed_at)) if next_allowed_at else [],
                # The calls each cap still allows (the engine's count: the page never re-derives a rule).
                "left": dict(decision.remaining),
                # Until when this verdict holds by the clock alone (None: only a change of the facts changes it).
                "holds_until": holds_until.astimezone(UTC).isoformat() if holds_until else None,
            })
        decisions[loan_id] = rows
    return decisions


def worklist_build(*, collector: Any, now: datetime | None = None) -> int:
    """Rebuild today's worklist (on the team's clock) of one collector in this process, chunk after chunk (each its
    own transaction; the nightly job hands the same chunks to the workers instead). Idempotent: entries are
    replaced, `worked_at` is kept, entries of loans no longer on the list are removed. Returns the number of
    entries."""
    now = now or timezone.now()
    today = work_date_in(collector_zone(collector), now)
    return sum(
        worklist_build_chunk(chunk=chunk, work_date=today, now=now)
        for chunk in worklist_chunks(work_date=today, collector_id=collector.pk)
    )


def worklist_runs_due(*, now: datetime) -> list[tuple[list[WorklistChunk], date]]:
    """The nightly builds due at `now`: for each zone a team works in whose clock has passed WORKLIST_BUILD_TIME
    and whose working day has no WorklistRun yet, that row is written and the zone's chunks for its day returned
    (the caller sends them once the rows commit). A zone's day is returned once, whoever asks and however often:
    the row's unique (zone, work date) decides. One query for the zones and one per zone past its build time; a
    zone due adds its chunk plan (two) and its row, whatever the number of loans."""
    build_time = time.fromisoformat(settings.WORKLIST_BUILD_TIME)
    due = []
    for zone in desk_zones():
        local = now.astimezone(ZoneInfo(zone))
        if local.time() < build_time:
            continue
        if WorklistRun.objects.filter(zone=zone, work_date=local.date()).exists():
            continue
        chunks = worklist_chunks(work_date=local.date(), zone=zone)
        _run, created = WorklistRun.objects.get_or_create(
            zone=zone, work_date=local.date(), defaults={"sent_at": now, "chunks": len(chunks)},
        )
        if created:
            due.append((chunks, local.date()))
    return due


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the duration (reference counting still frees everything else).
    A chunk creates tens of thousands of small objects (snapshots, facts, decisions) that all live until it ends;
    their allocation sets off collections that walk the whole process heap (Django and the app: some 100,000
    objects) to find next to no garbage: about a tenth of a chunk's time on PostgreSQL here (docs/benchmarks.md).
    Left as it is if already paused."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@_cyclic_gc_paused()
@transaction.atomic
def worklist_build_chunk(*, chunk: WorklistChunk, work_date: date, now: datetime | None = None) -> int:
    """Build one chunk of a collector's list for `work_date`: the collector's listed loans (active, past due)
    whose ids are in the chunk's range, each with the policy's verdict for every number at `now`. Returns the
    number of entries.

    Idempotent and confined to its range: entries are upserted on (collector, loan, work date), so a rerun or a
    redelivery rewrites the same rows and keeps `worked_at`; the collector's entries for that day in the range
    whose loan is no longer listed (reassigned, paid, a collector deactivated) are deleted. The collector's
    chunks cover disjoint ranges, so chunks running at once on different workers never touch the same rows.
    A fixed number of queries whatever the number of loans (tests/collections_app/desk/test_worklist.py)."""
    bounds = {f"pk__{lookup}": bound for lookup, bound in (("gt", chunk.after_loan_id), ("lte", chunk.upto_loan_id))
              if bound is not None}
    return _entries_build(collector_id=chunk.collector_id, work_date=work_date, now=now or timezone.now(),
                          loans=bounds)


@_cyclic_gc_paused()
@transaction.atomic
def worklist_reevaluate(*, collector_id: int, loan_ids: Iterable[int], work_date: date,
                        now: datetime | None = None) -> int:
    """Judge again, at `now`, the entries of these loans on one collector's list for `work_date`: the same rows a
    build writes (an upsert that keeps `worked_at`), an entry whose loan is no longer on the list removed, and a
    listed loan of the collector without an entry added. Returns the number of entries written. A fixed number of
    queries whatever the number of loans, at most WORKLIST_CHUNK_SIZE of them a call."""
    ids = sorted(set(loan_ids))
    if not ids:
        return 0
    return _entries_build(collector_id=collector_id, work_date=work_date, now=now or timezone.now(),
                          loans={"pk__in": ids})


def worklist_recheck_due(*, collector_id: int, work_date: date, now: datetime | None = None) -> int:
    """Judge again the entries of one collector's list whose verdict the clock may have changed since it was
    stored (`recheck_at` passed: a window opened or closed, a hold ended, a new local day; or a policy version
    took effect after it was built), so the page shows each row's verdict for now. One query when none is due;
    otherwise a fixed number per WORKLIST_CHUNK_SIZE entries. Returns the number of entries written."""
    now = now or timezone.now()
    # A policy version that has taken effect since an entry was built changes its rules (a version is often
    # written ahead of the day it takes effect, so the version's own signal could not catch it).
    latest_version = (ContactPolicyVersion.objects.filter(effective_from__lte=now).order_by("-effective_from")
                      .values("effective_from")[:1])
    due = list(
        WorklistEntry.objects.filter(collector_id=collector_id, work_date=work_date)
        .filter(Q(recheck_at__lte=now) | Q(built_at__lt=Subquery(latest_version)))
        .order_by("loan_id").values_list("loan_id", flat=True)
    )
    size = settings.WORKLIST_CHUNK_SIZE
    return sum(
        worklist_reevaluate(collector_id=collector_id, loan_ids=due[start:start + size], work_date=work_date, now=now)
        for start in range(0, len(due), size)
    )


def worklist_reevaluate_borrowers(*, borrower_ids: Iterable[int], now: datetime | None = None) -> int:
    """After a change of a fact the policy reads (a consent, a restriction, a complaint hold, an attempt, a
    reassignment, a payment that settles the loan): judge again today's entries of these borrowers' loans on
    every list they are on, remove those whose loan left a list, and add their listed loans to the lists of
    collectors whose list for today is already built (a list not built yet is built whole when it is first
    needed); "today" is each collector's team's. Returns the number of entries written. A fixed number of
    queries per collector concerned."""
    now = now or timezone.now()
    loans = list(Loan.objects.filter(borrower_id__in=list(borrower_ids)).order_by()
                 .values_list("pk", "assigned_collector_id"))
    if not loans:
        return 0
    # "Today" is each collector's team's: one of the UTC date's neighbours whatever the zone.
    days = [now.date() + timedelta(days=offset) for offset in (-1, 0, 1)]
    listed = list(WorklistEntry.objects.filter(work_date__in=days, loan_id__in=[pk for pk, _c in loans]).order_by()
                  .values_list("collector_id", "loan_id", "work_date"))
    assigned = {collector_id for _pk, collector_id in loans if collector_id is not None}
    built = set(WorklistEntry.objects.filter(work_date__in=days, collector_id__in=assigned).order_by()
                .values_list("collector_id", "work_date").distinct()) if assigned else set()
    zones = collector_zones(assigned | {collector_id for collector_id, _loan, _day in listed})
    today = {collector_id: work_date_in(zone, now) for collector_id, zone in zones.items()}
    targets: dict[int, set[int]] = {}
    for collector_id, loan_id, day in listed:
        if day == today[collector_id]:
            targets.setdefault(collector_id, set()).add(loan_id)
    for loan_id, collector_id in loans:
        if collector_id is not None and (collector_id, today[collector_id]) in built:
            targets.setdefault(collector_id, set()).add(loan_id)
    size = settings.WORKLIST_CHUNK_SIZE
    written = 0
    for collector_id in sorted(targets):
        ids = sorted(targets[collector_id])
        for start in range(0, len(ids), size):
            written += worklist_reevaluate(collector_id=collector_id, loan_ids=ids[start:start + size],
                                           work_date=today[collector_id], now=now)
    return written


def _entries_build(*, collector_id: int, work_date: date, now: datetime, loans: dict[str, Any]) -> int:
    """The entries of `collector_id`'s list for `work_date` among the loans selected by the `pk` lookups in
    `loans`: built at `now` and upserted; the collector's entries of selected loans that are no longer listed are
    deleted (see worklist_build_chunk)."""
    chunk_loans = listed_loans(work_date).filter(assigned_collector_id=collector_id, **loans)
    # Plain rows, in id order (concurrent reruns of a chunk then lock its entries in the same order).
    rows = list(
        chunk_loans.order_by("pk")
        .values_list("pk", "borrower_id", "status", "due_date", "borrower__jurisdiction", "borrower__timezone",
                     "loan_ref", "balance")
    )
    loan_ids = [row[0] for row in rows]
    stale = WorklistEntry.objects.filter(
        collector_id=collector_id, work_date=work_date,
        **{f"loan_id__{lookup.removeprefix('pk__')}": bound for lookup, bound in loans.items()},
    )
    if not rows:
        stale.delete()
        return 0
    # The snapshot and last-contact queries filter on the chunk's loans as a subquery, not on lists of their ids.
    decisions = evaluate_loans([LoanRow(*row[:6], collector_id) for row in rows], now,
                               borrowers=chunk_loans.order_by().values("borrower_id"))
    callbacks = first_open_callbacks(loan_ids, work_date)
    last_contact = dict(
        ContactAttempt.objects.filter(loan_id__in=chunk_loans.order_by().values("pk")).order_by().values("loan_id")
        .annotate(last=Max("started_at")).values_list("loan_id", "last")
    )
    promises = loans_with_broken_or_due_promises(loan_ids, work_date)
    ranks: dict[int, str] = {}
    entries = []
    for loan_id, _borrower_id, _status, due_date, _jurisdiction, _zone, loan_ref, balance in rows:
        numbers = decisions.get(loan_id, [])
        contactable = any(r["allowed"] for r in numbers)
        reason_codes: list[str] = []
        next_times: list[str] = []
        if not contactable:
            for r in numbers:
                reason_codes += [c for c in r["reasons"] if c not in reason_codes]
                if r["next_allowed_at"]:
                    next_times.append(r["next_allowed_at"])
            if not numbers:
                reason_codes = ["NO_CONSENT"]
        if loan_id in callbacks:
            group = GROUP_CALLBACK
            tiebreak = callbacks[loan_id].strftime("%Y%m%d%H%M")
        elif loan_id in promises:
            group, tiebreak = GROUP_PROMISE, "0" if promises[loan_id] == "broken" else "1"
        else:
            group, tiebreak = GROUP_REST, ""
        last = last_contact.get(loan_id)
        # Loan.days_past_due of an active loan (every listed loan is active).
        days_past_due = max((work_date - due_date).days, 0)
        if days_past_due not in ranks:
            ranks[days_past_due] = str(bucket_rank(days_past_due))
        sort_key = "|".join([
            str(group), tiebreak, ranks[days_past_due], f"{(_BALANCE_CEILING - balance):015.2f}",
            last.strftime("%Y%m%d%H%M") if last else "000000000000", loan_ref,
        ])
        # ISO strings of UTC instants: the earliest string is the earliest instant.
        next_allowed_at = min(next_times) if next_times and len(next_times) == len(numbers) else None
        # The entry's verdict may change when the first of its numbers' verdicts may.
        horizons = [r["holds_until"] for r in numbers if r["holds_until"]]
        entries.append((collector_id, loan_id, work_date, group, sort_key, contactable, reason_codes, numbers,
                        next_allowed_at, min(horizons) if horizons else None, now))
    stale.exclude(loan_id__in=chunk_loans.order_by().values("pk")).delete()
    _entries_upsert(entries)
    return len(entries)


def _entries_upsert(entries: list[tuple]) -> None:
    """Write entries (values in `_ENTRY_COLUMNS` order) with one `INSERT ... ON CONFLICT (collector, loan,
    work_date) DO UPDATE` per chunk (per batch of the backend's parameter limit on SQLite).

    Plain SQL rather than `bulk_create(update_conflicts=True)`, which builds a model instance per entry and
    prepares every field of every row one by one: that cost more than building the entries. WorklistEntry keeps
    no history, so nothing is skipped. On PostgreSQL the rows travel as one JSON parameter (`jsonb_to_recordset`)
    because psycopg parses a statement's placeholders in Python, about 10 µs each: 5,000 of them (500 rows of 10
    columns) cost more than the insert itself. Elsewhere each value goes through its field's `get_db_prep_save`,
    so the stored text is what the ORM writes."""
    meta = WorklistEntry._meta
    fields = [cast(Field, meta.get_field(name)) for name in _ENTRY_COLUMNS]  # concrete fields, all of them
    quote = connection.ops.quote_name
    columns = [quote(str(field.column)) for field in fields]
    key = ", ".join(quote(str(cast(Field, meta.get_field(name)).column)) for name in _ENTRY_KEY)
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns[3:])
    # Only quoted names and types from the model's metadata and placeholders are interpolated into the SQL below;
    # every value is a parameter.
    insert = f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)})"
    conflict = f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    if connection.vendor == "postgresql":
        record = ", ".join(f"{column} {field.db_type(connection)}"
                           for column, field in zip(columns, fields, strict=True))
        rows = [
            dict(zip((field.column for field in fields), (
                collector_id, loan_id, day.isoformat(), group, sort_key, contactable, codes, numbers, next_at,
                recheck, built.isoformat(),
            ), strict=True))
            for collector_id, loan_id, day, group, sort_key, contactable, codes, numbers, next_at, recheck, built
            in entries
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"{insert} SELECT {', '.join(columns)} FROM jsonb_to_recordset(%s::jsonb) AS r({record})"  # noqa: S608
                f" {conflict}",
                [json.dumps(rows)],
            )
        return
    (_collector, _loan, work_date, _group, _key, _c, reason_codes, decisions, next_allowed_at, recheck_at,
     built_at) = fields
    # The same day and build time for every entry of a chunk: prepared once.
    day = work_date.get_db_prep_save(entries[0][2], connection)
    built = built_at.get_db_prep_save(entries[0][10], connection)
    params = [
        (collector_id, loan_id, day, group, sort_key, contactable,
         reason_codes.get_db_prep_save(codes, connection), decisions.get_db_prep_save(numbers, connection),
         next_allowed_at.get_db_prep_save(next_at, connection) if next_at is not None else None,
         recheck_at.get_db_prep_save(recheck, connection) if recheck is not None else None, built)
        for collector_id, loan_id, _day, group, sort_key, contactable, codes, numbers, next_at, recheck, _built
        in entries
    ]
    placeholder = f"({', '.join(['%s'] * len(columns))})"
    batch = max(connection.ops.bulk_batch_size(fields, params), 1)
    with connection.cursor() as cursor:
        for start in range(0, len(params), batch):
            batch_rows = params[start:start + batch]
            cursor.execute(
                f"{insert} VALUES {', '.join([placeholder] * len(batch_rows))} {conflict}",
                [value for row in batch_rows for value in row],
            )


def worklist_mark_worked(*, collector: Any, loan: Loan, now: datetime | None = None) -> None:
    now = now or timezone.now()
    WorklistEntry.objects.filter(
        collector=collector, loan=loan, work_date=work_date_in(collector_zone(collector), now),
        worked_at__isnull=True,
    ).update(worked_at=now)


# --- Callbacks and notes ------------------------------------------------------------------------------------------


@transaction.atomic
def callback_schedule(*, loan: Loan, collector: Any, due_at: datetime, actor: Any,
                      phone: PhoneNumber | None = None) -> Callback:
    """Schedule a callback, only at a time the policy will allow (judged on today's history); otherwise refuse
    and propose the next allowed time."""
    if timezone.is_naive(due_at):
        raise ValidationError({"callback_at": _("A time zone is required.")})
    if not is_in_range(due_at):
        raise ValidationError({"callback_at": _("The date must be between 1970 and 2199.")})
    if due_at <= timezone.now():
        raise ValidationError({"callback_at": _("A callback must be in the future.")})
    # One snapshot load for all the borrower's own numbers (fixed queries), not a check per number.
    entries = contact_snapshots_for_loans([loan], due_at).get(loan.pk, [])
    candidates = [(p, s) for p, s in entries if (p.pk == phone.pk if phone is not None else not p.third_party_id)]
    proposals = []
    for candidate, snapshot in candidates:
        decision = policy.evaluate(snapshot, channel="call", at=due_at)
        if decision.allowed:
            phone = candidate
            break
        if decision.next_allowed_at:
            proposals.append(decision.next_allowed_at)
    else:
        if proposals:
            raise ValidationError({"callback_at": _(
                "The policy does not allow a call then. Next allowed: %(when)s (borrower's time)."
            ) % {"when": borrower_clock(min(proposals), loan.borrower.primary_zone)}})
        raise ValidationError({"callback_at": _("The policy does not allow calling this borrower.")})
    callback = Callback(loan=loan, phone=phone, collector=collector, due_at=due_at)
    with_change_reason(callback, "scheduled")
    callback.save()
    audit_log(action=AuditAction.CALLBACK_SCHEDULED, subject=callback, actor=actor,
              data={"loan_ref": loan.loan_ref, "due_at": due_at})
    return callback


@transaction.atomic
def hold_until_place(*, loan: Loan, until: date | None, reason: str, actor: Any, whole_borrower: bool = False):
    """A temporary hold until the start of `until` on the borrower's clock: the borrower's "not before the 20th"
    during a call, or a supervisor's pause of one loan. Without a date it is refused (a temporary hold ends)."""
    now = timezone.now()
    ends_at = loan.borrower.start_of_local_day(until) if until else None
    if ends_at is not None and ends_at <= now:
        raise ValidationError({"hold_until": _("The hold must end in the future.")})
    return restriction_place(borrower=loan.borrower, loan=None if whole_borrower else loan,
                             kind=RestrictionKind.TEMPORARY_HOLD, starts_at=now, ends_at=ends_at, reason=reason,
                             actor=actor)


@transaction.atomic
def hold_lift(*, restriction: Restriction, reason: str, actor: Any) -> Restriction:
    """Lift a temporary hold from the desk. The reason is required: it is kept, encrypted, on the hold
    (`lift_reason`), which the RESTRICTION_LIFTED event names. Who may lift it is `restriction_lift`'s question
    (PermissionDenied, nothing changed). The collectors of the accounts it held (its loan, or every active loan of
    the borrower for a borrower-wide hold) are told, in the same transaction. A hold already lifted is refused and
    tells no one again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the hold is lifted.")})
    if restriction.kind != RestrictionKind.TEMPORARY_HOLD:
        raise ValidationError(_("Only a temporary hold is lifted here."))
    locked = Restriction.objects.select_for_update().get(pk=restriction.pk)
    if locked.lifted_at is not None:
        raise ValidationError(_("This hold is already lifted."))
    lifted = restriction_lift(restriction=locked, actor=actor, reason=reason)
    held = (Loan.objects.filter(pk=lifted.loan_id) if lifted.loan_id is not None
            else Loan.objects.filter(borrower_id=lifted.borrower_id, status=LoanStatus.ACTIVE))
    notifications_send(kind=NotificationKind.HOLD_LIFTED, actor=actor,
                       recipients=held.order_by().values_list("assigned_collector_id", "pk"))
    return lifted


@transaction.atomic
def note_add(*, loan: Loan, text: str, actor: Any) -> Note:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"note": _("The note is empty.")})
    if len(text) > 4000:
        raise ValidationError({"note": _("A note has at most 4,000 characters.")})
    note = Note(loan=loan, author=actor, text=text)
    with_change_reason(note, "added")
    note.save()
    audit_log(action=AuditAction.NOTE_ADDED, subject=note, actor=actor, data={"loan_ref": loan.loan_ref})
    return note


# --- Outcome with follow-ups --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUps:
    callback_at: datetime | None = None
    promise_amount: Decimal | None = None
    promise_date: date | None = None
    dispute: bool = False
    cease: bool = False
    hold_until: date | None = None
    note: str = ""


@transaction.atomic
def outcome_record(
    *, attempt: ContactAttempt, outcome: str, actor: Any, party: str = "", opt_out: bool = False,
    duration_s: int | None = None, follow_ups: FollowUps = FollowUps(),
) -> ContactAttempt:
    """Record a call's outcome and, in the same transaction, what was agreed: a callback, a promise, a dispute,
    a cease request, a hold, a note. Anything invalid rolls the whole outcome back, so nothing is half-saved."""
    if attempt.collector_id != getattr(actor, "pk", None):
        raise ValidationError(_("Only the collector who started this call can record its outcome."))
    loan = Loan.objects.select_related("borrower").get(pk=attempt.loan_id)
    attempt = attempt_complete(attempt=attempt, outcome=outcome, actor=actor, party=party, opt_out=opt_out,
                               duration_s=duration_s)
    now = timezone.now()
    if follow_ups.cease:
        # Reg F 12 CFR 1006.6(c); the borrower's refusal stops collection contact until lifted.
        restriction_place(borrower=loan.borrower, kind=RestrictionKind.CEASE_COMMUNICATION, starts_at=now,
                          reason=_("Borrower asked that communication stop (during a call)."), actor=actor)
    if follow_ups.dispute:
        restriction_place(borrower=loan.borrower, loan=loan, kind=RestrictionKind.DISPUTE, starts_at=now,
                          reason=_("Borrower disputes the debt (during a call)."), actor=actor)
    if follow_ups.hold_until:
        hold_until_place(loan=loan, until=follow_ups.hold_until, whole_borrower=True, actor=actor,
                         reason=_("Borrower asked not to be called before this date."))
    if follow_ups.promise_amount is not None or follow_ups.promise_date is not None:
        if follow_ups.promise_amount is None or follow_ups.promise_date is None:
            raise ValidationError({"promise_amount": _("A promise needs an amount and a date.")})
        promise_create(loan=loan, amount=follow_ups.promise_amount, promise_date=follow_ups.promise_date,
                       actor=actor, attempt=attempt)
    if follow_ups.callback_at:
        callback_schedule(loan=loan, collector=actor, due_at=follow_ups.callback_at, actor=actor)
    if follow_ups.note:
        note_add(loan=loan, text=follow_ups.note, actor=actor)
    Callback.objects.filter(loan=loan, collector=actor, done_at__isnull=True, cancelled_at__isnull=True,
                            due_at__lte=now + CALLBACK_DUE_WINDOW).update(done_at=now)
    worklist_mark_worked(collector=actor, loan=loan, now=now)
    return attempt


# --- Abandoned calls ----------------------------------------------------------------------------------------------


def attempts_close_stale(*, now: datetime | None = None) -> int:
    """Close in-progress calls nobody completed within ATTEMPT_STALE_MINUTES. They are closed as `no_answer`:
    an attempt of unknown outcome keeps counting toward the caps (the conservative reading of Reg F
    1006.14(b)(3), which excludes only calls known not to have connected). Idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ATTEMPT_STALE_MINUTES)
    closed = 0
    for attempt_id in ContactAttempt.objects.filter(
        Q(outcome="") & Q(started_at__lt=cutoff)
    ).values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            attempt = ContactAttempt.objects.select_for_update().filter(pk=attempt_id, outcome="").first()
            if attempt is None:
                continue  # completed meanwhile
            attempt.outcome = AttemptOutcome.NO_ANSWER
            attempt.ended_at = now
            with_change_reason(attempt, "closed automatically: no outcome recorded in time")
            attempt.save(update_fields=["outcome", "ended_at"])
            audit_log(action=AuditAction.CONTACT_ATTEMPT_RECORDED, subject=attempt, actor=None,
                      data={"state": "closed_stale", "outcome": attempt.outcome})
            closed += 1
    return closed


# --- Notifications ------------------------------------------------------------------------------------------------
# Reading one's own notifications changes no collection data and tells nothing about a borrower: it writes no
# audit event (the event that the notification tells of was audited when it happened).


@transaction.atomic
def notification_mark_read(*, notification: Notification, actor: Any) -> Notification:
    """Mark one of the actor's notifications read (once: a second time keeps the first time)."""
    if notification.recipient_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("This notification is someone else's."))
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


@transaction.atomic
def notifications_mark_all_read(*, actor: Any) -> int:
    """Mark every unread notification of the actor read; returns how many. One UPDATE."""
    return Notification.objects.filter(recipient_id=actor.pk, read_at__isnull=True).update(read_at=timezone.now())
