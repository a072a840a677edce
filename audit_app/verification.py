"""Verifying the audit chain: the seals, the head and the signed checkpoints (read only; keys come in as
arguments, so an auditor's machine needs the chain keys and the checkpoint *public* key, never the signing key).

What is detected, by whoever can write the database but holds no chain key:
- an edited sealed event (any column, including its position and key id): its seal no longer matches;
- a removed sealed event in the middle: a gap in the positions, and the next event's link breaks;
- events re-chained with plain SHA-256 or another key: no seal verifies under the configured keys;
- removed events at the end: the head no longer points at the last event, and rewinding the head too needs the
  key for its MAC;
- a replayed (older, once genuine) head with the events after it removed: only the checkpoints catch this, for
  events up to the last checkpoint. **Truncation after the last checkpoint is the documented window**: events
  sealed since then (at most AUDIT_CHECKPOINT_SECONDS plus the seal delay) can be removed together with a replayed
  head without detection.
Unsealed events carry no seal yet; they are covered once sealed (the sealer runs every second), and events left
unsealed longer than the grace are reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import checkpoints
from .chain import GENESIS, Checkpoint, digests_equal, event_seal, head_mac
from .models import AuditChainHead, AuditEvent

MAX_UNSEALED_LISTED = 20


class ChainIntegrityError(Exception):
    """The chain or its head is not what the seals and checkpoints say: the sealer and the checkpoint writer refuse
    to build on it."""


class ChainBreak(NamedTuple):
    event_id: int | None  # None: the break is about the head or a checkpoint, not one event
    problem: str  # names event ids, positions and checkpoint files, never event data

    def __str__(self) -> str:
        return f"event {self.event_id}: {self.problem}" if self.event_id is not None else self.problem


class ChainWalk:
    """Walks sealed events in position order from a known point (genesis or a checkpoint) and yields every
    break. ``seq`` and ``last_hash`` follow the stored chain, so one edited event is reported once and the event
    after it still checks against what is stored."""

    def __init__(self, keys: dict[str, bytes], *, seq: int = 0, last_hash: str = GENESIS) -> None:
        self.keys = keys
        self.seq = seq
        self.last_hash = last_hash
        self.heads: dict[int, str] = {}  # position -> stored seal, only for positions asked for in `watch`
        self.watch: set[int] = set()

    def walk(self, events: Iterable[AuditEvent]) -> Iterator[ChainBreak]:
        for event in events:
            yield from self._check(event)

    def _check(self, event: AuditEvent) -> Iterator[ChainBreak]:
        seq = event.seq
        assert seq is not None
        expected = self.seq + 1
        if seq > expected:
            span = f"position {expected}" if seq == expected + 1 else f"positions {expected}-{seq - 1}"
            yield ChainBreak(event.pk, f"sealed events at {span} are missing (removed?)")
        elif seq < expected:
            yield ChainBreak(event.pk, f"position {seq} is used twice")
        if not digests_equal(event.prev_hash, self.last_hash):
            yield ChainBreak(event.pk, "prev_hash does not match the previous event")
        key = self.keys.get(event.key_id or "")
        if event.hash is None or event.sealed_at is None or event.key_id is None or event.prev_hash is None:
            yield ChainBreak(event.pk, "incomplete seal")
        elif key is None:
            yield ChainBreak(event.pk, "sealed under a key id that is not configured")
        elif not digests_equal(event.hash, event_seal(key, event.prev_hash, event.content(seq=seq,
                                                                                          key_id=event.key_id))):
            yield ChainBreak(event.pk, "hash does not match the event's content")
        self.seq = max(self.seq, seq)
        self.last_hash = event.hash or ""
        if seq in self.watch:
            self.heads[seq] = self.last_hash


@dataclass
class VerifyReport:
    breaks: list[ChainBreak] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events: int = 0
    sealed: int = 0
    checkpoints: int = 0
    last_checkpoint: Checkpoint | None = None


def _load_checkpoints(directory: Path, public_key: Ed25519PublicKey, report: VerifyReport) -> dict[int, tuple]:
    """{position: (head, where, at)} of every checkpoint that verifies; broken or contradictory lines are
    breaks."""
    by_seq: dict[int, tuple[str, str, str]] = {}
    previous: tuple[Checkpoint, str] | None = None
    for line in checkpoints.read_lines(directory, public_key):
        if line.checkpoint is None:
            report.breaks.append(ChainBreak(None, f"checkpoint {line.where}: {line.problem}"))
            continue
        checkpoint = line.checkpoint
        report.checkpoints += 1
        if checkpoint.count != checkpoint.seq:
            report.breaks.append(ChainBreak(None, f"checkpoint {line.where}: count and position disagree"))
        known = by_seq.get(checkpoint.seq)
        if known is not None and not digests_equal(known[0], checkpoint.head):
            report.breaks.append(ChainBreak(
                None, f"checkpoints {known[1]} and {line.where} sign different heads at position {checkpoint.seq}"
            ))
        if previous is not None and (checkpoint.seq < previous[0].seq or checkpoint.at < previous[0].at):
            report.breaks.append(ChainBreak(
                None, f"checkpoint {line.where} goes back from {previous[1]} (position {previous[0].seq} -> "
                      f"{checkpoint.seq}): the chain was rolled back between them",
            ))
        by_seq.setdefault(checkpoint.seq, (checkpoint.head, line.where, checkpoint.at))
        previous = (checkpoint, line.where)
        report.last_checkpoint = checkpoint
    return by_seq


def verify_chain(
    *,
    keys: dict[str, bytes],
    public_key: Ed25519PublicKey,
    checkpoint_dir: Path,
    now: dt.datetime,
    unsealed_grace: dt.timedelta,
    checkpoint_seconds: int = 60,
) -> VerifyReport:
    report = VerifyReport()
    by_seq = _load_checkpoints(checkpoint_dir, public_key, report)

    walk = ChainWalk(keys)
    walk.watch = set(by_seq)
    sealed = AuditEvent.objects.filter(seq__isnull=False).order_by("seq")
    for problem in walk.walk(sealed.iterator(chunk_size=2000)):
        report.breaks.append(problem)
    report.sealed = AuditEvent.objects.filter(seq__isnull=False).count()
    report.events = AuditEvent.objects.count()

    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        if walk.seq:
            report.breaks.append(ChainBreak(None, "the chain head is missing"))
    else:
        if head.count != walk.seq or (walk.seq and not digests_equal(head.last_hash, walk.last_hash)):
            report.breaks.append(ChainBreak(
                None, f"the chain head (position {head.count}) does not point at the last sealed event (position "
                      f"{walk.seq}): events removed from the end?",
            ))
        if head.count or head.mac:
            key = keys.get(head.key_id)
            if key is None or not digests_equal(head.mac, head_mac(key, count=head.count, last_hash=head.last_hash)):
                report.breaks.append(ChainBreak(None, "the chain head's MAC does not verify (head rewritten?)"))

    for seq, (signed_head, where, at) in sorted(by_seq.items()):
        if seq > walk.seq:
            report.breaks.append(ChainBreak(
                None, f"checkpoint {where} ({at}) covers {seq} sealed events but the chain ends at position "
                      f"{walk.seq}: sealed events were removed after it was written",
            ))
        elif not digests_equal(walk.heads.get(seq), signed_head):
            report.breaks.append(ChainBreak(
                None, f"checkpoint {where} ({at}): the event at position {seq} is not the one it signed",
            ))

    stale = AuditEvent.objects.filter(seq__isnull=True, occurred_at__lt=now - unsealed_grace).order_by("id")
    stale_ids = list(stale.values_list("id", flat=True)[: MAX_UNSEALED_LISTED + 1])
    for event_id in stale_ids[:MAX_UNSEALED_LISTED]:
        report.breaks.append(ChainBreak(
            event_id, f"still unsealed after {int(unsealed_grace.total_seconds())} s (is the sealer running?)"
        ))
    if len(stale_ids) > MAX_UNSEALED_LISTED:
        report.breaks.append(ChainBreak(None, f"{stale.count() - MAX_UNSEALED_LISTED} more unsealed events"))

    covered = report.last_checkpoint.seq if report.last_checkpoint else 0
    if walk.seq > covered:
        first_uncovered = AuditEvent.objects.filter(seq=covered + 1).values_list("sealed_at", flat=True).first()
        if first_uncovered is not None and first_uncovered < now - dt.timedelta(seconds=2 * checkpoint_seconds + 5):
            report.warnings.append(
                f"positions {covered + 1}-{walk.seq} are not covered by a checkpoint yet, the oldest sealed at "
                f"{first_uncovered:%Y-%m-%d %H:%M:%S %Z} (is beat running audit_app.write_checkpoint?)"
            )
    return report
