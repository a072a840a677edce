"""Benchmark: audited appends per second with 1, 4 and 16 concurrent writer threads, before and after the
lock-free audit chain (PostgreSQL only: SQLite serialises every writer anyway).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/collector_desk .venv/bin/python bench/audit_appends.py
        [--seconds 5] [--threads 1,4,16] [--hold-ms 0,2]

A fresh database <name>_bench_audit is created on that server and dropped afterwards. Each writer thread has its
own connection and loops: BEGIN; append one audit event; (optionally) `pg_sleep(hold)` standing for the rest of the
service's transaction; COMMIT.

- "before" re-enacts the previous design inside the bench: `SELECT ... FOR UPDATE` of a chain-head row, a SHA-256
  over the event and its predecessor's hash, the INSERT, the head UPDATE — the head's row lock held until COMMIT.
- "after" is today's `audit_log` (a plain INSERT) with `AUDIT_SEAL_ON_COMMIT=False`, as in production, while a
  sealer thread runs `audit_chain_seal()` every second as beat would; the run ends with a final seal and a full
  verification, and the sealer's own throughput is reported.
- "after, seal on commit" is the embedded default (`AUDIT_SEAL_ON_COMMIT=True`, eager Celery): each commit runs a
  seal in the writer's thread.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _bench_database(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_bench_audit"
    return name, urlunsplit(parts._replace(path=f"/{name}"))


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", default="1,4,16")
    parser.add_argument("--hold-ms", default="0,2", help="extra time each transaction stays open after the append")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL server (postgres://...)")
    name, bench_url = _bench_database(url)
    _admin(url, f'DROP DATABASE IF EXISTS "{name}"')
    _admin(url, f'CREATE DATABASE "{name}"')
    try:
        run(bench_url, args)
    finally:
        from django.db import connections

        connections.close_all()
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(bench_url: str, args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections, transaction
    from django.utils import timezone

    from audit_app.models import AuditAction, AuditEvent
    from audit_app.services import audit_chain_seal, audit_log, iter_chain_breaks

    settings.AUDIT_CHECKPOINT_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-audit-{os.getpid()}"
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_legacy_head (id int PRIMARY KEY, last_hash text NOT NULL, "
                       "count bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_legacy_head VALUES (1, %s, 0)", ["0" * 64])

    def legacy_append(subject_id: str) -> None:
        """The previous audit_log: the head row's lock serialises every audited transaction until it commits."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT last_hash, count FROM bench_legacy_head WHERE id = 1 FOR UPDATE")
            last_hash, count = cursor.fetchone()
        event = AuditEvent(occurred_at=timezone.now(), actor_label="system", action=AuditAction.IMPORT_RUN.value,
                           subject_type="import", subject_id=subject_id, data={"rows": 1})
        payload = json.dumps({"prev": last_hash, "at": event.occurred_at.isoformat(), "actor": None,
                              "actor_label": "system", "action": event.action, "subject_type": "import",
                              "subject_id": subject_id, "data": event.data}, sort_keys=True)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        event.save()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE bench_legacy_head SET last_hash = %s, count = %s WHERE id = 1", [digest, count + 1])

    def new_append(subject_id: str) -> None:
        audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id=subject_id, data={"rows": 1})

    def measure(append, threads: int, hold_ms: float, seconds: float) -> float:
        stop = threading.Event()
        start = threading.Barrier(threads + 1)
        counts = [0] * threads
        errors: list[BaseException] = []

        def writer(index: int) -> None:
            try:
                start.wait()
                n = 0
                while not stop.is_set():
                    with transaction.atomic():
                        append(f"t{index}-{n}")
                        if hold_ms:
                            with connection.cursor() as cursor:
                                cursor.execute("SELECT pg_sleep(%s)", [hold_ms / 1000])
                    n += 1
                counts[index] = n
            except BaseException as exc:
                errors.append(exc)
            finally:
                connections.close_all()

        pool = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
        for thread in pool:
            thread.start()
        start.wait()
        began = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - began
        if errors:
            raise errors[0]
        return sum(counts) / elapsed

    def beat_sealer(stop: threading.Event) -> None:
        try:
            while not stop.wait(settings.AUDIT_SEAL_SECONDS):
                audit_chain_seal()
        finally:
            connections.close_all()

    thread_counts = [int(t) for t in args.threads.split(",")]
    holds = [float(h) for h in args.hold_ms.split(",")]
    rows = []
    for hold in holds:
        for threads in thread_counts:
            before = measure(legacy_append, threads, hold, args.seconds)
            audit_chain_seal()  # not timed: the next runs' sealer starts with no backlog

            settings.AUDIT_SEAL_ON_COMMIT = False
            stop = threading.Event()
            sealer = threading.Thread(target=beat_sealer, args=(stop,))
            sealer.start()
            after = measure(new_append, threads, hold, args.seconds)
            stop.set()
            sealer.join()
            audit_chain_seal()

            settings.AUDIT_SEAL_ON_COMMIT = True
            on_commit = measure(new_append, threads, hold, args.seconds)
            settings.AUDIT_SEAL_ON_COMMIT = False
            audit_chain_seal()
            rows.append((hold, threads, before, after, on_commit))
            print(f"hold {hold:g} ms, {threads:2d} threads: before {before:7.0f}/s  after {after:7.0f}/s "
                  f"({after / before:4.1f}x)  after+seal-on-commit {on_commit:7.0f}/s ({on_commit / before:4.1f}x)",
                  flush=True)

    # The sealer's own rate on a backlog (beat keeps up as long as this exceeds the append rate).
    settings.AUDIT_SEAL_ON_COMMIT = False
    backlog = 20_000
    from audit_app.services import AuditEntry, audit_log_bulk

    for offset in range(0, backlog, 2000):
        audit_log_bulk(entries=[AuditEntry(action=AuditAction.IMPORT_RUN, subject_type="import",
                                           subject_id=f"backlog-{offset + i}") for i in range(2000)])
    began = time.perf_counter()
    sealed = audit_chain_seal()
    seal_rate = sealed / (time.perf_counter() - began)

    began = time.perf_counter()
    breaks = iter_chain_breaks()
    verify_seconds = time.perf_counter() - began
    total = AuditEvent.objects.count()
    unsealed = AuditEvent.objects.filter(seq__isnull=True).count()

    print()
    print("| transaction held after the append | writer threads | before (head-row lock) | after (beat seals) "
          "| ratio | after, seal on commit | ratio |")
    print("|---|---|---|---|---|---|---|")
    for hold, threads, before, after, on_commit in rows:
        print(f"| {hold:g} ms | {threads} | {before:,.0f}/s | {after:,.0f}/s | {after / before:.1f}x "
              f"| {on_commit:,.0f}/s | {on_commit / before:.1f}x |")
    print()
    print(f"sealer: {sealed:,} backlog events sealed at {seal_rate:,.0f} events/s")
    print(f"verification: {total:,} events ({unsealed} unsealed) verified in {verify_seconds:.1f} s, "
          f"{len(breaks)} breaks")


if __name__ == "__main__":
    main()
