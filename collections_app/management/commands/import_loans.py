"""`manage.py import_loans FILE.csv`: import borrowers, numbers, consents and loans (docs/import-format.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from collections_app.imports.rows import DEFAULT_BATCH_SIZE, ImportFileError, RowError
from collections_app.imports.services import LoanImporter


class Command(BaseCommand):
    help = (
        "Import a CSV file of borrowers, phone numbers, consents and loans (see docs/import-format.md). "
        "Idempotent: re-running a file changes nothing. Bad rows are reported by line and column and skipped; "
        "the exit status is non-zero when any row was rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="UTF-8 CSV file with a header row.")
        parser.add_argument("--actor", help="Username recorded as the author of the changes (default: system).")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
            help=f"Rows per transaction (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Validate and apply, then roll everything back.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        actor = None
        if options["actor"]:
            actor = get_user_model().objects.filter(username=options["actor"], is_active=True).first()
            if actor is None:
                raise CommandError("--actor: no active user with this username.")

        def report(error: RowError) -> None:
            self.stderr.write(str(error))

        importer = LoanImporter(
            actor=actor, batch_size=options["batch_size"], on_error=report, dry_run=options["dry_run"]
        )
        try:
            # Bytes: the importer decodes line by line, so that a byte that is not UTF-8 is that line's error.
            with path.open("rb") as stream:
                result = importer.run(stream)
        except OSError as exc:
            raise CommandError(f"Cannot read the file: {exc.strerror}.") from exc
        except ImportFileError as exc:
            self._summary(importer)
            raise CommandError(str(exc)) from exc
        self._summary(importer)
        if result.rejected:
            raise CommandError(f"{result.rejected} row(s) rejected (errors above); the other rows were imported.")

    def _summary(self, importer: LoanImporter) -> None:
        r = importer.result
        o = r.objects
        prefix = "Dry run (nothing saved)" if importer.dry_run else "Import"
        self.stdout.write(
            f"{prefix} {r.run_id}: {r.rows} rows in {r.batches} batch(es): {r.created} created, {r.updated} updated, "
            f"{r.unchanged} unchanged, {r.rejected} rejected."
        )
        self.stdout.write(
            f"  borrowers {o['borrowers_created']} created / {o['borrowers_updated']} updated, "
            f"numbers {o['phones_added']} added, consents {o['consents_recorded']} recorded, "
            f"loans {o['loans_created']} created / {o['loans_updated']} updated / {o['loans_assigned']} assigned."
        )
