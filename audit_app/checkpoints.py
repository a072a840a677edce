"""Checkpoint files: signed statements of the chain head, kept outside the database.

Layout: ``<AUDIT_CHECKPOINT_DIR>/<YYYY-MM-DD>.jsonl`` (UTC day of the checkpoint), one JSON line per checkpoint
(audit_app.chain.Checkpoint), lines only ever added. A line is added atomically: under an exclusive ``flock`` of
``<dir>/.lock`` (two writers — a task retried with acks_late — cannot lose each other's line), the day's file is
copied to a temporary file in the same directory with the new line, fsynced, renamed over the original, and the
directory is fsynced. A crash leaves either the old file or the new one, never half a line.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .chain import Checkpoint

SUFFIX = ".jsonl"


@dataclass(frozen=True)
class CheckpointLine:
    where: str  # "<file name>:<line number>", for reports
    checkpoint: Checkpoint | None  # None when the line does not verify
    problem: str = ""


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_line(directory: Path, line: str, *, day: dt.date) -> Path:
    """Add one line to the day's file, atomically (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{day.isoformat()}{SUFFIX}"
    with _locked(directory):
        existing = path.read_bytes() if path.exists() else b""
        if existing and not existing.endswith(b"\n"):
            existing += b"\n"
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(existing + line.encode() + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp_name, 0o644)  # not secret: an auditor's account may read them
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_directory(directory)
    return path


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix == SUFFIX and not p.name.startswith("."))


def read_lines(directory: Path, public_key: Ed25519PublicKey) -> Iterator[CheckpointLine]:
    """Every checkpoint line, oldest file first, each verified against the public key."""
    for path in _files(directory):
        with path.open(encoding="utf-8", errors="replace") as fh:
            for number, raw in enumerate(fh, start=1):
                text = raw.strip()
                if not text:
                    continue
                where = f"{path.name}:{number}"
                try:
                    yield CheckpointLine(where, Checkpoint.from_line(text, public_key))
                except ValueError as exc:
                    yield CheckpointLine(where, None, str(exc))


def last_line(directory: Path, public_key: Ed25519PublicKey) -> CheckpointLine | None:
    """The newest checkpoint line (verified), or None when there is none yet."""
    for path in reversed(_files(directory)):
        lines = [(n, t.strip()) for n, t in enumerate(path.read_text("utf-8", "replace").splitlines(), 1) if t.strip()]
        if lines:
            number, text = lines[-1]
            where = f"{path.name}:{number}"
            try:
                return CheckpointLine(where, Checkpoint.from_line(text, public_key))
            except ValueError as exc:
                return CheckpointLine(where, None, str(exc))
    return None
