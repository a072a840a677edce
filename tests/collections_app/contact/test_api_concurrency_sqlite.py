"""The embedded default (one SQLite file, `make run`) under a dialer's concurrent load: pre-checks and attempt
reports from several threads at once are all answered, none with a 500 "database is locked", and every attempt
report is recorded exactly once.

pytest-django's SQLite test database lives in memory, where journal modes and lock waits never come into play. So
the test database (migrated, with this test's data committed) is copied into a file and served by `manage.py
runserver` in a subprocess, as `make run` serves db.sqlite3: its own settings, its own connections, one thread per
request."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from collections_app.api.auth import api_token_create

THREADS = 8
REQUESTS_PER_THREAD = 25
SERVER_START_SECONDS = 60
REQUEST_TIMEOUT_SECONDS = 60

pytestmark = [
    pytest.mark.skipif(connection.vendor != "sqlite", reason="concerns the embedded SQLite default only"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("reference_data"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _copy_test_database(target: Path) -> None:
    """SQLite's online backup: the in-memory test database, page for page, into a file."""
    connection.ensure_connection()
    with sqlite3.connect(target) as copy:
        connection.connection.backup(copy)
    copy.close()


def _wait_until_serving(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"runserver exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"runserver did not start within {SERVER_START_SECONDS} s:\n{log.read_text()[-3000:]}")


def _post(base: str, token: str, path: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept-Language": "en"},
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310 - local
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_concurrent_checks_and_attempt_reports_are_all_answered_and_recorded_once(
    tmp_path, integration_user, loan
):
    phone = loan.borrower.phones.get()
    _row, token = api_token_create(user=integration_user, name="dialer")
    database = tmp_path / "db.sqlite3"
    _copy_test_database(database)

    port = _free_port()
    log = tmp_path / "runserver.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": f"sqlite:///{database}"}
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=settings.BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )
    results: list[tuple[str, int, str]] = []
    reported: list[str] = []
    started_at = timezone.now().isoformat()
    try:
        _wait_until_serving(server, port, log)
        base = f"http://127.0.0.1:{port}/api/v1"
        barrier = threading.Barrier(THREADS)

        def dialer(worker: int) -> None:
            barrier.wait(timeout=30)
            for n in range(REQUESTS_PER_THREAD):
                if n % 2 == 0:
                    body = {"loan_ref": loan.loan_ref, "phone": phone.e164, "channel": "call"}
                    results.append(("check", *_post(base, token, "/contact-checks", body)))
                else:
                    external_id = f"DIAL-{worker}-{n}"
                    reported.append(external_id)
                    body = {"external_id": external_id, "loan_ref": loan.loan_ref, "phone": phone.e164,
                            "channel": "call", "direction": "outbound", "started_at": started_at,
                            "outcome": "no_answer"}
                    results.append(("attempt", *_post(base, token, "/contact-attempts", body)))

        threads = [threading.Thread(target=dialer, args=(worker,)) for worker in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert len(results) == THREADS * REQUESTS_PER_THREAD
    server_errors = [(kind, status, body[:200]) for kind, status, body in results if status >= 500]
    locked = log.read_text().count("database is locked")
    assert server_errors == [], f"{len(server_errors)} server errors ({locked} 'database is locked' in the log)"
    assert Counter((kind, status) for kind, status, _body in results) == {
        ("check", 200): THREADS * ((REQUESTS_PER_THREAD + 1) // 2),
        ("attempt", 201): THREADS * (REQUESTS_PER_THREAD // 2),
    }
    with sqlite3.connect(database) as stored:
        journal_mode = stored.execute("PRAGMA journal_mode").fetchone()[0]
        rows = stored.execute(
            "SELECT external_id, COUNT(*) FROM collections_app_contactattempt GROUP BY external_id"
        ).fetchall()
    stored.close()
    assert journal_mode == "wal"  # the server switched the file to WAL (a file's journal mode persists)
    assert dict(rows) == dict.fromkeys(reported, 1)
