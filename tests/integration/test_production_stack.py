"""The production stack end to end, on PostgreSQL and Redis: the Procfile's gunicorn, Celery worker and beat
(honcho, production settings, nothing eager) on a fresh database, with throwaway keys.

It proves that the stack migrates and starts from the environment alone, answers /healthz and /readyz (also over
plain HTTP with the HTTPS redirect on), serves the integration API to a bearer token, runs the nightly job through
the broker for every collector, loses nothing when a worker is killed (SIGKILL) in the middle of a job (acks late:
the job is delivered again to the next worker and completes, with no duplicate entries), and that a pg_dump of
its database restores into another one whose audit chain verifies — with the same keys, and not without them.

"In the middle of a job" is made certain rather than hoped for: the test holds a row lock on one collector's
worklist, so the worker rebuilding it waits inside the job's transaction until it is killed. The whole worker is
killed (master and pool at once, like a lost machine), so this shows acks_late with the broker's redelivery; a
pool process dying under a living master (task_reject_on_worker_lost) is not exercised here.

PostgreSQL only (skipped otherwise). Marked `integration`: `make test` leaves it out; `.ci/run` runs it once.
The broker is Redis database 11 of 127.0.0.1:6379 (INTEGRATION_BROKER_URL), emptied before and after; the
databases are <DATABASE_URL's name>_it and _it_restore, dropped afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
from celery import Celery

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATABASE_URL = os.environ.get("DATABASE_URL", "")
BROKER_URL = os.environ.get("INTEGRATION_BROKER_URL", "redis://127.0.0.1:6379/11")
TIME_ZONE = "Asia/Shanghai"
# How long Redis keeps a task that a vanished worker had taken before delivering it again (production: 1 hour).
VISIBILITY_TIMEOUT = 12
WORKLIST_TASK = "collections_app.build_all_worklists"

if not DATABASE_URL.startswith("postgres"):
    pytest.skip("the production stack runs on PostgreSQL: set DATABASE_URL=postgres://...", allow_module_level=True)

psycopg = pytest.importorskip("psycopg")
redis = pytest.importorskip("redis")

# Run by `manage.py shell -c` under the production settings: the demo portfolio (seed_demo's own command refuses
# without DEBUG; the function is what it runs), two more collectors sharing the loans, and an Integration user with
# a token from `manage.py create_api_token` (called here rather than in one more process).
SEED = """
import io, json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.contrib.auth.models import Group
from collections_app.demo import seed_demo
from collections_app.loans.services import loan_assign
from collections_app.models import Loan, LoanStatus
from collections_app.permissions import COLLECTOR, INTEGRATION
from consent_app.models import Consent

password = {password!r}
seed_demo(password=password)
User = get_user_model()
collectors = [User.objects.get(username="collector1"), User.objects.get(username="collector2")]
for name in ("collector3", "collector4"):
    user = User.objects.create_user(name, password=password)
    user.groups.add(Group.objects.get(name=COLLECTOR))
    collectors.append(user)
for i, loan in enumerate(Loan.objects.filter(assigned_collector__isnull=False).order_by("pk")):
    loan_assign(loan=loan, collector=collectors[i % 4], actor=None, reason="integration test")
