"""Checkpoints: the beat task signs the chain head (Ed25519) into append-only files outside the database; a
verifier needs only the public key; a tampered or foreign checkpoint fails verification; the writer never signs a
chain that does not extend the previous checkpoint."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from audit_app.chain import Checkpoint, load_signing_key
from audit_app.models import AuditAction, AuditEvent
from audit_app.services import (
    ChainIntegrityError,
    audit_chain_seal,
    audit_checkpoint_write,
    audit_log,
    checkpoint_public_key,
)
from audit_app.tasks import write_checkpoint
from tests.audit_app.helpers import tamper, verify, verify_fails

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2027, 3, 3, 12, 0, tzinfo=dt.UTC)


def _sealed(n: int, prefix: str = "e") -> list[AuditEvent]:
    for i in range(n):
        audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id=f"{prefix}-{i}")
    audit_chain_seal()
    return list(AuditEvent.objects.order_by("seq"))


def _lines(checkpoint_dir) -> list[dict]:
    paths = sorted(checkpoint_dir.glob("*.jsonl"))
    return [json.loads(line) for path in paths for line in path.read_text().splitlines()]


def test_the_task_writes_a_signed_checkpoint_of_the_head(checkpoint_dir, settings):
    events = _sealed(3)
    with time_machine.travel(NOON, tick=False):
        assert write_checkpoint.delay().get() == 3
    path = checkpoint_dir / "2027-03-03.jsonl"
    assert [p.name for p in checkpoint_dir.iterdir() if not p.name.startswith(".")] == ["2027-03-03.jsonl"]
    (line,) = path.read_text().splitlines()
    body = json.loads(line)
    assert (body["seq"], body["count"], body["head"]) == (3, 3, events[-1].hash)
    assert body["at"] == "2027-03-03T12:00:00+00:00"
    # Anyone with the public key alone can check it.
    public = load_signing_key(settings.AUDIT_CHECKPOINT_SIGNING_KEY).public_key()
    assert Checkpoint.from_line(line, public).head == events[-1].hash
    out, _err = verify()
    assert "1 checkpoints, last checkpoint at position 3, 2027-03-03T12:00:00+00:00" in out


def test_checkpoints_are_appended_and_an_unchanged_head_writes_nothing(checkpoint_dir):
    _sealed(2)
    assert audit_checkpoint_write(now=NOON).seq == 2
    assert audit_checkpoint_write(now=NOON + dt.timedelta(minutes=1)) is None  # idempotent: head did not move
    _sealed(2, "more")
    assert audit_checkpoint_write(now=NOON + dt.timedelta(minutes=2)).seq == 4
    assert [line["seq"] for line in _lines(checkpoint_dir)] == [2, 4]
    assert not [p for p in checkpoint_dir.iterdir() if p.suffix == ".tmp"]  # the temporary file was renamed
    assert (checkpoint_dir / "2027-03-03.jsonl").read_bytes().endswith(b"\n")
    verify()


def test_nothing_to_checkpoint_before_the_first_sealed_event(checkpoint_dir):
    assert audit_checkpoint_write(now=NOON) is None
    assert not checkpoint_dir.exists() or not _lines(checkpoint_dir)


def test_a_new_day_starts_a_new_file(checkpoint_dir):
    _sealed(1)
    audit_checkpoint_write(now=NOON)
    _sealed(1, "tomorrow")
    audit_checkpoint_write(now=NOON + dt.timedelta(days=1))
    assert sorted(p.name for p in checkpoint_dir.glob("*.jsonl")) == ["2027-03-03.jsonl", "2027-03-04.jsonl"]
    verify()


@pytest.mark.parametrize("field,value", [("seq", 2), ("head", "0" * 64), ("at", "2027-03-03T11:00:00+00:00")])
def test_a_tampered_checkpoint_file_fails_verification(checkpoint_dir, field, value):
    _sealed(3)
    audit_checkpoint_write(now=NOON)
    path = checkpoint_dir / "2027-03-03.jsonl"
    body = json.loads(path.read_text())
    body[field] = value
    path.write_text(json.dumps(body) + "\n")
    err = verify_fails()
    assert "checkpoint 2027-03-03.jsonl:1: signature does not verify (checkpoint altered)" in err


def test_a_checkpoint_signed_by_another_key_fails_verification(checkpoint_dir):
    _sealed(1)
    foreign = Ed25519PrivateKey.generate()
    line = Checkpoint(seq=1, count=1, head=AuditEvent.objects.get().hash, at="2027-03-03T12:00:00+00:00",
                      signer="0" * 16).to_line(foreign)
    checkpoint_dir.mkdir(parents=True)
    (checkpoint_dir / "2027-03-03.jsonl").write_text(line + "\n")
    assert "signed by another key" in verify_fails()


def test_an_unreadable_checkpoint_line_fails_verification(checkpoint_dir):
    _sealed(1)
    checkpoint_dir.mkdir(parents=True)
    (checkpoint_dir / "2027-03-03.jsonl").write_text("not json\n")
    assert "checkpoint 2027-03-03.jsonl:1: unreadable checkpoint" in verify_fails()


def test_a_checkpoint_that_goes_backwards_is_reported(checkpoint_dir):
    """Checkpoints only move forward: a later one at a lower position means the chain was rolled back (a
    restored backup) between them."""
    _sealed(2)
    audit_checkpoint_write(now=NOON)
    first = (checkpoint_dir / "2027-03-03.jsonl").read_text()
    _sealed(2, "more")
    audit_checkpoint_write(now=NOON + dt.timedelta(minutes=1))
    second = (checkpoint_dir / "2027-03-03.jsonl").read_text().splitlines()[1]
    (checkpoint_dir / "2027-03-03.jsonl").write_text(second + "\n" + first)  # order swapped
    assert "goes back from" in verify_fails()


def test_verification_needs_only_the_public_key(settings):
    _sealed(2)
    audit_checkpoint_write(now=NOON)
    public = checkpoint_public_key()
    settings.AUDIT_CHECKPOINT_SIGNING_KEY = ""  # the auditor's machine holds no signing key
    settings.AUDIT_CHECKPOINT_PUBLIC_KEY = base64.b64encode(public.public_bytes_raw()).decode()
    out, _err = verify()
    assert "1 checkpoints" in out
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    settings.AUDIT_CHECKPOINT_PUBLIC_KEY = ""
    out, _err = verify("--public-key", pem)
    assert "1 checkpoints" in out


def test_verify_can_read_an_auditors_copy_of_the_checkpoints(checkpoint_dir, tmp_path):
    _sealed(2)
    audit_checkpoint_write(now=NOON)
    copy = tmp_path / "auditor-copy"
    copy.mkdir()
    (copy / "2027-03-03.jsonl").write_bytes((checkpoint_dir / "2027-03-03.jsonl").read_bytes())
    for path in checkpoint_dir.glob("*.jsonl"):
        path.unlink()
    out, _err = verify("--checkpoint-dir", str(copy))
    assert "1 checkpoints" in out


def test_a_pem_signing_key_works_too(settings, checkpoint_dir):
    key = Ed25519PrivateKey.generate()
    settings.AUDIT_CHECKPOINT_SIGNING_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    _sealed(1)
    audit_checkpoint_write(now=NOON)
    Checkpoint.from_line((checkpoint_dir / "2027-03-03.jsonl").read_text().strip(), key.public_key())
    verify()


# --- The writer never vouches for a broken chain -----------------------------------------------------------------


def test_the_writer_refuses_to_sign_a_chain_edited_since_the_last_checkpoint(checkpoint_dir):
    _sealed(2)
    audit_checkpoint_write(now=NOON)
    events = _sealed(2, "more")
    tamper("UPDATE audit_app_auditevent SET subject_id = %s WHERE id = %s", ["x", events[-1].pk])
    with pytest.raises(ChainIntegrityError, match=f"event {events[-1].pk}: hash does not match"):
        audit_checkpoint_write(now=NOON + dt.timedelta(minutes=1))
    assert [line["seq"] for line in _lines(checkpoint_dir)] == [2]


def test_the_writer_refuses_a_head_behind_the_last_checkpoint(checkpoint_dir):
    from audit_app.models import AuditChainHead

    events = _sealed(3)
    audit_checkpoint_write(now=NOON)
    tamper("DELETE FROM audit_app_auditevent WHERE id = %s", [events[-1].pk])
    AuditChainHead.objects.filter(pk=1).update(count=2, last_hash=events[1].hash)
    with pytest.raises(ChainIntegrityError, match="behind the last checkpoint"):
        audit_checkpoint_write(now=NOON + dt.timedelta(minutes=1))


def test_the_writer_refuses_to_extend_a_tampered_last_checkpoint(checkpoint_dir):
    _sealed(1)
    audit_checkpoint_write(now=NOON)
    path = checkpoint_dir / "2027-03-03.jsonl"
    path.write_text(path.read_text().replace('"seq":1', '"seq":0'))
    _sealed(1, "more")
    with pytest.raises(ChainIntegrityError, match="does not verify"):
        audit_checkpoint_write(now=NOON + dt.timedelta(minutes=1))


def test_verify_warns_when_sealed_events_wait_too_long_for_a_checkpoint():
    _sealed(1)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10)):
        _out, err = verify()
    assert "warning: positions 1-1 are not covered by a checkpoint yet" in err
