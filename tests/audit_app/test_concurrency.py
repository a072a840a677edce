"""Concurrent writers on PostgreSQL (threads, each with its own connection): audited writes take no shared lock,
and the sealer still builds one intact chain, in seal order, whatever order the transactions commit in.
select_for_update does nothing on SQLite, so this runs on PostgreSQL only."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from audit_app.models import AuditAction, AuditEvent
from audit_app.services import audit_chain_seal, audit_log
from tests.audit_app.helpers import verify

WRITERS = 16
EVENTS_EACH = 25

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _in_thread(target, *args) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_sixteen_concurrent_writers_end_in_one_intact_chain():
    barrier = threading.Barrier(WRITERS)

    def write(writer: int) -> None:
        barrier.wait(timeout=30)
        for i in range(EVENTS_EACH):
            with transaction.atomic():  # a service's transaction; its commit schedules a seal (eager Celery)
                audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id=f"w{writer}-{i}")

    started = [_in_thread(write, w) for w in range(WRITERS)]
    for thread, _errors in started:
        thread.join(timeout=120)
    assert not [e for _t, errors in started for e in errors]

    audit_chain_seal()
    total = WRITERS * EVENTS_EACH
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, total + 1))
    out, err = verify()
    assert f"audit chain intact ({total} events, {total} sealed" in out
    assert err == ""


def test_a_writer_never_waits_for_another_writers_open_transaction():
    """Thread A writes its event and keeps its transaction open; B's audited transaction still completes at once
    (the old design made B wait on the chain head's row lock until A committed). A's event has the lower id but
    commits last: it is sealed after B's, at the next position, and the chain verifies."""
    a_inserted, a_may_commit = threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def writer_a() -> None:
        with transaction.atomic():
            ids["a"] = audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id="A").pk
            a_inserted.set()
            assert a_may_commit.wait(timeout=30)

    def writer_b() -> None:
        with transaction.atomic():
            ids["b"] = audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id="B").pk

    thread_a, errors_a = _in_thread(writer_a)
    try:
        assert a_inserted.wait(timeout=30)
        began = time.monotonic()
        thread_b, errors_b = _in_thread(writer_b)
        thread_b.join(timeout=5)
        elapsed = time.monotonic() - began
        assert not thread_b.is_alive() and not errors_b, errors_b
        assert elapsed < 1.0, f"writer B waited {elapsed:.2f} s for writer A"

        audit_chain_seal()  # sees B's committed event, not A's open one
        assert AuditEvent.objects.get(pk=ids["b"]).seq == 1
        assert not AuditEvent.objects.filter(pk=ids["a"]).exists()  # invisible until A commits
    finally:
        a_may_commit.set()
        thread_a.join(timeout=30)
    assert not errors_a, errors_a

    audit_chain_seal()
    a, b = AuditEvent.objects.get(pk=ids["a"]), AuditEvent.objects.get(pk=ids["b"])
    assert a.pk < b.pk and a.seq == 2 and b.seq == 1
    assert a.prev_hash == b.hash
    out, _err = verify()
    assert "audit chain intact (2 events, 2 sealed" in out


def test_concurrent_sealers_seal_each_event_once(settings):
    settings.AUDIT_SEAL_ON_COMMIT = False  # leave all 200 to the four racing sealers
    for i in range(200):
        audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id=f"s-{i}")
    barrier = threading.Barrier(4)
    sealed: list[int] = []

    def seal() -> None:
        barrier.wait(timeout=30)
        sealed.append(audit_chain_seal(batch_size=25))

    started = [_in_thread(seal) for _ in range(4)]
    for thread, _errors in started:
        thread.join(timeout=60)
    assert not [e for _t, errors in started for e in errors]
    assert sum(sealed) == 200
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 201))
    verify()