integration = User.objects.create_user("it_loan_system", password=password)
integration.groups.add(Group.objects.get(name=INTEGRATION))
consent = (
    Consent.objects.filter(withdrawn_at__isnull=True, phone__borrower__loans__status=LoanStatus.ACTIVE)
    .select_related("phone").order_by("pk").first()
)
loan = consent.phone.borrower.loans.filter(status=LoanStatus.ACTIVE).order_by("pk").first()
token = io.StringIO()
call_command("create_api_token", "it_loan_system", "--name", "integration test", stdout=token, stderr=io.StringIO())
print(json.dumps({{"loan_ref": loan.loan_ref, "phone": consent.phone.e164, "token": token.getvalue().strip()}}))
"""


# --- Processes -------------------------------------------------------------------------------------------------


class Formation:
    """`honcho start PROCESS...` from the Procfile, in a session of its own, its output in a log file."""

    def __init__(self, names: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.log = log
        self._out = log.open("ab")
        self.honcho = subprocess.Popen(
            [str(BIN / "honcho"), "--no-colour", "-f", str(ROOT / "Procfile"), "-d", str(ROOT),
             "-e", env["HONCHO_ENV_FILE"], "start", "-p", str(port), *names],
            cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def children(self) -> list[int]:
        """The process groups honcho started (each Procfile process runs in a session of its own)."""
        return [int(pid) for pid in re.findall(r"started \(pid=(\d+)\)", self.log.read_text(errors="replace"))]

    def kill(self) -> None:
        """SIGKILL to every process of the formation at once: what a lost machine looks like to the others."""
        for group in [*self.children(), self.honcho.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        self.honcho.wait(timeout=30)
        self._out.close()

    def stop(self) -> None:
        """honcho's own shutdown (SIGTERM to every process), then SIGKILL to whatever is left."""
        if self.honcho.poll() is None:
            self.honcho.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.honcho.wait(timeout=30)
        self.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(what: str, predicate: Callable[[], Any], timeout: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in logs if log.exists())
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")


def _manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    if check and result.returncode != 0:
        pytest.fail(f"manage.py {args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


# --- HTTP ------------------------------------------------------------------------------------------------------


def _http(method: str, url: str, body: Any = None, token: str = "", proxied: bool = True) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if proxied:
        headers["X-Forwarded-Proto"] = "https"  # what the TLS-terminating proxy in front of gunicorn adds
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers=headers, method=method)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def _ready(base: str) -> bool:
    try:
        return _http("GET", f"{base}/readyz", proxied=False)[0] == 200
    except OSError:
        return False


# --- Databases -------------------------------------------------------------------------------------------------


def _url_of(name: str) -> str:
    return urlunsplit(urlsplit(DATABASE_URL)._replace(path=f"/{name}", query=""))


