"""The import's entry point: `LoanImporter(...).run(stream)` reads, validates and writes a whole file."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from simple_history.models import HistoricalRecords

from audit_app.models import AuditAction
from audit_app.services import audit_log
from collections_app.permissions import is_collector

from .reader import CsvReader, Record
from .rows import DEFAULT_BATCH_SIZE, ImportResult, ImportRow, Rejected, RowError
from .store import SeenRefs, check_repeats
from .validation import RowValidator
from .writer import BatchWriter


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


class LoanImporter:
    """Import one CSV stream of lines (a file opened in binary mode, so that a bad byte is one line's error; or
    text). `on_error` receives every RowError, in line order, as batches are applied. ImportFileError: the file
    cannot be imported at all (its header), and nothing was written."""

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
        self._writer = BatchWriter(actor=actor, run_id=self.result.run_id)
        self._collectors: dict[str, Any] = {}

    def run(self, stream: Iterable[bytes] | Iterable[str]) -> ImportResult:
        seen = SeenRefs()
        try:
            with history_user(self.actor):
                self._run(stream, seen)
        finally:
            seen.close()
        return self.result

    def _run(self, stream: Iterable[bytes] | Iterable[str], seen: SeenRefs) -> None:
        reader = CsvReader(stream)
        validator = RowValidator(reader.header(), collector_for=self._collector)
        batch: list[ImportRow | Rejected] = []
        for record in reader.records():
            batch.append(validator.parse(record.values, record.line) if isinstance(record, Record) else record)
            if len(batch) >= self.batch_size:
                self._flush(seen, batch)
                batch = []
        self._flush(seen, batch)

    def _collector(self, username: str) -> Any:
        """The collector user for a username, or None; one query per distinct username per run."""
        if username not in self._collectors:
            user = get_user_model().objects.filter(username=username, is_active=True).first()
            self._collectors[username] = user if user is not None and is_collector(user) else None
        return self._collectors[username]

    def _flush(self, seen: SeenRefs, batch: list[ImportRow | Rejected]) -> None:
        if not batch:
            return
        batch = check_repeats(seen, batch)
        with transaction.atomic():
            outcome = self._writer.write(batch)
            counts = outcome.counts
            self.result.batches += 1
            audit_log(
                action=AuditAction.IMPORT_RUN, subject_type="collections_app.import", subject_id=self.result.run_id,
                actor=self.actor,
                # Counts, line numbers and ids only: the audit log never holds personal data.
                data={"batch": self.result.batches, "first_line": batch[0].line, "last_line": batch[-1].line,
                      "rows": counts["rows"], "created": counts["created"], "updated": counts["updated"],
                      "unchanged": counts["unchanged"], "rejected": counts["rejected"],
                      "objects": dict(outcome.objects), "created_ids": outcome.created_ids, "dry_run": self.dry_run},
            )
            if self.dry_run:
                transaction.set_rollback(True)
        for error in sorted(outcome.errors, key=lambda e: e.line):  # the service path may report out of order
            self.on_error(error)
        r = self.result
        r.rows += counts["rows"]
        r.created += counts["created"]
        r.updated += counts["updated"]
        r.unchanged += counts["unchanged"]
        r.rejected += counts["rejected"]
        r.objects.update(outcome.objects)
