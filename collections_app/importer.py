"""CSV import of borrowers, their numbers and consents, and loans (format: docs/import-format.md).

The import streams: rows are read one at a time with the `csv` module, validated without touching the
database, and written in batches (one transaction per batch), so memory stays flat whatever the file size. The
refs already met in the file are kept in a throwaway SQLite file, not in memory. A bad row writes nothing (the
good rows around it are imported) and is reported by line, column and reason.

Per batch, one query per kind of object loads what exists; rows that only create objects are then written with
bulk_create_with_history (history rows included; the batch's `import.run` audit event lists the ids created),
rows that change existing data go through the services one by one, each in its own savepoint. Rows that would
change nothing cost no write at all, so re-running a file is a no-op.

Error messages never contain the row's values: a row carries names, national ids and numbers, and import
output ends up in terminals, CI logs and tickets.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from difflib import get_close_matches
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

import phonenumbers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history

from audit_app.models import AuditAction
from audit_app.services import audit_log
from collections_app.amounts import parse_amount
from collections_app.loans.services import loan_assign, loan_upsert
from consent_app.models import JURISDICTION_REGIONS, Borrower, Consent, ConsentBasis, Jurisdiction, PhoneNumber
from consent_app.phones import ParsedNumber, blind_index, parse_number
from consent_app.services import PhoneInput, borrower_upsert, consent_grant, phone_add
from consent_app.validators import validate_timezone

from .models import CURRENCY_DECIMALS, Loan, LoanStatus
from .permissions import is_collector

IMPORT_REASON = "csv import"
DEFAULT_BATCH_SIZE = 500
MAX_PHONES = 5
GRANT_CLOCK_SKEW = timedelta(minutes=5)  # as consent_grant allows
BULK_SIZE = 500  # objects per INSERT statement in the bulk path
OTHER_BORROWERS_LOAN = _lazy("This loan_ref is recorded for another borrower.")
# Decoding runs ahead in blocks: the bad byte is at or somewhat after the line named.
NOT_UTF8 = _lazy(
    "The file is not valid UTF-8 (at or after line %(line)d; rows before that line were imported). Save it as "
    "UTF-8: GBK/GB18030 exports are not accepted."
)
ROW = "(row)"  # the "column" of an error about the row as a whole (wrong number of fields, broken quoting)

BORROWER_COLUMNS = ("borrower_ref", "full_name", "national_id", "timezone", "jurisdiction")
LOAN_COLUMNS = ("loan_ref", "principal", "balance", "currency", "due_date", "status", "collector")
REQUIRED_COLUMNS = frozenset(
    {"borrower_ref", "full_name", "jurisdiction", "loan_ref", "principal", "balance", "currency", "due_date"}
)
PHONE_SUFFIXES = (
    "", "_region", "_consent_channels", "_consent_basis", "_consent_evidence", "_consent_granted_at",
    "_consent_expires_at",
)
_PHONE_COLUMN = re.compile(r"^phone_(\d+)")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")  # consent_app.models.ref_validator
KNOWN_COLUMNS = frozenset(
    BORROWER_COLUMNS + LOAN_COLUMNS + tuple(f"phone_{n}{s}" for n in range(1, MAX_PHONES + 1) for s in PHONE_SUFFIXES)
)
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")  # the sign is let through for parse_amount's own message
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REGION_ALIASES = {"UK": "GB"}  # the jurisdiction is spelt UK, the ISO 3166 region code is GB


class ImportFileError(Exception):
    """The file as a whole cannot be read (no header, unknown columns, not UTF-8). The message holds no data."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


