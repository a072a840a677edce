"""The audit chain's cryptography, with no ORM and no clock (plain values in, digests out).

- An event's seal is HMAC-SHA256 under a chain key: ``seal = HMAC(key, domain || prev_seal || content)``, the
  content being the canonical JSON of the event (its id, chain position, key id and every stored column). Someone
  who can write the database but holds no key cannot edit, remove or re-chain a sealed event without a seal
  mismatch: recomputing the hashes with plain SHA-256 or another key does not give valid seals.
- Chain keys rotate: ``AUDIT_CHAIN_KEYS`` is an ordered ``{key_id: key}``; the first key seals new events, every
  key verifies (each event records the id of the key that sealed it).
- The chain head (last sealed position and seal) carries a MAC too, so rewinding it to an earlier position needs
  the key as well — unless a copy of an older head row is replayed: checkpoints outside the database close that
  gap up to the last checkpoint.
- Checkpoints are signed with Ed25519: the writer holds the private key, a verifier needs only the public key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.serializers.json import DjangoJSONEncoder

GENESIS = "0" * 64
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
# Domain separation: an event seal, a head MAC and a checkpoint signature can never be mistaken for each other.
_EVENT_DOMAIN = b"collector-desk/audit-event/v1\n"
_HEAD_DOMAIN = b"collector-desk/audit-head/v1\n"
_CHECKPOINT_DOMAIN = b"collector-desk/audit-checkpoint/v1\n"


class AuditKeyError(ValueError):
    """A chain or checkpoint key setting is missing or malformed."""


# --- Chain keys --------------------------------------------------------------------------------------------------


def parse_chain_keys(value: Mapping[str, str] | Iterable[str] | str) -> dict[str, bytes]:
    """Read ``AUDIT_CHAIN_KEYS``: a mapping ``{id: key}``, a list of ``"id:key"`` strings or one comma-separated
    string of them, in order (the first seals). Keys are used as their UTF-8 bytes."""
    if isinstance(value, str):
        value = [item for item in value.split(",") if item.strip()]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = []
        for item in value:
            key_id, sep, key = str(item).partition(":")
            if not sep:
                raise AuditKeyError("AUDIT_CHAIN_KEYS entries must be 'id:key'")
            pairs.append((key_id.strip(), key.strip()))
    keys: dict[str, bytes] = {}
    for key_id, key in pairs:
        if not KEY_ID_RE.match(key_id):
            raise AuditKeyError("an AUDIT_CHAIN_KEYS id must be 1-32 letters, digits, '.', '_' or '-'")
        if key_id in keys:
            raise AuditKeyError(f"AUDIT_CHAIN_KEYS repeats the id {key_id!r}")
        if not key:
            raise AuditKeyError(f"AUDIT_CHAIN_KEYS has an empty key for {key_id!r}")
        keys[key_id] = key.encode()
    if not keys:
        raise AuditKeyError("AUDIT_CHAIN_KEYS is empty")
    return keys


# --- Event seals and the head MAC --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EventContent:
    """What a seal covers: everything stored about the event except the seal columns themselves."""

    event_id: int
    seq: int
    key_id: str
    occurred_at: dt.datetime
    actor_id: int | None
    actor_label: str
    action: str
    subject_type: str
    subject_id: str
    data: Any

    def canonical(self) -> bytes:
        return json.dumps(
            {
                "id": self.event_id,
                "seq": self.seq,
                "key_id": self.key_id,
                "at": self.occurred_at.astimezone(dt.UTC).isoformat(),
                "actor": self.actor_id,
                "actor_label": self.actor_label,
                "action": self.action,
                "subject_type": self.subject_type,
                "subject_id": self.subject_id,
                "data": self.data,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
            cls=DjangoJSONEncoder,
        ).encode()


def event_seal(key: bytes, prev_seal: str, content: EventContent) -> str:
    message = _EVENT_DOMAIN + prev_seal.encode() + b"\n" + content.canonical()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def head_mac(key: bytes, *, count: int, last_hash: str) -> str:
    return hmac.new(key, _HEAD_DOMAIN + f"{count}\n{last_hash}".encode(), hashlib.sha256).hexdigest()


def digests_equal(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


# --- Checkpoint keys and signatures ------------------------------------------------------------------------------


def _raw_or_pem(value: str | bytes, what: str) -> tuple[str, bytes]:
    if isinstance(value, bytes):
        value = value.decode()
    value = value.strip()
    if not value:
        raise AuditKeyError(f"{what} is not set")
    if value.startswith("-----BEGIN"):
        return "pem", value.encode()
    try:
        raw = base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4), validate=True)
    except ValueError as exc:
        raise AuditKeyError(f"{what} is neither PEM nor base64") from exc
    if len(raw) != 32:
        raise AuditKeyError(f"{what} must be 32 raw bytes (base64) or PEM")
    return "raw", raw


def load_signing_key(value: str | bytes) -> Ed25519PrivateKey:
    """``AUDIT_CHECKPOINT_SIGNING_KEY``: base64 of the raw 32-byte Ed25519 private key, or an unencrypted PEM."""
    kind, material = _raw_or_pem(value, "AUDIT_CHECKPOINT_SIGNING_KEY")
    if kind == "raw":
        return Ed25519PrivateKey.from_private_bytes(material)
    key = serialization.load_pem_private_key(material, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError("AUDIT_CHECKPOINT_SIGNING_KEY must be an Ed25519 key")
    return key


def load_public_key(value: str | bytes) -> Ed25519PublicKey:
    """``AUDIT_CHECKPOINT_PUBLIC_KEY``: base64 of the raw 32-byte Ed25519 public key, or a PEM."""
    kind, material = _raw_or_pem(value, "AUDIT_CHECKPOINT_PUBLIC_KEY")
    if kind == "raw":
        return Ed25519PublicKey.from_public_bytes(material)
    key = serialization.load_pem_public_key(material)
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError("AUDIT_CHECKPOINT_PUBLIC_KEY must be an Ed25519 key")
    return key


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def key_fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """A signed statement: at ``at``, the chain had ``count`` sealed events and the seal at ``seq`` was ``head``."""

    seq: int
    count: int
    head: str
    at: str  # ISO 8601, UTC
    signer: str  # fingerprint of the public key that verifies it

    def message(self) -> bytes:
        body = {"v": 1, "seq": self.seq, "count": self.count, "head": self.head, "at": self.at,
                "signer": self.signer}
        return _CHECKPOINT_DOMAIN + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def to_line(self, private_key: Ed25519PrivateKey) -> str:
        signature = base64.b64encode(private_key.sign(self.message())).decode()
        return json.dumps(
            {"v": 1, "seq": self.seq, "count": self.count, "head": self.head, "at": self.at, "signer": self.signer,
             "sig": signature},
            sort_keys=True, separators=(",", ":"),
        )

    @classmethod
    def from_line(cls, line: str, public_key: Ed25519PublicKey) -> Checkpoint:
        """Parse and verify one line; raises ValueError (with a reason, never key material) when it does not
        verify."""
        try:
            body = json.loads(line)
            checkpoint = cls(seq=int(body["seq"]), count=int(body["count"]), head=str(body["head"]),
                             at=str(body["at"]), signer=str(body["signer"]))
            signature = base64.b64decode(body["sig"], validate=True)
            version = body.get("v")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"unreadable checkpoint ({exc.__class__.__name__})") from exc
        if version != 1:
            raise ValueError("unknown checkpoint format version")
        try:
            public_key.verify(signature, checkpoint.message())
        except InvalidSignature:
            if checkpoint.signer != key_fingerprint(public_key):
                raise ValueError(f"signed by another key (fingerprint {checkpoint.signer})") from None
            raise ValueError("signature does not verify (checkpoint altered)") from None
        return checkpoint
