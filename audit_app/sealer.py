"""The sealer and the checkpoint writer (run by the tasks in audit_app.tasks; services re-exports them).

- ``audit_chain_seal``: one sealer at a time (row lock on the head); it takes the committed unsealed events in id
  order and appends them with consecutive ``seq``. A lower id that commits after a higher one is simply sealed
  later, with a higher ``seq``: the chain order is the seal order, and an uncommitted event is invisible to the
  sealer, so nothing can be skipped or sealed twice.
- ``audit_checkpoint_write``: signs the head (Ed25519) into a file outside the database, after checking that the
  chain since the previous checkpoint extends it.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F
from django.utils import timezone

from . import checkpoints
from .chain import (
    GENESIS,
    Checkpoint,
    digests_equal,
    event_seal,
    head_mac,
    key_fingerprint,
    load_public_key,
    load_signing_key,
    parse_chain_keys,
)
from .models import AuditChainHead, AuditEvent
from .verification import ChainBreak, ChainIntegrityError, ChainWalk

SEAL_BATCH_SIZE = 2000


# --- Keys (read from settings at each use, so override_settings and rotation apply at once) -----------------------


def chain_keys() -> dict[str, bytes]:
    return parse_chain_keys(settings.AUDIT_CHAIN_KEYS)


def sealing_key() -> tuple[str, bytes]:
    """The first AUDIT_CHAIN_KEYS entry seals new events."""
    return next(iter(chain_keys().items()))


def checkpoint_signing_key() -> Ed25519PrivateKey:
    return load_signing_key(settings.AUDIT_CHECKPOINT_SIGNING_KEY)


def checkpoint_public_key() -> Ed25519PublicKey:
    """AUDIT_CHECKPOINT_PUBLIC_KEY, or the signing key's public half when only that is configured."""
    configured = getattr(settings, "AUDIT_CHECKPOINT_PUBLIC_KEY", "")
    if configured:
        return load_public_key(configured)
    return checkpoint_signing_key().public_key()


# --- Sealing -----------------------------------------------------------------------------------------------------


def _locked_head(using: str, *, wait: bool) -> AuditChainHead | None:
    """The head row, locked until the end of the sealer's transaction (one sealer at a time). With wait=False,
    None when another sealer holds it (PostgreSQL; SQLite always waits)."""
    heads = AuditChainHead.objects.using(using)
    if connections[using].vendor == "sqlite":
        # select_for_update is a no-op on SQLite: write first, so this transaction takes the database's write lock
        # before it reads anything (a second sealer then waits instead of working from a stale snapshot).
        heads.filter(pk=1).update(count=F("count"))
    elif not wait:
        head = heads.select_for_update(skip_locked=True).filter(pk=1).first()
        if head is not None or heads.filter(pk=1).exists():
            return head  # None: locked by the running sealer, which loops until it finds nothing more
    head, _created = heads.select_for_update().get_or_create(pk=1)
    return head


def _check_head(head: AuditChainHead, keys: dict[str, bytes], using: str) -> None:
    """Refuse to extend a head that is not the chain's real end (rewound, replayed or forged): sealing on top of it
    would fork the chain or launder the tampering. One indexed query: the sealed events from the head's position
    on must be exactly the head's own event."""
    if head.count or head.mac:
        key = keys.get(head.key_id)
        if key is None or not digests_equal(head.mac, head_mac(key, count=head.count, last_hash=head.last_hash)):
            raise ChainIntegrityError("the chain head's MAC does not verify")
    at_or_after = list(
        AuditEvent.objects.using(using).filter(seq__gte=head.count).order_by("seq").values_list("seq", "hash")[:2]
    )
    if head.count == 0:
        if at_or_after:
            raise ChainIntegrityError("the chain head was reset although sealed events exist")
        return
    if not at_or_after or at_or_after[0][0] != head.count or not digests_equal(at_or_after[0][1], head.last_hash):
        raise ChainIntegrityError("the chain head does not match the sealed event at its position")
    if len(at_or_after) > 1:
        raise ChainIntegrityError("sealed events exist beyond the chain head")


def _write_seals(rows: list[tuple[int, int, str, str]], *, key_id: str, sealed_at: dt.datetime, using: str) -> None:
    """Set the seal columns of (id, seq, prev_hash, hash) rows, each only if still unsealed. The ORM's update()
    is refused on audit events on purpose; this is the one writer of seal columns (and on PostgreSQL the trigger
    accepts nothing else)."""
    connection = connections[using]
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids, seqs, prevs, hashes = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                f"UPDATE {table} AS e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash, "  # noqa: S608
                "key_id = %s, sealed_at = %s "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[]) AS v(id, seq, prev_hash, hash) "
                "WHERE e.id = v.id AND e.seq IS NULL",
                [key_id, sealed_at, ids, seqs, prevs, hashes],
            )
            updated = cursor.rowcount
        else:
            sealed_at_db = connection.ops.adapt_datetimefield_value(sealed_at)
            updated = 0
            for event_id, seq, prev, digest in rows:
                cursor.execute(
                    f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s, key_id = %s, sealed_at = %s "  # noqa: S608
                    "WHERE id = %s AND seq IS NULL",
                    [seq, prev, digest, key_id, sealed_at_db, event_id],
                )
                updated += cursor.rowcount
    if updated != len(rows):  # only possible if something else seals: roll the whole batch back
        raise ChainIntegrityError(f"sealed {updated} of {len(rows)} events: another writer set seal columns")