class RowRejected(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


@dataclass(frozen=True)
class ConsentRow:
    channels: tuple[str, ...]
    basis: str
    evidence_ref: str
    granted_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class PhoneRow:
    column: str  # "phone_1": where errors about this number are reported
    parsed: ParsedNumber
    index: str  # blind index of parsed.e164
    consent: ConsentRow | None


@dataclass(frozen=True)
class ImportRow:
    line: int
    borrower_ref: str
    full_name: str
    national_id: str
    timezone: str
    jurisdiction: str
    phones: tuple[PhoneRow, ...]
    loan_ref: str
    principal: Decimal
    balance: Decimal
    currency: str
    due_date: date
    status: str
    collector: Any  # a collector user, or None: leave the assignment as it is
    fingerprint: int  # hash() of the borrower columns: a repeated borrower_ref must repeat them exactly
    pii: tuple[str, ...]  # the row's personal data, to scrub from any message a service might echo


@dataclass(frozen=True)
class Rejected:
    line: int
    errors: list[RowError]


@dataclass
class ImportResult:
    run_id: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    batches: int = 0
    objects: Counter = field(default_factory=Counter)  # borrowers_created, phones_added, consents_recorded, ...


@contextmanager
def history_user(actor: Any) -> Iterator[None]:
    """Attribute django-simple-history rows to `actor` outside a request (what HistoryRequestMiddleware does
    for views): the services set no `_history_user`, so history reads the user from this context."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        yield
        return
    HistoricalRecords.context.request = SimpleNamespace(user=actor)
    try:
        yield
    finally:
        with suppress(AttributeError):
            del HistoricalRecords.context.request


PhoneKey = tuple[str, str]  # (borrower_ref, blind index)
ConsentKey = tuple[str, str, str, datetime]  # (borrower_ref, blind index, evidence ref, granted at)


@dataclass
class _BatchState:
    """What the database holds for the refs of one batch, loaded in one query per kind and kept current as
    rows are applied. Keys use refs, not primary keys, so that objects still to be created fit in too."""

    borrowers: dict[str, Borrower]
    loans: dict[str, Loan]
    phones: dict[PhoneKey, PhoneNumber]
    consents: set[ConsentKey]


@dataclass
class _RowPlan:
    """The objects one row creates (bulk path), or created/changed (service path). Merged into the batch
    state only once the row is safely written, so a rejected row leaves no trace in the state either."""

    row: ImportRow
    borrower: Borrower | None = None
    phones: dict[PhoneKey, PhoneNumber] = field(default_factory=dict)
    consents: dict[ConsentKey, Consent | None] = field(default_factory=dict)
    loan: Loan | None = None
    changes: Counter = field(default_factory=Counter)

    @property
    def outcome(self) -> str:
        if self.changes["loans_created"]:
            return "created"
        return "updated" if sum(self.changes.values()) else "unchanged"


@dataclass
class _Pending:
    """Rows whose writes are all creations, waiting to be written together with bulk_create_with_history."""

    plans: list[_RowPlan] = field(default_factory=list)
    borrowers: dict[str, Borrower] = field(default_factory=dict)
    phones: dict[PhoneKey, PhoneNumber] = field(default_factory=dict)
    consents: set[ConsentKey] = field(default_factory=set)


class _SeenRefs:
    """The borrower_refs and loan_refs met so far in the file, with the line they first appear on, kept in a
    throwaway SQLite file rather than in memory: memory stays flat whatever the file's size. It holds refs,
    line numbers and a process-salted hash() of the borrower columns, never the values themselves."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="import-refs-")
        self._db = sqlite3.connect(Path(self._dir.name) / "refs.sqlite3")
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE borrower (ref TEXT PRIMARY KEY, line INTEGER, fingerprint INTEGER) WITHOUT ROWID;"
            "CREATE TABLE loan (ref TEXT PRIMARY KEY, line INTEGER, borrower_ref TEXT) WITHOUT ROWID;"
        )

    def _get(self, sql: str, refs: set[str]) -> dict[str, tuple[Any, Any]]:
        found: dict[str, tuple[Any, Any]] = {}
        refs_list = list(refs)
        for start in range(0, len(refs_list), 900):  # SQLite's historical limit of 999 parameters
            chunk = refs_list[start:start + 900]
            marks = ",".join("?" * len(chunk))
            found.update((ref, (a, b)) for ref, a, b in self._db.execute(sql.format(marks), chunk))
        return found

    def borrowers(self, refs: set[str]) -> dict[str, tuple[int, int]]:
        return self._get("SELECT ref, line, fingerprint FROM borrower WHERE ref IN ({})", refs)

    def loans(self, refs: set[str]) -> dict[str, tuple[int, str]]:
        return self._get("SELECT ref, line, borrower_ref FROM loan WHERE ref IN ({})", refs)

    def add(self, borrowers: list[tuple[str, int, int]], loans: list[tuple[str, int, str]]) -> None:
        self._db.executemany("INSERT INTO borrower VALUES (?, ?, ?)", borrowers)
        self._db.executemany("INSERT INTO loan VALUES (?, ?, ?)", loans)
        self._db.commit()  # lets SQLite write the pages out: its page cache, not this process, holds the refs

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()


