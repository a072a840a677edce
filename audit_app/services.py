"""Writing audit events (the sealer and checkpoint writer live in audit_app.sealer and are re-exported here).

- ``audit_log`` / ``audit_log_bulk``: call them inside the service's transaction so the change and its record
  commit together (or not at all). They only INSERT: no shared lock, so audited writes of unrelated accounts do not
  queue behind each other (the previous design locked one chain-head row for the rest of every audited
  transaction).
- ``audit_chain_seal``: the sealer (task ``audit_app.seal_chain``: beat every second, and after each audited
  commit when ``AUDIT_SEAL_ON_COMMIT``) chains committed events in id order, at consecutive positions.
- ``audit_checkpoint_write``: signs the head (Ed25519) into a file outside the database (task
  ``audit_app.write_checkpoint``, every ``AUDIT_CHECKPOINT_SECONDS``), after checking that the chain since the
  previous checkpoint extends it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.utils import timezone

from .models import AuditAction, AuditEvent
from .sealer import (
    audit_chain_seal,
    audit_checkpoint_write,
    chain_keys,
    checkpoint_public_key,
    checkpoint_signing_key,
    sealing_key,
)
from .tasks import seal_chain
from .verification import ChainBreak, ChainIntegrityError, verify_chain

__all__ = [
    "AuditEntry",
    "ChainBreak",
    "ChainIntegrityError",
    "audit_chain_seal",
    "audit_checkpoint_write",
    "audit_log",
    "audit_log_bulk",
    "chain_keys",
    "checkpoint_public_key",
    "checkpoint_signing_key",
    "iter_chain_breaks",
    "sealing_key",
]

# --- Appending ---------------------------------------------------------------------------------------------------


def _actor_fields(actor: Any) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, "system"
    return actor.pk, actor.get_username()


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One event of an ``audit_log_bulk`` call (the same fields as ``audit_log``'s arguments, actor aside)."""

    action: AuditAction
    subject: models.Model | None = None
    subject_type: str = ""
    subject_id: str | int = ""
    data: dict[str, Any] | None = None


def _new_event(entry: AuditEntry, *, actor_id: int | None, actor_label: str, now: dt.datetime) -> AuditEvent:
    if not isinstance(entry.action, AuditAction):
        raise TypeError("action must be an AuditAction member")
    subject_type, subject_id = entry.subject_type, entry.subject_id
    if entry.subject is not None:
        subject_type = entry.subject._meta.label_lower
        subject_id = entry.subject.pk
    return AuditEvent(
        occurred_at=now,
        actor_id=actor_id,
        actor_label=actor_label,
        action=entry.action.value,
        subject_type=subject_type,
        subject_id=str(subject_id),
        # Store exactly what JSON gives back (Decimals, dates and UUIDs become strings now, not at some later read).
        data=json.loads(json.dumps(entry.data or {}, cls=DjangoJSONEncoder)),
    )


def audit_log(
    *,
    action: AuditAction,
    subject: models.Model | None = None,
    subject_type: str = "",
    subject_id: str | int = "",
    data: dict[str, Any] | None = None,
    actor: Any = None,
) -> AuditEvent:
    """Append one event: a single INSERT in the caller's transaction (a lone call outside one is atomic by
    itself). The event is sealed into the chain after the transaction commits."""
    actor_id, actor_label = _actor_fields(actor)
    event = _new_event(
        AuditEntry(action=action, subject=subject, subject_type=subject_type, subject_id=subject_id, data=data),
        actor_id=actor_id, actor_label=actor_label, now=timezone.now(),
    )
    event.save()
    _seal_after_commit()
    return event


def audit_log_bulk(*, entries: Sequence[AuditEntry], actor: Any = None) -> list[AuditEvent]:
    """Append many events with one bulk INSERT (imports: thousands of events per batch without a query each).
    Same guarantees as ``audit_log``: in the caller's transaction, sealed after it commits, in list order."""
    if not entries:
        return []
    actor_id, actor_label = _actor_fields(actor)
    now = timezone.now()
    events = [_new_event(entry, actor_id=actor_id, actor_label=actor_label, now=now) for entry in entries]
    created = AuditEvent.objects.all()._append_bulk(events)
    _seal_after_commit()
    return created


def _seal_after_commit(using: str = DEFAULT_DB_ALIAS) -> None:
    """Schedule one seal_chain run when the current transaction commits — once per transaction, however many
    events it writes (in eager mode the seal runs inline right after the commit)."""
    if not settings.AUDIT_SEAL_ON_COMMIT:
        return
    connection = transaction.get_connection(using)
    # Django drops the callbacks of a rolled-back savepoint from run_on_commit, so "already scheduled" is exactly
    # "our callback is still in the list".
    if connection.in_atomic_block and any(entry[1] is _enqueue_seal for entry in connection.run_on_commit):
        return
    # robust: the caller's data is committed by now; a failing seal is logged and retried by the next run.
    transaction.on_commit(_enqueue_seal, using=using, robust=True)


def _enqueue_seal() -> None:
    seal_chain.delay()


# --- Verification (kept here for callers of the previous API) ----------------------------------------------------


def iter_chain_breaks() -> list[ChainBreak]:
    """Every break found by a full verification with the configured keys and checkpoint directory (no seal)."""
    return verify_chain(
        keys=chain_keys(), public_key=checkpoint_public_key(), checkpoint_dir=Path(settings.AUDIT_CHECKPOINT_DIR),
        now=timezone.now(), unsealed_grace=dt.timedelta(seconds=settings.AUDIT_UNSEALED_GRACE_SECONDS),
        checkpoint_seconds=settings.AUDIT_CHECKPOINT_SECONDS,
    ).breaks