def _admin(sql: str) -> None:
    with psycopg.connect(_url_of("postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _worklists(url: str) -> dict[int, tuple[int, int, datetime]]:
    """{collector id: (entries, distinct loans, oldest built_at)} of every worklist in the database."""
    rows = _query(url, "SELECT collector_id, count(*), count(DISTINCT (loan_id, work_date)), min(built_at) "
                       "FROM collections_app_worklistentry GROUP BY collector_id")
    return {collector: (entries, distinct, built) for collector, entries, distinct, built in rows}


# --- The test --------------------------------------------------------------------------------------------------


def test_the_procfile_stack_runs_the_nightly_job_through_a_killed_worker_and_restores_from_a_dump(tmp_path):
    base_name = urlsplit(DATABASE_URL).path.lstrip("/") or "collector_desk"
    db_name, restore_name = f"{base_name}_it", f"{base_name}_it_restore"
    db_url, restore_url = _url_of(db_name), _url_of(restore_name)
    broker = redis.Redis.from_url(BROKER_URL, socket_timeout=5)
    try:
        broker.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {BROKER_URL}")
    (tmp_path / "empty.env").write_text("")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {key: os.environ[key] for key in ("HOME", "LANG", "LC_ALL", "TMPDIR") if key in os.environ}
    env.update({
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PYTHONUNBUFFERED": "1",
        "HONCHO_ENV_FILE": str(tmp_path / "empty.env"),
        # Every variable production.py requires, with throwaway values.
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": BROKER_URL,
        "FERNET_KEYS": f"{secrets.token_urlsafe(32)},{secrets.token_urlsafe(32)}",
        "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "AUDIT_CHAIN_KEYS": f"it2:{secrets.token_hex(32)},it1:{secrets.token_hex(32)}",
        "AUDIT_CHECKPOINT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ALERT_EMAILS": "compliance-alerts@example.test",
        # Chosen for the test: mail to the log, checkpoints every few seconds, a short redelivery delay.
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "DJANGO_TIME_ZONE": TIME_ZONE,
        "AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "AUDIT_CHECKPOINT_SECONDS": "3",
        "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp_path / "celerybeat-schedule"),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "CELERY_WORKER_CONCURRENCY": "2",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
    })
    web_log, worker_log, new_worker_log = (tmp_path / f"{name}.log" for name in ("web-beat", "worker", "worker-2"))
    logs = [web_log, worker_log, new_worker_log]
    formations: list[Formation] = []
    for name in (db_name, restore_name):
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    broker.flushdb()
    try:
        _admin(f'CREATE DATABASE "{db_name}"')
        _manage(env, "migrate", "--noinput")

        # 1. The Procfile's web and beat, and a worker (a formation of its own, so that it can be killed alone:
        #    honcho stops every process when one of them dies).
        formations.append(Formation(["web", "beat"], env, web_log, port))
        formations.append(Formation(["worker"], env, worker_log, port + 1))
        _wait("/readyz", lambda: _ready(base), 90, logs)
        assert _http("GET", f"{base}/healthz", proxied=False) == (200, "ok")
        assert _http("GET", f"{base}/readyz", proxied=False) == (
            200, {"status": "ready", "checks": {"database": "ok", "broker": "ok", "keys": "ok"}})
        assert _http("GET", f"{base}/accounts/login/", proxied=False)[0] == 301  # production: HTTPS only

        # 2. Data, a token and two API calls over HTTP.
        seeded = json.loads(_manage(env, "shell", "-c", SEED.format(password=secrets.token_urlsafe(16)))
                            .stdout.strip().splitlines()[-1])
        token = seeded["token"]
        status, check = _http("POST", f"{base}/api/v1/contact-checks", token=token,
                              body={"loan_ref": seeded["loan_ref"], "phone": seeded["phone"], "channel": "call"})
        assert status == 200, check
        assert isinstance(check["allowed"], bool) and check["policy"]["code"]
        started = (datetime.now(ZoneInfo(TIME_ZONE)) - timedelta(minutes=2)).isoformat(timespec="seconds")
        status, attempt = _http("POST", f"{base}/api/v1/contact-attempts", token=token, body={
            "external_id": "it-dialer-0001", "loan_ref": seeded["loan_ref"], "phone": seeded["phone"],
            "channel": "call", "direction": "outbound", "started_at": started, "outcome": "no_answer",
        })
        assert status == 201, attempt
        assert _query(db_url, "SELECT count(*) FROM collections_app_contactattempt WHERE external_id = %s",
                      ("it-dialer-0001",)) == [(1,)]
        assert _http("POST", f"{base}/api/v1/contact-checks", body={})[0] == 401  # no token, no answer

        # 3. The nightly build through the broker (the task that rebuilds every list): every collector gets one.
        today = datetime.now(ZoneInfo(TIME_ZONE)).date()
        expected = {collector for (collector,) in _query(
            db_url, "SELECT DISTINCT assigned_collector_id FROM collections_app_loan WHERE status = 'active' "
                    "AND assigned_collector_id IS NOT NULL AND due_date < %s", (today,))}
        assert len(expected) == 4
        _send(WORKLIST_TASK)
        first = _wait("every collector's worklist", lambda: _complete(db_url, expected), 120, logs)

        # 4. The job again, with one collector's worklist row-locked by this test: the worker that takes that
        #    collector's share is stuck inside it, and is killed there.
        victim = min(expected)
        lock = psycopg.connect(db_url)
        lock.execute("SELECT id FROM collections_app_worklistentry WHERE collector_id = %s LIMIT 1 FOR UPDATE",
                     (victim,))
        (rerun_at,) = _query(db_url, "SELECT now()")[0]
        _send(WORKLIST_TASK)
        _wait("a worker blocked inside the job", lambda: _query(
            db_url, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
                    "AND pid <> %s", (db_name, lock.info.backend_pid))[0][0] > 0, 60, logs)
        formations[1].kill()
        killed_at = time.monotonic()
        in_flight = _unacked(broker)
        # Delivered to the dead worker and never acknowledged: the broker still has them.
        jobs = {task_id for task, task_id in in_flight.values() if task.startswith("collections_app.")}
        assert jobs, in_flight
        lock.rollback()
        lock.close()
        # The victim's worklist is still the one of the first run: the killed build was rolled back.
        assert _worklists(db_url)[victim][2] < rerun_at

        # 5. A new worker, once the broker's visibility timeout has passed: the job completes, once.
        time.sleep(max(0.0, VISIBILITY_TIMEOUT + 1 - (time.monotonic() - killed_at)))
        formations[1] = Formation(["worker"], env, new_worker_log, port + 1)
        final = _wait("the killed job to complete on the new worker", lambda: not set(in_flight) & set(
            _unacked(broker)) and _complete(db_url, expected, built_after=rerun_at), 120, logs)
        for collector in expected:
            entries, distinct, _built = final[collector]
            assert entries == distinct == first[collector][0], (collector, final[collector], first[collector])
        # The killed worker finished none of its unacknowledged jobs; the new one finished each of them once.
        for task_id in jobs:
            assert f"[{task_id}] succeeded" not in worker_log.read_text(errors="replace")
            assert new_worker_log.read_text(errors="replace").count(f"[{task_id}] succeeded") == 1, task_id

        # 6. Everything stops; no job failed along the way (a failure would have raised an alert).
        for formation in formations:
            formation.stop()
        output = "".join(log.read_text(errors="replace") for log in logs)
        assert "ALERT" not in output
        assert "Traceback" not in output

        # 7. Backup and restore as the README has it: the checkpoints copied, then pg_dump; restored into a fresh
        #    database, whose audit chain verifies there with the deployment's keys and the copied checkpoints, and
        #    does not without its chain keys.
        shutil.copytree(tmp_path / "checkpoints", tmp_path / "checkpoints-copy")
        dump = tmp_path / "collector_desk.dump"
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", db_url], check=True,
                       timeout=300)
        _admin(f'CREATE DATABASE "{restore_name}"')
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restore_url}", str(dump)],
                       check=True, timeout=300)
        restored = {**env, "DATABASE_URL": restore_url}
        verified = _manage(restored, "verify_audit_chain", "--checkpoint-dir", str(tmp_path / "checkpoints-copy"))
        assert "audit chain intact" in verified.stdout, verified.stdout + verified.stderr
        checkpoints = re.search(r"(\d+) checkpoints", verified.stdout)
        assert checkpoints and int(checkpoints.group(1)) > 0, verified.stdout
        other_keys = {**restored, "AUDIT_CHAIN_KEYS": f"it2:{secrets.token_hex(32)},it1:{secrets.token_hex(32)}"}
        refused = _manage(other_keys, "verify_audit_chain", "--no-seal", check=False)
        assert refused.returncode != 0 and "break" in refused.stderr
    finally:
        for formation in formations:
            formation.stop()
        for name in (db_name, restore_name):
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        broker.flushdb()
        broker.close()


def _send(task: str) -> None:
    """Enqueue a task by name, as beat does (this process needs no Django)."""
    client = Celery("integration-test", broker=BROKER_URL)
    with client.connection_for_write() as connection:
        client.send_task(task, connection=connection)


def _unacked(broker: Any) -> dict[str, tuple[str, str]]:
    """{delivery tag: (task name, task id)} of the messages delivered to a worker and not acknowledged yet
    (kombu's Redis transport keeps them in the `unacked` hash until the worker acknowledges them)."""
    tasks = {}
    for tag, raw in broker.hgetall("unacked").items():
        headers = json.loads(raw)[0].get("headers", {})
        tasks[tag.decode()] = (headers.get("task", ""), headers.get("id", ""))
    return tasks


def _complete(url: str, collectors: set[int], built_after: datetime | None = None) -> dict | None:
    """The worklists, once every collector in `collectors` has one (built after `built_after`) and none is being
    rebuilt (two reads a second apart agree); else None."""
    lists = _worklists(url)
    if lists.keys() != collectors or any(built_after and built < built_after for _n, _d, built in lists.values()):
        return None
    time.sleep(1)
    return lists if _worklists(url) == lists else None
