"""Celery tasks of the audit chain. Thin and idempotent (acks_late may run them twice): a second seal finds
nothing left to seal, a second checkpoint finds the head unchanged and writes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .alerts import alert_send
from .sealer import audit_chain_seal, audit_checkpoint_write, chain_keys, checkpoint_public_key
from .verification import ChainIntegrityError, verify_chain

__all__ = ["seal_chain", "verify_chain_scheduled", "write_checkpoint"]

SEAL_TASK_SECONDS = 30.0


@shared_task(name="audit_app.seal_chain", acks_late=True, ignore_result=True, time_limit=120, soft_time_limit=110)
def seal_chain(wait: bool = False) -> int:
    """Beat's every-second run and the after-commit run. They do not queue behind a running sealer (it includes
    their events: it loops until a batch finds nothing) and stop after SEAL_TASK_SECONDS under a constant stream,
    so the next run takes over instead of one task running into its time limit."""
    return audit_chain_seal(wait=wait, max_seconds=SEAL_TASK_SECONDS)


@shared_task(name="audit_app.write_checkpoint", acks_late=True, ignore_result=True, time_limit=300,
             soft_time_limit=280)
def write_checkpoint() -> int | None:
    checkpoint = audit_checkpoint_write()
    return checkpoint.seq if checkpoint else None


@shared_task(name="audit_app.verify_chain", acks_late=True, ignore_result=True, time_limit=1800,
             soft_time_limit=1780)
def verify_chain_scheduled() -> int:
    """Beat's nightly run of what `manage.py verify_audit_chain` does: seal what is pending, then verify every
    seal, the head and the signed checkpoints. A break alerts compliance (audit_app.alerts) with the breaks' event
    ids and positions; the number of breaks is returned. A verification that cannot run at all (the database is
    down, a key is unusable) raises, and the task_failure alert reports that instead."""
    breaks: list[str] = []
    try:
        audit_chain_seal()
    except ChainIntegrityError as exc:
        breaks.append(f"sealing refused: {exc}")
    report = verify_chain(
        keys=chain_keys(), public_key=checkpoint_public_key(), checkpoint_dir=Path(settings.AUDIT_CHECKPOINT_DIR),
        now=timezone.now(), unsealed_grace=dt.timedelta(seconds=settings.AUDIT_UNSEALED_GRACE_SECONDS),
        checkpoint_seconds=settings.AUDIT_CHECKPOINT_SECONDS,
    )
    breaks += [str(problem) for problem in report.breaks]
    if breaks:
        alert_send(key="audit-chain-verification", subject=f"the audit chain has {len(breaks)} break(s)",
                   lines=[*breaks, "Run `manage.py verify_audit_chain` for the full report."])
    return len(breaks)
