"""Writing one batch of validated rows, inside the batch's transaction.

Two paths. The bulk path takes every row that creates objects (a first import, new numbers, new consents, new
loans) or changes a loan (its amounts, due date or status, or its collector): new objects are written with
multi-row INSERTs, history rows included (`bulk.insert_with_history`), and the batch's audit event lists every
id created; the loans that change are locked and written with multi-row UPDATEs and a history row each
(`bulk.update_with_history`), with one `loan.updated` (and `loan.assigned`) audit event per loan, the events
`loan_upsert` and `loan_assign` write, appended in bulk (`audit_log_bulk`), and their borrowers' worklists are
judged again on commit, as the model signal would have them. A service call per object would cost tens of
queries a row, i.e. hours for 100,000 rows (a daily balance feed went at 55 rows/s that way). Rows that
change an existing borrower's details go through the services one by one, in their own savepoint, exactly as the
API would. Both paths apply the same checks (`_check_*` below); the validation mirrors every model rule and the
database constraints are the backstop: should a bulk write fail anyway, its rows are redone one by one through
the services, which report the offending row precisely.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from audit_app.models import AuditAction
from audit_app.services import AuditEntry, audit_log_bulk
from collections_app.desk.signals import worklists_reevaluate_on_commit
from collections_app.loans.services import loan_assign, loan_upsert
from collections_app.models import Loan
from consent_app.models import Borrower, Consent, PhoneNumber
from consent_app.services import PhoneInput, borrower_upsert, consent_grant, phone_add

from .bulk import insert_with_history, new_object, update_with_history
from .rows import BORROWER_COLUMNS, LOAN_COLUMNS, ROW, ConsentRow, ImportRow, PhoneRow, Rejected, RowError, RowRejected

IMPORT_REASON = "csv import"
LOAN_FIELDS = ("principal", "balance", "currency", "due_date", "status")  # what a row sets on its loan
OTHER_BORROWERS_LOAN = _lazy("This loan_ref is recorded for another borrower.")

PhoneKey = tuple[str, str]  # (borrower_ref, blind index)
ConsentKey = tuple[str, str, str, datetime]  # (borrower_ref, blind index, evidence ref, granted at)


@dataclass
class BatchState:
    """What the database holds for the refs of one batch, loaded in one query per kind and kept current as
    rows are applied. Keys use refs, not primary keys, so that objects still to be created fit in too."""

    borrowers: dict[str, Borrower]
    loans: dict[str, Loan]
    phones: dict[PhoneKey, PhoneNumber]
    consents: set[ConsentKey]


@dataclass
class RowPlan:
    """The objects one row creates (bulk path), or created/changed (service path). Merged into the batch
    state only once the row is safely written, so a rejected row leaves no trace in the state either."""

    row: ImportRow
    borrower: Borrower | None = None
    phones: dict[PhoneKey, PhoneNumber] = field(default_factory=dict)
    consents: dict[ConsentKey, Consent | None] = field(default_factory=dict)
    loan: Loan | None = None
    loan_change: Loan | None = None  # an existing loan the row changes (bulk path), as prefetched
    changes: Counter = field(default_factory=Counter)

    @property
    def outcome(self) -> str:
        if self.changes["loans_created"]:
            return "created"
        return "updated" if sum(self.changes.values()) else "unchanged"


@dataclass
class Pending:
    """Rows whose writes are all creations, waiting to be written together with bulk_create_with_history."""

    plans: list[RowPlan] = field(default_factory=list)
    borrowers: dict[str, Borrower] = field(default_factory=dict)
    phones: dict[PhoneKey, PhoneNumber] = field(default_factory=dict)
    consents: set[ConsentKey] = field(default_factory=set)

    def add(self, plan: RowPlan) -> None:
        self.plans.append(plan)
        if plan.borrower is not None:
            self.borrowers[plan.borrower.borrower_ref] = plan.borrower
        self.phones.update(plan.phones)
        self.consents.update(plan.consents)


@dataclass
class BatchOutcome:
    """What one batch did: row outcomes (rows, created, updated, unchanged, rejected), object counts, the
    rows' errors and the ids created in bulk (for the batch's audit event)."""

    counts: Counter = field(default_factory=Counter)
    objects: Counter = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    created_ids: dict[str, list[int]] = field(default_factory=dict)

    def applied(self, plan: RowPlan) -> None:
        self.counts[plan.outcome] += 1
        self.objects.update(plan.changes)

    def rejected(self, errors: list[RowError]) -> None:
        self.counts["rejected"] += 1
        self.errors.extend(errors)


class BatchWriter:
    """Writes batches of one import run; `actor` (None: a system job) authors the history and the audit."""

    def __init__(self, *, actor: Any, run_id: str) -> None:
        self.actor = actor
        self.reason = f"{IMPORT_REASON} {run_id}"
        # History rows of the bulk path name the user; the services get it from history_user().
        self._history_actor = actor if getattr(actor, "is_authenticated", False) else None
        self._history_user_id = self._history_actor.pk if self._history_actor is not None else None

    def write(self, batch: list[ImportRow | Rejected]) -> BatchOutcome:
        """Write a batch; to be called inside the batch's transaction."""
        outcome = BatchOutcome()
        state = prefetch([item for item in batch if isinstance(item, ImportRow)])
        pending = Pending()
        for item in batch:
            outcome.counts["rows"] += 1
            if isinstance(item, Rejected):
                outcome.rejected(item.errors)
                continue
            try:
                plan = self._plan(item, state, pending)
            except RowRejected as exc:
                outcome.rejected(exc.errors)
                continue
            if plan is not None:
                pending.add(plan)
                continue
            # A row that changes existing data: write what is pending first, so the state it reads is the
            # database's.
            self._write_pending(pending, state, outcome)
            pending = Pending()
            self._write_with_services(item, state, outcome)
        self._write_pending(pending, state, outcome)
        return outcome

    # Bulk path ------------------------------------------------------------------------------------------------

    def _plan(self, row: ImportRow, state: BatchState, pending: Pending) -> RowPlan | None:
        """The objects this row creates and the loan it changes, or None when it changes an existing borrower's
        details (service path). Raises RowRejected for a conflict with the database."""
        plan = RowPlan(row=row)
        borrower = state.borrowers.get(row.borrower_ref) or pending.borrowers.get(row.borrower_ref)
        if borrower is None:
            borrower = new_object(
                Borrower, borrower_ref=row.borrower_ref, full_name=row.full_name, national_id=row.national_id,
                timezone=row.timezone, jurisdiction=row.jurisdiction,
            )
            plan.borrower = borrower
            plan.changes["borrowers_created"] += 1
        elif borrower.pk is not None and _borrower_differs(borrower, row):
            return None

        loan = state.loans.get(row.loan_ref)
        if loan is not None:
            _check_loan_owner(row, loan, borrower)
            if _loan_differs(loan, row) or _reassigns(loan, row):
                plan.loan_change = loan  # counted once written: the locked row decides (_write_loan_changes)

        for p in row.phones:
            key = (row.borrower_ref, p.index)
            phone = state.phones.get(key) or pending.phones.get(key)
            if phone is None:
                phone = new_object(
                    PhoneNumber, {"borrower": borrower}, e164=p.parsed.e164, blind_index=p.index,
                    last_four=p.last_four, region=p.parsed.region, kind=p.parsed.kind, zones=list(p.parsed.zones),
                )
                plan.phones[key] = phone
                plan.changes["phones_added"] += 1
            else:
                _check_not_third_party(row, p, phone)
            if p.consent is None:
                continue
            ckey = _consent_key(key, p.consent)
            if ckey in state.consents or ckey in pending.consents or ckey in plan.consents:
                continue
            plan.consents[ckey] = new_object(
                Consent, {"phone": phone}, allows_call="call" in p.consent.channels,
                allows_sms="sms" in p.consent.channels, basis=p.consent.basis, evidence_ref=p.consent.evidence_ref,
                granted_at=p.consent.granted_at, expires_at=p.consent.expires_at,
            )
            plan.changes["consents_recorded"] += 1

        if loan is None:
            plan.loan = new_object(
                Loan, {"borrower": borrower}, loan_ref=row.loan_ref, principal=row.principal, balance=row.balance,
                currency=row.currency, due_date=row.due_date, status=row.status,
                assigned_collector_id=row.collector.pk if row.collector is not None else None,
            )
            plan.changes["loans_created"] += 1
            if row.collector is not None:
                plan.changes["loans_assigned"] += 1
        return plan

    def _write_pending(self, pending: Pending, state: BatchState, outcome: BatchOutcome) -> None:
        if not pending.plans:
            return
        borrowers = [p.borrower for p in pending.plans if p.borrower is not None]
        phones = [phone for p in pending.plans for phone in p.phones.values()]
        consents = [c for p in pending.plans for c in p.consents.values() if c is not None]
        loans = [p.loan for p in pending.plans if p.loan is not None]
        groups: tuple[tuple[Any, list[Any]], ...] = (
            (Borrower, borrowers), (PhoneNumber, phones), (Consent, consents), (Loan, loans),
        )
        now = timezone.now()
        try:
            with transaction.atomic():
                # Parents first: each INSERT sets the primary keys, which the children's foreign keys take.
                for model, objs in groups:
                    insert_with_history(objs, model, now=now, history_user_id=self._history_user_id,
                                        reason=self.reason)
                changed = self._write_loan_changes([p for p in pending.plans if p.loan_change is not None], now)
                # Bulk writes send no model signals: today's worklists learn of the new loans and consents, and of
                # the loans changed, here.
                worklists_reevaluate_on_commit(
                    {loan.borrower_id for loan in loans} | {phone.borrower_id for phone in phones}
                    | {consent.phone.borrower_id for consent in consents} | {loan.borrower_id for loan in changed}
                )
        except DatabaseError:
            # Rolled back to the savepoint; most likely a concurrent writer created one of these refs since
            # the prefetch. Redo the rows one by one: the services find the new objects or say what is wrong.
            for plan in pending.plans:
                self._write_with_services(plan.row, state, outcome, refetch=True)
            return
        for model, objs in groups:
            if objs:
                outcome.created_ids.setdefault(model._meta.label_lower, []).extend(o.pk for o in objs)
        for plan in pending.plans:
            _merge(state, plan)
            outcome.applied(plan)

    def _write_loan_changes(self, plans: list[RowPlan], now: datetime) -> list[Loan]:
        """The loans these rows change, as loan_upsert and loan_assign would change them: each loan locked and
        compared again (a payment may have changed it since the prefetch), written with one history row, and
        one `loan.updated` event per loan whose amounts, due date or status change and one `loan.assigned` per
        loan given to another collector, with the services' data. Sets plan.loan and counts the changes.
        Returns the loans written."""
        if not plans:
            return []
        # Full rows (history copies every field), locked as loan_upsert locks its loan.
        locked = Loan.objects.select_for_update().in_bulk([p.loan_change.pk for p in plans if p.loan_change])
        written: list[Loan] = []
        fields: set[str] = set()
        entries: list[AuditEntry] = []
        source = self.reason
        for plan in plans:
            row = plan.row
            assert plan.loan_change is not None
            # Loans are never deleted (payments, attempts and plans PROTECT them): the locked row is there.
            loan = plan.loan = locked[plan.loan_change.pk]
            updates = {name: getattr(row, name) for name in LOAN_FIELDS if getattr(loan, name) != getattr(row, name)}
            old_collector = loan.assigned_collector_id
            reassigned = _reassigns(loan, row)
            if not updates and not reassigned:
                continue
            for name, value in updates.items():
                setattr(loan, name, value)
            fields.update(updates)
            if updates:
                plan.changes["loans_updated"] += 1
                entries.append(AuditEntry(
                    action=AuditAction.LOAN_UPDATED, subject=loan,
                    data={"loan_ref": loan.loan_ref, "balance": loan.balance, "currency": loan.currency,
                          "status": loan.status, "source": source},
                ))
            if reassigned:
                loan.assigned_collector = row.collector
                fields.add("assigned_collector")
                plan.changes["loans_assigned"] += 1
                entries.append(AuditEntry(
                    action=AuditAction.LOAN_ASSIGNED, subject=loan,
                    data={"from_user_id": old_collector, "to_user_id": loan.assigned_collector_id, "source": source},
                ))
            loan.updated_at = now  # auto_now: bulk_update does not call pre_save
            written.append(loan)
        if written:
            update_with_history(written, Loan, [*sorted(fields), "updated_at"], now=now,
                                history_user_id=self._history_user_id, reason=self.reason)
            audit_log_bulk(entries=entries, actor=self.actor)
        return written

    # Service path ---------------------------------------------------------------------------------------------

    def _write_with_services(
        self, row: ImportRow, state: BatchState, outcome: BatchOutcome, *, refetch: bool = False
    ) -> None:
        try:
            with transaction.atomic():  # the row's savepoint: a failing row writes nothing
                if refetch:
                    fresh = prefetch([row])
                    state.borrowers.update(fresh.borrowers)
                    state.loans.update(fresh.loans)
                    state.phones.update(fresh.phones)
                    state.consents.update(fresh.consents)
                plan = self._apply(row, state)
        except RowRejected as exc:
            outcome.rejected(exc.errors)
            return
        except ValidationError as exc:
            outcome.rejected(_errors_from(exc, row, {}, ROW))
            return
        except DatabaseError:
            # The database refused the row (a constraint, a value too long for the column). Its message may
            # quote values, so it is not shown; the row's savepoint has rolled back.
            outcome.rejected([RowError(row.line, ROW, _("The database refused this row."))])
            return
        _merge(state, plan)
        outcome.applied(plan)

    def _apply(self, row: ImportRow, state: BatchState) -> RowPlan:
        """Write one row through the services (history and an audit event per object, as the API does)."""
        plan = RowPlan(row=row)
        actor = self.actor
        reason = self.reason

        borrower = state.borrowers.get(row.borrower_ref)
        if borrower is None or _borrower_differs(borrower, row):
            borrower, created = _call(
                row, {"timezone_name": "timezone"}, "borrower_ref", borrower_upsert,
                borrower_ref=row.borrower_ref, full_name=row.full_name, national_id=row.national_id,
                timezone_name=row.timezone, jurisdiction=row.jurisdiction, actor=actor, reason=reason,
            )
            plan.borrower = borrower
            plan.changes["borrowers_created" if created else "borrowers_updated"] += 1

        for p in row.phones:
            key = (row.borrower_ref, p.index)
            phone = state.phones.get(key)
            if phone is None:
                phone, _created = _call(
                    row, {}, p.column, phone_add, borrower=borrower,
                    phone=PhoneInput(number=p.parsed.e164, region=p.parsed.region), actor=actor, field_name=p.column,
                )
                plan.phones[key] = phone
                plan.changes["phones_added"] += 1
            else:
                _check_not_third_party(row, p, phone)
            if p.consent is None:
                continue
            ckey = _consent_key(key, p.consent)
            if ckey in state.consents or ckey in plan.consents:
                continue
            phone.borrower = borrower  # consent_grant reads borrower_ref for its audit event: no extra query
            _call(
                row,
                {"channels": f"{p.column}_consent_channels", "basis": f"{p.column}_consent_basis",
                 "evidence_ref": f"{p.column}_consent_evidence", "granted_at": f"{p.column}_consent_granted_at",
                 "expires_at": f"{p.column}_consent_expires_at"},
                p.column, consent_grant,
                phone=phone, channels=p.consent.channels, basis=p.consent.basis,
                evidence_ref=p.consent.evidence_ref, granted_at=p.consent.granted_at,
                expires_at=p.consent.expires_at, actor=actor,
            )
            plan.consents[ckey] = None
            plan.changes["consents_recorded"] += 1

        loan = state.loans.get(row.loan_ref)
        if loan is not None:
            _check_loan_owner(row, loan, borrower)
        if loan is None or _loan_differs(loan, row):
            loan, created = _call(
                row, {}, "loan_ref", loan_upsert,
                loan_ref=row.loan_ref, borrower=borrower, principal=row.principal, balance=row.balance,
                currency=row.currency, due_date=row.due_date, status=row.status, actor=actor, reason=reason,
            )
            plan.loan = loan
            plan.changes["loans_created" if created else "loans_updated"] += 1
        if _reassigns(loan, row):
            loan = _call(row, {}, "collector", loan_assign, loan=loan, collector=row.collector, actor=actor,
                         reason=reason)
            plan.loan = loan
            plan.changes["loans_assigned"] += 1
        return plan