def _seal_batch(limit: int, using: str, *, wait: bool) -> int | None:
    """Seal up to `limit` events in one transaction; None when wait=False and another sealer is running."""
    with transaction.atomic(using=using):
        head = _locked_head(using, wait=wait)
        if head is None:
            return None
        keys = chain_keys()
        _check_head(head, keys, using)
        # Committed unsealed events, oldest id first. Rows of transactions still open are invisible here and are
        # sealed by a later run; that is what lets writers skip any shared lock.
        events = list(AuditEvent.objects.using(using).filter(seq__isnull=True).order_by("id")[:limit])
        if not events:
            return 0
        key_id, key = sealing_key()
        seq, prev = head.count, head.last_hash
        rows = []
        for event in events:
            seq += 1
            digest = event_seal(key, prev, event.content(seq=seq, key_id=key_id))
            rows.append((event.pk, seq, prev, digest))
            prev = digest
        _write_seals(rows, key_id=key_id, sealed_at=timezone.now(), using=using)
        AuditChainHead.objects.using(using).filter(pk=head.pk).update(
            count=seq, last_hash=prev, key_id=key_id, mac=head_mac(key, count=seq, last_hash=prev)
        )
        return len(events)


def audit_chain_seal(
    *, batch_size: int = SEAL_BATCH_SIZE, wait: bool = True, max_seconds: float | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """Seal every committed unsealed event, in id order; returns how many. Idempotent: a second run finds nothing
    to do. Each batch is its own short transaction, so a backlog does not hold the head lock for long, and the run
    goes on until a batch finds nothing (events committed meanwhile are included).

    wait=False (the after-commit seal) returns at once when another sealer holds the head: that sealer's next batch
    picks up this transaction's events. An event that commits in the instant between the running sealer's last,
    empty batch and its commit waits for the next seal (beat's, every second; or the next audited commit, or
    verify_audit_chain). max_seconds stops between batches once exceeded. Raises ChainIntegrityError, sealing
    nothing, when the head is not the chain's real end."""
    total = 0
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    while AuditEvent.objects.using(using).filter(seq__isnull=True).exists():  # cheap: the partial index
        sealed = _seal_batch(batch_size, using, wait=wait)
        if not sealed:  # None: another sealer runs; 0: someone else sealed them first
            break
        total += sealed
        if deadline is not None and time.monotonic() > deadline:
            break
    return total


# --- Checkpoints -------------------------------------------------------------------------------------------------


def audit_checkpoint_write(*, now: dt.datetime | None = None, directory: Path | None = None) -> Checkpoint | None:
    """Sign the current head into the checkpoint directory. Returns the checkpoint, or None when there is nothing
    new to sign (no sealed event, or the head has not moved since the last checkpoint).

    Before signing, checks that the sealed events since the previous checkpoint extend it (consecutive positions,
    links and seals) and that the head's MAC verifies: a checkpoint never vouches for a rewound or forked chain.
    Raises ChainIntegrityError otherwise, without writing."""
    now = now or timezone.now()
    directory = Path(directory or settings.AUDIT_CHECKPOINT_DIR)
    private_key = checkpoint_signing_key()
    public_key = private_key.public_key()
    previous = checkpoints.last_line(directory, public_key)
    if previous is not None and previous.checkpoint is None:
        raise ChainIntegrityError(f"the last checkpoint ({previous.where}) does not verify: {previous.problem}")
    last = previous.checkpoint if previous else None
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None or head.count == 0:
        if last is not None:
            raise ChainIntegrityError(f"the chain is empty but the checkpoint of {last.at} covers {last.seq} events")
        return None
    if last is not None:
        if head.count < last.seq:
            raise ChainIntegrityError(f"the chain head ({head.count}) is behind the last checkpoint ({last.seq})")
        if head.count == last.seq:
            if not digests_equal(head.last_hash, last.head):
                raise ChainIntegrityError("the chain head differs from the last checkpoint at the same position")
            return None
    keys = chain_keys()
    key = keys.get(head.key_id)
    if key is None or not digests_equal(head.mac, head_mac(key, count=head.count, last_hash=head.last_hash)):
        raise ChainIntegrityError("the chain head's MAC does not verify")
    walk = ChainWalk(keys, seq=last.seq if last else 0, last_hash=last.head if last else GENESIS)
    segment = AuditEvent.objects.filter(seq__gt=walk.seq, seq__lte=head.count).order_by("seq")
    problem = next(iter(walk.walk(segment)), None)
    if problem is None and (walk.seq != head.count or not digests_equal(walk.last_hash, head.last_hash)):
        problem = ChainBreak(None, "the chain head does not point at the last sealed event")
    if problem is not None:
        raise ChainIntegrityError(f"not checkpointed: {problem}")
    checkpoint = Checkpoint(
        seq=head.count, count=head.count, head=head.last_hash,
        at=now.astimezone(dt.UTC).isoformat(timespec="seconds"), signer=key_fingerprint(public_key),
    )
    checkpoints.append_line(directory, checkpoint.to_line(private_key), day=now.astimezone(dt.UTC).date())
    return checkpoint


