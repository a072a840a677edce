"""Writing audit events. Call `audit_log` inside the service's transaction so the change and its record
commit together (or not at all)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from .models import AuditAction, AuditChainHead, AuditEvent


def _actor_fields(actor: Any) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, "system"
    return actor.pk, actor.get_username()


def audit_log(
    *,
    action: AuditAction,
    subject: models.Model | None = None,
    subject_type: str = "",
    subject_id: str | int = "",
    data: dict[str, Any] | None = None,
    actor: Any = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction (it opens a savepoint itself
    if there is none, so a lone call is still atomic)."""
    if not isinstance(action, AuditAction):
        raise TypeError("action must be an AuditAction member")
    if subject is not None:
        subject_type = subject._meta.label_lower
        subject_id = subject.pk
    # Round-trip through JSON now so the hash is computed over exactly what the database will return.
    clean_data = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))
    actor_id, actor_label = _actor_fields(actor)
    with transaction.atomic():
        # The head row's lock serialises writers: each event chains onto exactly one predecessor.
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor_id=actor_id,
            actor_label=actor_label,
            action=action.value,
            subject_type=subject_type,
            subject_id=str(subject_id),
            data=clean_data,
            prev_hash=head.last_hash,
        )
        event.hash = event.compute_hash()
        event.save()
        AuditChainHead.objects.filter(pk=head.pk).update(last_hash=event.hash, count=head.count + 1)
    return event


def iter_chain_breaks() -> Iterator[tuple[int, str]]:
    """Yield (event id, problem) for every event whose hash or link does not match."""
    previous = "0" * 64
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if event.prev_hash != previous:
            yield event.pk, "prev_hash does not match the previous event"
        if event.compute_hash() != event.hash:
            yield event.pk, "hash does not match the event's content"
        previous = event.hash
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != previous:
        yield 0, "the chain head does not point at the last event (events removed from the end?)"