def prefetch(rows: list[ImportRow]) -> BatchState:
    """What exists for these rows: one query per kind of object."""
    borrowers = {
        b.borrower_ref: b for b in Borrower.objects.filter(borrower_ref__in={r.borrower_ref for r in rows})
    }
    loans = {
        loan.loan_ref: loan
        for loan in Loan.objects.filter(loan_ref__in={r.loan_ref for r in rows}).only(
            "id", "loan_ref", "borrower_id", "principal", "balance", "currency", "due_date", "status",
            "assigned_collector_id",
        )
    }
    phones: dict[PhoneKey, PhoneNumber] = {}
    consents: set[ConsentKey] = set()
    indexes = {p.index for r in rows for p in r.phones}
    if borrowers and indexes:
        refs = {b.pk: ref for ref, b in borrowers.items()}
        # Only the columns the importer reads: the encrypted number is never needed (no decryption). By borrower
        # only, the indexes kept here: `borrower IN (...) AND blind_index IN (...)` makes SQLite probe the unique
        # (borrower, blind_index) index for every pair, 250,000 probes for a batch of 500 rows.
        for phone in PhoneNumber.objects.filter(borrower_id__in=refs).only(
            "id", "borrower_id", "third_party_id", "blind_index"
        ):
            if phone.blind_index in indexes:
                phones[(refs[phone.borrower_id], phone.blind_index)] = phone
        if phones:
            by_id = {phone.pk: key for key, phone in phones.items()}
            consents = {
                (*by_id[phone_id], evidence, granted)
                for phone_id, evidence, granted in Consent.objects.filter(phone_id__in=by_id).values_list(
                    "phone_id", "evidence_ref", "granted_at"
                )
            }
    return BatchState(borrowers=borrowers, loans=loans, phones=phones, consents=consents)


