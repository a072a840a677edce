"""`manage.py verify_audit_chain`: seal what is pending, then verify the keyed chain and the signed checkpoints.

Detected: an edited, removed or re-hashed sealed event anywhere; removed events at the end (the head no longer
matches, or its MAC fails when rewound); and removal of events up to the last checkpoint even when an older,
genuine head row is put back (the checkpoint outside the database still names them).
Not detected — the documented window: removal of the events sealed after the last checkpoint together with a
replayed older head row (at most AUDIT_CHECKPOINT_SECONDS of events plus the seal delay), and changes to events
not sealed yet. Exit status 1 on any break; breaks name event ids, positions and checkpoint files, never data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit_app.chain import AuditKeyError, load_public_key
from audit_app.services import ChainIntegrityError, audit_chain_seal, chain_keys, checkpoint_public_key
from audit_app.verification import verify_chain

MAX_PRINTED = 1000


class Command(BaseCommand):
    help = (
        "Seal pending audit events, then verify the keyed hash chain, its head and the signed checkpoints; exits "
        "non-zero on any break (edited, removed or re-hashed events, truncation up to the last checkpoint, events "
        "left unsealed). Truncation of the events sealed after the last checkpoint, together with a replayed older "
        "head, is not detectable (the window: AUDIT_CHECKPOINT_SECONDS plus the seal delay)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-seal", action="store_true", help="verify only; do not seal pending events first")
        parser.add_argument("--unsealed-grace", type=int, default=None, metavar="SECONDS",
                            help="report events unsealed for longer than this (default AUDIT_UNSEALED_GRACE_SECONDS)")
        parser.add_argument("--checkpoint-dir", default=None,
                            help="checkpoint directory (default AUDIT_CHECKPOINT_DIR), e.g. an auditor's copy")
        parser.add_argument("--public-key", default=None,
                            help="checkpoint public key, base64 or PEM (default AUDIT_CHECKPOINT_PUBLIC_KEY)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            keys = chain_keys()
            public_key = load_public_key(options["public_key"]) if options["public_key"] else checkpoint_public_key()
        except AuditKeyError as exc:
            raise CommandError(str(exc)) from exc
        sealed_now = 0
        seal_problem = ""
        if not options["no_seal"]:
            try:
                sealed_now = audit_chain_seal()
            except ChainIntegrityError as exc:
                seal_problem = f"sealing refused: {exc}"
        grace = options["unsealed_grace"]
        if grace is None:
            grace = settings.AUDIT_UNSEALED_GRACE_SECONDS
        report = verify_chain(
            keys=keys, public_key=public_key,
            checkpoint_dir=Path(options["checkpoint_dir"] or settings.AUDIT_CHECKPOINT_DIR),
            now=timezone.now(), unsealed_grace=dt.timedelta(seconds=grace),
            checkpoint_seconds=settings.AUDIT_CHECKPOINT_SECONDS,
        )
        breaks = ([seal_problem] if seal_problem else []) + [str(problem) for problem in report.breaks]
        for problem in breaks[:MAX_PRINTED]:
            self.stderr.write(problem)
        if len(breaks) > MAX_PRINTED:
            self.stderr.write(f"... and {len(breaks) - MAX_PRINTED} more")
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        if breaks:
            raise CommandError(f"{len(breaks)} break(s) in the audit chain; first: {breaks[0]}")
        last = report.last_checkpoint
        checkpoint_note = (f"last checkpoint at position {last.seq}, {last.at}" if last else "no checkpoint yet")
        self.stdout.write(
            f"audit chain intact ({report.events} events, {report.sealed} sealed, {sealed_now} just sealed; "
            f"{report.checkpoints} checkpoints, {checkpoint_note})"
        )
