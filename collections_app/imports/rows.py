"""The import's vocabulary: the CSV columns, a validated row, a row error and the run's result."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from consent_app.phones import ParsedNumber

DEFAULT_BATCH_SIZE = 500
MAX_PHONES = 5
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
KNOWN_COLUMNS = frozenset(
    BORROWER_COLUMNS + LOAN_COLUMNS + tuple(f"phone_{n}{s}" for n in range(1, MAX_PHONES + 1) for s in PHONE_SUFFIXES)
)


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
    last_four: str  # PhoneNumber.last_four of parsed.e164
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