# The checks both paths apply ------------------------------------------------------------------------------------

def _borrower_differs(borrower: Borrower, row: ImportRow) -> bool:
    return (
        borrower.full_name != row.full_name or borrower.national_id != row.national_id
        or borrower.timezone != row.timezone or borrower.jurisdiction != row.jurisdiction
    )


def _loan_differs(loan: Loan, row: ImportRow) -> bool:
    return (
        loan.principal != row.principal or loan.balance != row.balance or loan.currency != row.currency
        or loan.due_date != row.due_date or loan.status != row.status
    )


def _reassigns(loan: Loan, row: ImportRow) -> bool:
    """Does the row assign the loan to another collector? (An empty collector column leaves it as it is.)"""
    return row.collector is not None and loan.assigned_collector_id != row.collector.pk


def _check_loan_owner(row: ImportRow, loan: Loan, borrower: Borrower) -> None:
    if borrower.pk is None or loan.borrower_id != borrower.pk:
        raise RowRejected([RowError(row.line, "loan_ref", str(OTHER_BORROWERS_LOAN))])


def _check_not_third_party(row: ImportRow, p: PhoneRow, phone: PhoneNumber) -> None:
    if phone.third_party_id is not None:
        raise RowRejected([RowError(row.line, p.column, _(
            "This number is recorded for one of the borrower's third-party contacts."
        ))])


