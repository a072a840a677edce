"""Celery tasks of the audit chain. Thin and idempotent (acks_late may run them twice): a second seal finds
nothing left to seal, a second checkpoint finds the head unchanged and writes nothing."""

from __future__ import annotations

from celery import shared_task

from .sealer import audit_chain_seal, audit_checkpoint_write

__all__ = ["seal_chain", "write_checkpoint"]

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