class LoanImporter:
    """Import one CSV stream. `on_error` receives every RowError, in line order, as batches are applied."""

    def __init__(
        self,
        *,
        actor: Any = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_error: Callable[[RowError], None] = lambda error: None,
        dry_run: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.actor = actor
        self.batch_size = batch_size
        self.on_error = on_error
        self.dry_run = dry_run
        self.result = ImportResult(run_id=uuid.uuid4().hex[:12])
        self._header: list[str] = []
        self._slots: list[int] = []
        self._seen: _SeenRefs  # opened by run()
        self._collectors: dict[str, Any] = {}
        self._created: dict[str, list[int]] = {}  # ids created in bulk in the current batch, for its audit event
        # History rows name the user (None: a system job); services get it from history_user() below.
        self._history_actor = actor if getattr(actor, "is_authenticated", False) else None

    # Reading ------------------------------------------------------------------------------------------------

    def run(self, stream: TextIO) -> ImportResult:
        self._seen = _SeenRefs()
        try:
            with history_user(self.actor):
                self._run(stream)
        finally:
            self._seen.close()
        return self.result

    def _run(self, stream: TextIO) -> None:
        reader = csv.reader(stream)
        batch: list[ImportRow | Rejected] = []
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFileError(_("The file is empty: a header row is expected on line 1.")) from None
        except UnicodeDecodeError as exc:
            raise ImportFileError(NOT_UTF8 % {"line": 1}) from exc
        except csv.Error as exc:
            raise ImportFileError(_("Line 1: the header row cannot be read as CSV.")) from exc
        self._read_header(header)
        end_of_previous = reader.line_num
        while True:
            line = end_of_previous + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                # Keep what was read so far: those rows are complete and valid on their own.
                self._flush(batch)
                raise ImportFileError(NOT_UTF8 % {"line": line}) from exc
            except csv.Error:
                end_of_previous = reader.line_num
                batch.append(Rejected(line, [RowError(line, ROW, _("The row cannot be read as CSV."))]))
            else:
                end_of_previous = reader.line_num
                if not any(v.strip() for v in values):
                    continue  # blank lines are allowed (editors add them at the end)
                batch.append(self._parse(values, line))
            if len(batch) >= self.batch_size:
                self._flush(batch)
                batch = []
        self._flush(batch)

    def _read_header(self, header: list[str]) -> None:
        names = [h.strip().lower() for h in header]
        if names and names[0].startswith("\ufeff"):
            names[0] = names[0][1:]
        unknown = [_column_label(n, i) for i, n in enumerate(names, 1) if n not in KNOWN_COLUMNS]
        if unknown:
            # A typo in a header would otherwise silently drop a column (e.g. a consent) for the whole file.
            raise ImportFileError(_("Line 1: unknown columns: %(cols)s.") % {"cols": "; ".join(unknown[:10])})
        duplicates = [_column_label(n, i) for i, n in enumerate(names, 1) if names.index(n) != i - 1]
        if duplicates:
            raise ImportFileError(_("Line 1: repeated columns: %(cols)s.") % {"cols": ", ".join(duplicates)})
        missing = sorted(REQUIRED_COLUMNS - set(names))
        if missing:
            raise ImportFileError(_("Line 1: missing columns: %(cols)s.") % {"cols": ", ".join(missing)})
        slots = sorted({int(m.group(1)) for n in names if (m := _PHONE_COLUMN.match(n))})
        for slot in slots:
            if f"phone_{slot}" not in names:
                raise ImportFileError(_("Line 1: phone_%(n)d columns without a phone_%(n)d column.") % {"n": slot})
        self._header = names
        self._slots = slots

    # Validation (no writes) ---------------------------------------------------------------------------------

    def _parse(self, values: list[str], line: int) -> ImportRow | Rejected:
        if len(values) != len(self._header):
            return Rejected(line, [RowError(
                line, ROW,
                _("Expected %(n)d fields, found %(m)d.") % {"n": len(self._header), "m": len(values)},
            )])
        raw = dict(zip(self._header, (v.strip() for v in values), strict=True))
        errors: list[RowError] = []

        def error(column: str, reason: str) -> None:
            errors.append(RowError(line, column, reason))

        def get(column: str) -> str:
            return raw.get(column, "")

        borrower_ref = get("borrower_ref")
        if not borrower_ref:
            error("borrower_ref", _("Required."))
        elif not _REF.match(borrower_ref):
            error("borrower_ref", _("Use 1 to 64 letters, digits and . _ : - (starting with a letter or digit)."))
        full_name = get("full_name")
        if not full_name:
            error("full_name", _("Required."))
        elif len(full_name) > 200:
            error("full_name", _("At most 200 characters."))
        national_id = get("national_id")
        if len(national_id) > 64:
            error("national_id", _("At most 64 characters."))
        zone = get("timezone")
        if zone:
            try:
                validate_timezone(zone)
            except ValidationError:
                error("timezone", _("Unknown time zone: use an IANA name such as Asia/Shanghai."))
        jurisdiction = get("jurisdiction").upper()
        if jurisdiction not in Jurisdiction.values:
            error("jurisdiction", _("Required: one of %(values)s.") % {"values": ", ".join(Jurisdiction.values)})
            jurisdiction = ""

        phones = self._parse_phones(get, jurisdiction, error)

        loan_ref = get("loan_ref")
        if not loan_ref:
            error("loan_ref", _("Required."))
        elif not _REF.match(loan_ref):
            error("loan_ref", _("Use 1 to 64 letters, digits and . _ : - (starting with a letter or digit)."))
        currency = get("currency").upper()
        amounts: dict[str, Decimal] = {}
        if currency not in CURRENCY_DECIMALS:
            error("currency", _("Required: one of %(values)s.") % {"values": ", ".join(CURRENCY_DECIMALS)})
        else:
            for column in ("principal", "balance"):
                if not get(column):
                    error(column, _("Required."))
                    continue
                if not _AMOUNT.match(get(column)):
                    error(column, _("Not an amount: digits with '.' for decimals, e.g. 1234.50."))
                    continue
                try:
                    amounts[column] = parse_amount(get(column), currency=currency, field_name=column)
                except ValidationError as exc:
                    for message in exc.message_dict.get(column, exc.messages):
                        error(column, message)
        due_date = _parse_date(get("due_date"), "due_date", error, required=True)
        status = get("status").lower() or LoanStatus.ACTIVE
        if status not in LoanStatus.values:
            error("status", _("One of %(values)s (empty: active).") % {"values": ", ".join(LoanStatus.values)})
        collector = None
        if get("collector"):
            collector = self._collector(get("collector"))
            if collector is None:
                error("collector", _("No collector with this username."))

        if errors:
            return Rejected(line, errors)
        assert due_date is not None
        return ImportRow(
            line=line, borrower_ref=borrower_ref, full_name=full_name, national_id=national_id, timezone=zone,
            jurisdiction=jurisdiction, phones=tuple(phones), loan_ref=loan_ref, principal=amounts["principal"],
            balance=amounts["balance"], currency=currency, due_date=due_date, status=status, collector=collector,
            fingerprint=hash((full_name, national_id, zone, jurisdiction)),
            pii=tuple(v for v in (full_name, national_id, *(p.parsed.e164 for p in phones),
                                  *(get(f"phone_{s}") for s in self._slots)) if v),
        )

    def _parse_phones(
        self, get: Callable[[str], str], jurisdiction: str, error: Callable[[str, str], None]
    ) -> list[PhoneRow]:
        phones: list[PhoneRow] = []
        seen: dict[str, str] = {}
        for slot in self._slots:
            column = f"phone_{slot}"
            number = get(column)
            region_column = f"{column}_region"
            region = get(region_column).upper()
            region = _REGION_ALIASES.get(region, region)
            if region and region not in phonenumbers.SUPPORTED_REGIONS:
                error(region_column, _("Unknown region: use an ISO 3166 code such as CN, US or GB."))
                continue
            consent = self._parse_consent(get, column, error)
            if not number:
                if region or consent is not None or any(get(f"{column}{s}") for s in PHONE_SUFFIXES[2:]):
                    error(column, _("Required when the other %(col)s columns are filled.") % {"col": column})
                continue
            hint = region or JURISDICTION_REGIONS.get(jurisdiction)
            if hint is None and not number.startswith(("+", "00")):
                continue  # no region to read it in: the jurisdiction error already explains the row
            try:
                parsed = parse_number(number, hint)
            except ValidationError as exc:
                error(column, exc.messages[0])  # parse_number never echoes the number
                continue
            if len(parsed.region) != 2:
                # +800 and other non-geographic numbers: no region, no time zone, no contact-hour rule.
                error(column, _("Not a number of a country or region."))
                continue
            if region and parsed.region != region:
                error(column, _("The number does not belong to the region in %(col)s.") % {"col": region_column})
                continue
            if parsed.e164 in seen:
                error(column, _("Same number as %(col)s.") % {"col": seen[parsed.e164]})
                continue
            seen[parsed.e164] = column
            phones.append(PhoneRow(column=column, parsed=parsed, index=blind_index(parsed.e164), consent=consent))
        return phones

    def _parse_consent(
        self, get: Callable[[str], str], column: str, report: Callable[[str, str], None]
    ) -> ConsentRow | None:
        """The consent given with number `column`, None when there is none (or it has errors, reported)."""
        failed: list[str] = []

        def error(col: str, reason: str) -> None:
            failed.append(col)
            report(col, reason)

        channels_raw = get(f"{column}_consent_channels").lower()
        others = {s: get(f"{column}{s}") for s in PHONE_SUFFIXES[3:]}
        if not channels_raw:
            for suffix, value in others.items():
                if value:
                    error(f"{column}{suffix}", _("Given without %(col)s_consent_channels.") % {"col": column})
            return None
        channels = tuple(sorted({c.strip() for c in re.split(r"[;,]", channels_raw) if c.strip()}))
        if not channels or set(channels) - {"call", "sms"}:
            error(f"{column}_consent_channels", _("One or both of call, sms, separated by ';'."))
        basis = others["_consent_basis"].lower()
        if basis not in ConsentBasis.values:
            error(f"{column}_consent_basis", _("Required with a consent: one of %(values)s.")
                  % {"values": ", ".join(ConsentBasis.values)})
        evidence = others["_consent_evidence"]
        if not evidence:
            error(f"{column}_consent_evidence", _("Required with a consent."))
        elif len(evidence) > 200:
            error(f"{column}_consent_evidence", _("At most 200 characters."))
        granted_at = _parse_instant(others["_consent_granted_at"], f"{column}_consent_granted_at", error,
                                    required=True)
        expires_at = _parse_instant(others["_consent_expires_at"], f"{column}_consent_expires_at", error,
                                    required=False)
        if granted_at and expires_at and expires_at <= granted_at:
            error(f"{column}_consent_expires_at", _("Must be after the grant."))
        # consent_grant's rule, checked here too because new consents are written in bulk.
        if granted_at and granted_at > timezone.now() + GRANT_CLOCK_SKEW:
            error(f"{column}_consent_granted_at", _("A consent cannot be granted in the future."))
        if failed or granted_at is None:
            return None
        return ConsentRow(channels=channels, basis=basis, evidence_ref=evidence, granted_at=granted_at,
                          expires_at=expires_at)

    def _check_repeats(self, batch: list[ImportRow | Rejected]) -> list[ImportRow | Rejected]:
        """A borrower_ref may repeat (one row per loan) with the same borrower details; a loan_ref may not: two
        rows for one loan, or one borrower with two sets of details, would make every re-run flip the data
        back and forth (and write history each time). Checked against every earlier row of the file."""
        rows = [item for item in batch if isinstance(item, ImportRow)]
        borrowers = self._seen.borrowers({r.borrower_ref for r in rows})
        loans = self._seen.loans({r.loan_ref for r in rows})
        new_borrowers: list[tuple[str, int, int]] = []
        new_loans: list[tuple[str, int, str]] = []
        checked: list[ImportRow | Rejected] = []
        for item in batch:
            if isinstance(item, Rejected):
                checked.append(item)
                continue
            errors = []
            first_borrower = borrowers.get(item.borrower_ref)
            first_loan = loans.get(item.loan_ref)
            if first_borrower is not None and first_borrower[1] != item.fingerprint:
                errors.append(RowError(item.line, "borrower_ref", _(
                    "full_name, national_id, timezone and jurisdiction differ from line %(line)d, where this "
                    "borrower_ref first appears."
                ) % {"line": first_borrower[0]}))
            if first_loan is not None:
                if first_loan[1] != item.borrower_ref:
                    reason = _("Already used on line %(line)d for another borrower_ref.")
                else:
                    reason = _("Repeated: this loan_ref is already on line %(line)d.")
                errors.append(RowError(item.line, "loan_ref", reason % {"line": first_loan[0]}))
            if errors:
                checked.append(Rejected(item.line, errors))
                continue
            if first_borrower is None:
                borrowers[item.borrower_ref] = (item.line, item.fingerprint)
                new_borrowers.append((item.borrower_ref, item.line, item.fingerprint))
            loans[item.loan_ref] = (item.line, item.borrower_ref)
            new_loans.append((item.loan_ref, item.line, item.borrower_ref))
            checked.append(item)
        self._seen.add(new_borrowers, new_loans)
        return checked

    def _collector(self, username: str) -> Any:
        """The collector user for a username, or None; one query per distinct username per run."""
        if username not in self._collectors:
            user = get_user_model().objects.filter(username=username, is_active=True).first()
            self._collectors[username] = user if user is not None and is_collector(user) else None
        return self._collectors[username]

    # Writing ------------------------------------------------------------------------------------------------
    #
    # Two paths. Rows that only create objects (a first import, new numbers, new consents, new loans) are
    # written together with bulk_create_with_history: one INSERT per model and batch, history rows included,
    # and the batch's audit event lists every id created. A service call per object would cost ~60 queries a
    # row (each audit event is a chained, serialised append), i.e. hours for 100,000 rows. Rows that change
    # an existing borrower or loan go through the services one by one, in their own savepoint, exactly as the
    # API would. The import's own validation mirrors every model rule (the database constraints are the
    # backstop): should a bulk write fail anyway, its rows are redone one by one through the services, which
    # report the offending row precisely.

    def _flush(self, batch: list[ImportRow | Rejected]) -> None:
        if not batch:
            return
        batch = self._check_repeats(batch)
        counts: Counter = Counter()
        errors: list[RowError] = []
        self._created = {}
        objects: Counter = Counter()
        with transaction.atomic():
            state = self._prefetch([item for item in batch if isinstance(item, ImportRow)])
            pending = _Pending()
            for item in batch:
                counts["rows"] += 1
                if isinstance(item, Rejected):
                    counts["rejected"] += 1
                    errors.extend(item.errors)
                    continue
                try:
                    plan = self._plan(item, state, pending)
                except RowRejected as exc:
                    counts["rejected"] += 1
                    errors.extend(exc.errors)
                    continue
                if plan is not None:
                    pending.plans.append(plan)
                    pending.borrowers.update({plan.borrower.borrower_ref: plan.borrower} if plan.borrower else {})
                    pending.phones.update(plan.phones)
                    pending.consents.update(plan.consents)
                    continue
                # A row that changes existing data: write what is pending first, so the state it reads is
                # the database's.
                self._write_pending(pending, state, counts, objects, errors)
                pending = _Pending()
                self._write_with_services(item, state, counts, objects, errors)
            self._write_pending(pending, state, counts, objects, errors)
            self.result.batches += 1
            audit_log(
                action=AuditAction.IMPORT_RUN, subject_type="collections_app.import", subject_id=self.result.run_id,
                actor=self.actor,
                # Counts, line numbers and ids only: the audit log never holds personal data.
                data={"batch": self.result.batches, "first_line": batch[0].line, "last_line": batch[-1].line,
                      "rows": counts["rows"], "created": counts["created"], "updated": counts["updated"],
                      "unchanged": counts["unchanged"], "rejected": counts["rejected"], "objects": dict(objects),
                      "created_ids": self._created, "dry_run": self.dry_run},
            )
            if self.dry_run:
                transaction.set_rollback(True)
        for error in sorted(errors, key=lambda e: e.line):  # the service path may report out of order
            self.on_error(error)
        r = self.result
        r.rows += counts["rows"]
        r.created += counts["created"]
        r.updated += counts["updated"]
        r.unchanged += counts["unchanged"]
        r.rejected += counts["rejected"]
        r.objects.update(objects)

    def _prefetch(self, rows: list[ImportRow]) -> _BatchState:
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
            # Only the columns the importer reads: the encrypted number is never needed (no decryption).
            for phone in PhoneNumber.objects.filter(borrower_id__in=refs, blind_index__in=indexes).only(
                "id", "borrower_id", "third_party_id", "blind_index"
            ):
                phones[(refs[phone.borrower_id], phone.blind_index)] = phone
            if phones:
                by_id = {phone.pk: key for key, phone in phones.items()}
                consents = {
                    (*by_id[phone_id], evidence, granted)
                    for phone_id, evidence, granted in Consent.objects.filter(phone_id__in=by_id).values_list(
                        "phone_id", "evidence_ref", "granted_at"
                    )
                }
        return _BatchState(borrowers=borrowers, loans=loans, phones=phones, consents=consents)

    @staticmethod
    def _borrower_differs(borrower: Borrower, row: ImportRow) -> bool:
        return (
            borrower.full_name != row.full_name or borrower.national_id != row.national_id
            or borrower.timezone != row.timezone or borrower.jurisdiction != row.jurisdiction
        )

    @staticmethod
    def _loan_differs(loan: Loan, row: ImportRow) -> bool:
        return (
            loan.principal != row.principal or loan.balance != row.balance or loan.currency != row.currency
            or loan.due_date != row.due_date or loan.status != row.status
        )

    def _plan(self, row: ImportRow, state: _BatchState, pending: _Pending) -> _RowPlan | None:
        """The objects this row creates, or None when it changes an existing borrower or loan (service path).
        Raises RowRejected for a conflict with the database."""
        plan = _RowPlan(row=row)
        borrower = state.borrowers.get(row.borrower_ref) or pending.borrowers.get(row.borrower_ref)
        if borrower is None:
            borrower = Borrower(
                borrower_ref=row.borrower_ref, full_name=row.full_name, national_id=row.national_id,
                timezone=row.timezone, jurisdiction=row.jurisdiction,
            )
            plan.borrower = borrower
            plan.changes["borrowers_created"] += 1
        elif borrower.pk is not None and self._borrower_differs(borrower, row):
            return None

        loan = state.loans.get(row.loan_ref)
        if loan is not None:
            if borrower.pk is None or loan.borrower_id != borrower.pk:
                raise RowRejected([RowError(row.line, "loan_ref", str(OTHER_BORROWERS_LOAN))])
            if self._loan_differs(loan, row) or (
                row.collector is not None and loan.assigned_collector_id != row.collector.pk
            ):
                return None

        for p in row.phones:
            key = (row.borrower_ref, p.index)
            phone = state.phones.get(key) or pending.phones.get(key)
            if phone is None:
                phone = PhoneNumber(
                    borrower=borrower, e164=p.parsed.e164, blind_index=p.index, region=p.parsed.region,
                    kind=p.parsed.kind, zones=list(p.parsed.zones),
                )
                plan.phones[key] = phone
                plan.changes["phones_added"] += 1
            elif phone.third_party_id is not None:
                raise RowRejected([RowError(row.line, p.column, _(
                    "This number is recorded for one of the borrower's third-party contacts."
                ))])
            if p.consent is None:
                continue
            ckey = (*key, p.consent.evidence_ref, p.consent.granted_at)
            # Recorded once per (number, evidence, grant time): a re-run, or an old file sent again after the
            # borrower withdrew, must never record (or revive) the same consent twice.
            if ckey in state.consents or ckey in pending.consents or ckey in plan.consents:
                continue
            plan.consents[ckey] = Consent(
                phone=phone, allows_call="call" in p.consent.channels, allows_sms="sms" in p.consent.channels,
                basis=p.consent.basis, evidence_ref=p.consent.evidence_ref, granted_at=p.consent.granted_at,
                expires_at=p.consent.expires_at,
            )
            plan.changes["consents_recorded"] += 1

        if loan is None:
            plan.loan = Loan(
                loan_ref=row.loan_ref, borrower=borrower, principal=row.principal, balance=row.balance,
                currency=row.currency, due_date=row.due_date, status=row.status, assigned_collector=row.collector,
            )
            plan.changes["loans_created"] += 1
            if row.collector is not None:
                plan.changes["loans_assigned"] += 1
        return plan

    def _write_pending(
        self, pending: _Pending, state: _BatchState, counts: Counter, objects: Counter, errors: list[RowError]
    ) -> None:
        if not pending.plans:
            return
        borrowers = [p.borrower for p in pending.plans if p.borrower is not None]
        phones = [phone for p in pending.plans for phone in p.phones.values()]
        consents = [c for p in pending.plans for c in p.consents.values() if c is not None]
        loans = [p.loan for p in pending.plans if p.loan is not None]
        reason = f"{IMPORT_REASON} {self.result.run_id}"
        groups = ((Borrower, borrowers), (PhoneNumber, phones), (Consent, consents), (Loan, loans))
        try:
            with transaction.atomic():
                # Parents first: bulk_create sets the primary keys, which the children's foreign keys take.
                for model, objs in groups:
                    if objs:
                        bulk_create_with_history(
                            objs, model, batch_size=BULK_SIZE, default_user=self._history_actor,
                            default_change_reason=reason,
                        )
        except DatabaseError:
            # Rolled back to the savepoint; most likely a concurrent writer created one of these refs since
            # the prefetch. Redo the rows one by one: the services find the new objects or say what is wrong.
            for plan in pending.plans:
                self._write_with_services(plan.row, state, counts, objects, errors, refetch=True)
            return
        for model, objs in groups:
            if objs:
                self._created.setdefault(model._meta.label_lower, []).extend(o.pk for o in objs)
        for plan in pending.plans:
            self._merge(state, plan)
            counts[plan.outcome] += 1
            objects.update(plan.changes)

    def _write_with_services(
        self, row: ImportRow, state: _BatchState, counts: Counter, objects: Counter, errors: list[RowError],
        *, refetch: bool = False,
    ) -> None:
        try:
            with transaction.atomic():  # the row's savepoint: a failing row writes nothing
                if refetch:
                    fresh = self._prefetch([row])
                    state.borrowers.update(fresh.borrowers)
                    state.loans.update(fresh.loans)
                    state.phones.update(fresh.phones)
                    state.consents.update(fresh.consents)
                plan = self._apply(row, state)
        except RowRejected as exc:
            counts["rejected"] += 1
            errors.extend(exc.errors)
            return
        except ValidationError as exc:
            counts["rejected"] += 1
            errors.extend(self._errors_from(exc, row, {}, ROW))
            return
        except DatabaseError:
            # The database refused the row (a constraint, a value too long for the column). Its message may
            # quote values, so it is not shown; the row's savepoint has rolled back.
            counts["rejected"] += 1
            errors.append(RowError(row.line, ROW, _("The database refused this row.")))
            return
        self._merge(state, plan)
        counts[plan.outcome] += 1
        objects.update(plan.changes)

    def _apply(self, row: ImportRow, state: _BatchState) -> _RowPlan:
        """Write one row through the services (history and an audit event per object, as the API does)."""
        plan = _RowPlan(row=row)
        actor = self.actor
        reason = f"{IMPORT_REASON} {self.result.run_id}"

        borrower = state.borrowers.get(row.borrower_ref)
        if borrower is None or self._borrower_differs(borrower, row):
            borrower, created = self._call(
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
                phone, _created = self._call(
                    row, {}, p.column, phone_add, borrower=borrower,
                    phone=PhoneInput(number=p.parsed.e164, region=p.parsed.region), actor=actor, field_name=p.column,
                )
                plan.phones[key] = phone
                plan.changes["phones_added"] += 1
            elif phone.third_party_id is not None:
                raise RowRejected([RowError(row.line, p.column, _(
                    "This number is recorded for one of the borrower's third-party contacts."
                ))])
            if p.consent is None:
                continue
            ckey = (*key, p.consent.evidence_ref, p.consent.granted_at)
            if ckey in state.consents or ckey in plan.consents:
                continue
            phone.borrower = borrower  # consent_grant reads borrower_ref for its audit event: no extra query
            self._call(
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
        if loan is not None and loan.borrower_id != borrower.pk:
            raise RowRejected([RowError(row.line, "loan_ref", str(OTHER_BORROWERS_LOAN))])
        if loan is None or self._loan_differs(loan, row):
            loan, created = self._call(
                row, {}, "loan_ref", loan_upsert,
                loan_ref=row.loan_ref, borrower=borrower, principal=row.principal, balance=row.balance,
                currency=row.currency, due_date=row.due_date, status=row.status, actor=actor, reason=reason,
            )
            plan.loan = loan
            plan.changes["loans_created" if created else "loans_updated"] += 1
        if row.collector is not None and loan.assigned_collector_id != row.collector.pk:
            loan = self._call(row, {}, "collector", loan_assign, loan=loan, collector=row.collector, actor=actor,
                              reason=reason)
            plan.loan = loan
            plan.changes["loans_assigned"] += 1
        return plan

    @staticmethod
    def _merge(state: _BatchState, plan: _RowPlan) -> None:
        if plan.borrower is not None:
            state.borrowers[plan.borrower.borrower_ref] = plan.borrower
        if plan.loan is not None:
            state.loans[plan.loan.loan_ref] = plan.loan
        state.phones.update(plan.phones)
        state.consents.update(plan.consents)

    def _call(self, row: ImportRow, columns: dict[str, str], default: str, service: Callable[..., Any],
              **kwargs: Any) -> Any:
        """Call a service; its ValidationError becomes the row's errors, keyed by CSV column."""
        try:
            return service(**kwargs)
        except ValidationError as exc:
            raise RowRejected(self._errors_from(exc, row, columns, default)) from exc

    @staticmethod
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


def _column_label(name: str, position: int) -> str:
    """How a header problem names a column. A file sent without its header has data on line 1, so a header
    value is echoed only when it is close to a real column name (a typo); otherwise only its position."""
    close = get_close_matches(name, KNOWN_COLUMNS, n=1, cutoff=0.8)
    if close and _IDENTIFIER.match(name):
        return _("%(name)s (column %(pos)d; did you mean %(match)s?)") % {"name": name, "pos": position,
                                                                        "match": close[0]}
    return _("column %(pos)d") % {"pos": position}


def _parse_date(value: str, column: str, error: Callable[[str, str], None], *, required: bool) -> date | None:
    if not value:
        if required:
            error(column, _("Required (YYYY-MM-DD)."))
        return None
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        error(column, _("Not a date: use YYYY-MM-DD."))
        return None


def _parse_instant(value: str, column: str, error: Callable[[str, str], None], *, required: bool) -> datetime | None:
    if not value:
        if required:
            error(column, _("Required with a consent (ISO 8601 with offset, e.g. 2026-03-01T10:00:00+08:00)."))
        return None
    try:
        if not _ISO_DATE.match(value[:10]):
            raise ValueError
        parsed = datetime.fromisoformat(value)
    except ValueError:
        error(column, _("Not a date and time: use ISO 8601 with offset, e.g. 2026-03-01T10:00:00+08:00."))
        return None
    if parsed.tzinfo is None:
        error(column, _("A time zone offset is required, e.g. +08:00 or Z."))
        return None
    return parsed
