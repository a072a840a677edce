"""The refs met so far in the file, in a throwaway SQLite file, and the check of each batch against them."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from .rows import ImportRow, Rejected, RowError


class SeenRefs:
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


def check_repeats(seen: SeenRefs, batch: list[ImportRow | Rejected]) -> list[ImportRow | Rejected]:
    """A borrower_ref may repeat (one row per loan) with the same borrower details; a loan_ref may not: two
    rows for one loan, or one borrower with two sets of details, would make every re-run flip the data
    back and forth (and write history each time). Checked against every earlier row of the file."""
    rows = [item for item in batch if isinstance(item, ImportRow)]
    borrowers = seen.borrowers({r.borrower_ref for r in rows})
    loans = seen.loans({r.loan_ref for r in rows})
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
    seen.add(new_borrowers, new_loans)
    return checked