def _consent_key(key: PhoneKey, consent: ConsentRow) -> ConsentKey:
    # Recorded once per (number, evidence, grant time): a re-run, or an old file sent again after the
    # borrower withdrew, must never record (or revive) the same consent twice.
    return (*key, consent.evidence_ref, consent.granted_at)


def _merge(state: BatchState, plan: RowPlan) -> None:
    if plan.borrower is not None:
        state.borrowers[plan.borrower.borrower_ref] = plan.borrower
    if plan.loan is not None:
        state.loans[plan.loan.loan_ref] = plan.loan
    state.phones.update(plan.phones)
    state.consents.update(plan.consents)


def _call(row: ImportRow, columns: dict[str, str], default: str, service: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a service; its ValidationError becomes the row's errors, keyed by CSV column."""
    try:
        return service(**kwargs)
    except ValidationError as exc:
        raise RowRejected(_errors_from(exc, row, columns, default)) from exc


def _errors_from(exc: ValidationError, row: ImportRow, columns: dict[str, str], default: str) -> list[RowError]:
    known = set(BORROWER_COLUMNS + LOAN_COLUMNS)
    items = exc.message_dict.items() if hasattr(exc, "error_dict") else [(default, exc.messages)]
    errors = []
    for key, messages in items:
        column = columns.get(key) or (key if key in known else default)
        for message in messages:
            # Defence in depth: the pre-validation makes service errors rare, and services do not echo
            # values, but a model validator might; a message quoting the row's personal data is replaced.
            if any(len(value) >= 3 and value in message for value in row.pii):
                message = _("Invalid value.")
            errors.append(RowError(row.line, column, message))
    return errors or [RowError(row.line, default, _("Invalid value."))]
