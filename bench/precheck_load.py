"""Benchmark: the dialer's pre-check against a plain page of the same server, under concurrent clients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/collector_desk .venv/bin/python bench/precheck_load.py
        [--seconds 15] [--rounds 3] [--clients 8] [--batch-sizes 100,1000] [--extra-loans 2000]

PostgreSQL only. A fresh database <name>_bench_precheck is created on that server, migrated and seeded, and dropped
afterwards. The web process is the Procfile's `web` line (gunicorn with deploy/gunicorn.conf.py) under
config.settings.production (with STATIC_ROOT in a temporary directory, where collectstatic writes the manifest the
pages need), every secret a throwaway value, as tests/integration starts it; worker recycling is off for the run.
Requests carry `X-Forwarded-Proto: https` as the TLS-terminating proxy's would.

The portfolio: the demo portfolio (`collections_app.demo.seed_demo`: ~120 loans, CN/US/UK, third parties,
restrictions, withdrawn consents) plus `--extra-loans` generated CN loans with one or two consented numbers, and
an attempt history for every number (0-7 calls in the last week). The instant judged is fixed for the run (today
10:30 in Shanghai; `--at` to change it), so the decisions are a mix of allowed and refused (caps, consents,
US and UK borrowers outside their hours).

Each client is a process of its own (no shared GIL with the others) with one keep-alive connection, looping on
each target for `--seconds` in all, the targets taking turns in `--rounds` rounds (so that what other processes of
a shared machine do weighs on every target alike):
- the floor: `GET /healthz`, answered by the first middleware (what gunicorn and the clients cost by themselves);
- (a) the plain page: `GET /notifications/` signed in as a collector (a session per client; a real template page with
  the desk's layout, the same one-user-one-role authentication level as a token);
- (b) the pre-check: `POST /api/v1/contact-checks`, cycling through the portfolio's (loan, number) pairs;
- (c) the batch pre-check: `POST /api/v1/contact-checks/batch` with N items per request, for each N of
  `--batch-sizes`; its throughput is counted in numbers per second.
It prints requests per second, latencies and the ratios pre-check / plain page (and / floor) and batch / single
per number.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import multiprocessing
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

SEED = r"""
import datetime as dt, json, random
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
import io

from collections_app.demo import seed_demo
from collections_app.models import ContactAttempt, Loan, LoanStatus
from collections_app.permissions import INTEGRATION
from consent_app.models import Borrower, Consent, PhoneNumber
from consent_app.phones import blind_index, last_four, parse_number

extra = {extra}
seed_demo(password={password!r})
rng = random.Random(2027)
now = timezone.now()
prefixes = ("138", "139", "150", "186", "188", "137")
borrowers = Borrower.objects.bulk_create([
    Borrower(borrower_ref=f"BENCH-B{{i:06d}}", full_name=f"Bench Borrower {{i}}", timezone="Asia/Shanghai",
             jurisdiction="CN") for i in range(extra)
])
phones = []
for i, borrower in enumerate(borrowers):
    for k in range(1 + (i % 3 == 0)):
        e164 = f"+86{{prefixes[(i + k) % 6]}}{{(i * 7919 + k * 104729) % 100000000:08d}}"
        parsed = parse_number(e164)
        phones.append(PhoneNumber(borrower=borrower, e164=e164, blind_index=blind_index(e164),
                                  last_four=last_four(e164), region="CN", kind="mobile", status="active",
                                  zones=list(parsed.zones)))
phones = PhoneNumber.objects.bulk_create(phones)
Consent.objects.bulk_create([
    Consent(phone=phone, allows_call=True, allows_sms=i % 2 == 0, basis="electronic", evidence_ref=f"BENCH-{{i}}",
            granted_at=now - dt.timedelta(days=60)) for i, phone in enumerate(phones) if i % 10 != 9
])
Loan.objects.bulk_create([
    Loan(loan_ref=f"BENCH-L{{i:06d}}", borrower=borrower, principal=10000, balance=6000, currency="CNY",
         due_date=timezone.localdate() - dt.timedelta(days=30 + i % 90), status="active")
    for i, borrower in enumerate(borrowers)
])
loans_by_borrower = {{loan.borrower_id: loan for loan in Loan.objects.filter(status=LoanStatus.ACTIVE)}}
pairs = [(loan.loan_ref, phone) for phone in PhoneNumber.objects.select_related("borrower")
         if (loan := loans_by_borrower.get(phone.borrower_id)) is not None]
attempts = []
for loan_ref, phone in pairs:
    loan = loans_by_borrower[phone.borrower_id]
    for k in range(rng.randrange(8)):
        attempts.append(ContactAttempt(
            loan=loan, phone=phone, borrower_id=phone.borrower_id, channel="call", direction="outbound",
            started_at=now - dt.timedelta(hours=rng.randrange(1, 24 * 7)), outcome=rng.choice(
                ["no_answer", "no_answer", "not_connected", "voicemail"]), compliant=True, reasons=[],
            source="dialer"))
ContactAttempt.objects.bulk_create(attempts, batch_size=2000)

integration = get_user_model().objects.create_user("bench_dialer", password={password!r})
integration.groups.add(Group.objects.get(name=INTEGRATION))
token = io.StringIO()
call_command("create_api_token", "bench_dialer", "--name", "bench", stdout=token, stderr=io.StringIO())
# One session per client, as each collector's browser has its own (a session row is written at each request).
sessions = []
for _ in range({clients}):
    browser = Client()
    browser.force_login(get_user_model().objects.get(username="collector1"))
    sessions.append(browser.cookies[settings.SESSION_COOKIE_NAME].value)
print(json.dumps({{
    "token": token.getvalue().strip(),
    "session_cookie": settings.SESSION_COOKIE_NAME, "sessions": sessions,
    "pairs": [[loan_ref, phone.e164] for loan_ref, phone in pairs],
    "loans": Loan.objects.count(), "numbers": PhoneNumber.objects.count(), "attempts": ContactAttempt.objects.count(),
}}))
"""


# --- Setup -------------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres", query="")), autocommit=True) as conn:
        conn.execute(sql)


def _environment(db_url: str, tmp: Path, port: int) -> dict[str, str]:
    # The production settings, but for where collectstatic writes (STATIC_ROOT is the checkout's staticfiles/,
    # which the bench leaves alone): the pages' {% static %} need the manifest, as after a deployment.
    (tmp / "bench_settings.py").write_text(
        "from config.settings.production import *  # noqa: F403\n"
        f"STATIC_ROOT = {str(tmp / 'static')!r}\n"
    )
    env = {key: os.environ[key] for key in ("HOME", "LANG", "LC_ALL", "TMPDIR") if key in os.environ}
    env.update({
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(tmp),
        "PYTHONUNBUFFERED": "1",
        "PORT": str(port),
        # Every variable production.py requires, with throwaway values (tests/integration does the same).
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": db_url,
        # Required by the settings, never contacted by the pages measured (production seals from beat).
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
        "FERNET_KEYS": secrets.token_urlsafe(32),
        "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "AUDIT_CHAIN_KEYS": f"bench:{secrets.token_hex(32)}",
        "AUDIT_CHECKPOINT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "AUDIT_CHECKPOINT_DIR": str(tmp / "checkpoints"),
        "ALERT_EMAILS": "bench@example.test",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "DJANGO_TIME_ZONE": "Asia/Shanghai",
        # Worker recycling (GUNICORN_MAX_REQUESTS, 2,000 by default) off for the run: it would charge the faster
        # target with more worker restarts. Everything else is deploy/gunicorn.conf.py's default.
        "GUNICORN_MAX_REQUESTS": "1000000",
    })
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=1800)
    if result.returncode != 0:
        sys.exit(f"manage.py {args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def _web_command() -> str:
    """The Procfile's `web` line, so the bench serves the way production does."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    sys.exit("no web process in the Procfile")


def _start_web(env: dict[str, str], log: Path, port: int) -> subprocess.Popen:
    out = log.open("ab")
    web = subprocess.Popen(["sh", "-c", _web_command()], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                           start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if web.poll() is not None:
            sys.exit(f"gunicorn exited:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return web
        time.sleep(0.5)
    sys.exit(f"gunicorn did not start:\n{log.read_text(errors='replace')[-3000:]}")


# --- Clients -----------------------------------------------------------------------------------------------------


def _client(args: tuple) -> tuple[int, int, int, list[float]]:
    """One client process: requests on one keep-alive connection until the deadline. Returns (requests answered
    as expected, numbers judged, unexpected answers, latencies in seconds)."""
    port, target, headers, bodies, start_at, seconds = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    done = numbers = bad = 0
    latencies: list[float] = []
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + seconds
    i = 0
    while time.time() < deadline:
        method, path, body, count = bodies[i % len(bodies)]
        i += 1
        began = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            bad += 1
            continue
        latencies.append(time.perf_counter() - began)
        if response.status != 200 or (target != "page" and not payload.startswith(b"{")):
            if bad == 0:
                print(f"{target}: unexpected {response.status} {payload[:200]!r}", file=sys.stderr)
            bad += 1
            continue
        done += 1
        numbers += count
    conn.close()
    return done, numbers, bad, latencies


def _measure(port: int, clients: int, seconds: float, target: str,
             headers: dict[str, str] | list[dict[str, str]], bodies: list[list[tuple]]) -> dict[str, Any]:
    """Every client at once for `seconds`; `headers` one for all or one per client (each its own session)."""
    start_at = time.time() + 1.0
    jobs = [(port, target, headers[c % len(headers)] if isinstance(headers, list) else headers,
             bodies[c % len(bodies)], start_at, seconds) for c in range(clients)]
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, jobs)
    return {"done": sum(r[0] for r in results), "numbers": sum(r[1] for r in results),
            "bad": sum(r[2] for r in results), "latencies": [x for r in results for x in r[3]]}


def _combine(parts: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    latencies = sorted(x for part in parts for x in part["latencies"])

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return {"requests_per_s": sum(p["done"] for p in parts) / seconds,
            "numbers_per_s": sum(p["numbers"] for p in parts) / seconds, "bad": sum(p["bad"] for p in parts),
            "p50_ms": percentile(0.5), "p95_ms": percentile(0.95)}


def _check_bodies(pairs: list[list[str]], at: str, clients: int) -> list[list[tuple]]:
    """Per client, its own slice of the pairs (one request body each)."""
    per_client = []
    for c in range(clients):
        mine = pairs[c::clients]
        per_client.append([("POST", "/api/v1/contact-checks", json.dumps(
            {"loan_ref": ref, "phone": phone, "channel": "call", "at": at}).encode(), 1) for ref, phone in mine])
    return per_client


def _batch_bodies(pairs: list[list[str]], at: str, clients: int, size: int) -> list[list[tuple]]:
    per_client = []
    for c in range(clients):
        mine = pairs[c::clients]
        batches = []
        for start in range(0, len(mine), size):
            chunk = (mine[start:start + size] * size)[:size]  # every batch full
            items = [{"loan_ref": ref, "phone": phone, "channel": "call", "at": at} for ref, phone in chunk]
            batches.append(("POST", "/api/v1/contact-checks/batch", json.dumps({"items": items}).encode(), size))
        per_client.append(batches)
    return per_client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each target")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="turns each target takes (of seconds/rounds each)")
    parser.add_argument("--batch-sizes", default="100,1000")
    parser.add_argument("--extra-loans", type=int, default=2000)
    parser.add_argument("--keep-database", action="store_true", help="leave the seeded database for inspection")
    parser.add_argument("--at", default="", help="the instant judged (ISO 8601); default today 10:30 in Shanghai")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL server (postgres://...)")
    name = f"{urlsplit(url).path.lstrip('/') or 'postgres'}_bench_precheck"
    db_url = urlunsplit(urlsplit(url)._replace(path=f"/{name}", query=""))
    at = args.at or datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=10, minute=30, second=0,
                                                                     microsecond=0).isoformat()
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(url, f'CREATE DATABASE "{name}"')
    web = None
    with tempfile.TemporaryDirectory(prefix="bench-precheck-") as tmp_dir:
        tmp = Path(tmp_dir)
        port = _free_port()
        env = _environment(db_url, tmp, port)
        try:
            began = time.monotonic()
            _manage(env, "migrate", "--noinput")
            _manage(env, "collectstatic", "--noinput", "-v", "0")
            seeded = json.loads(_manage(env, "shell", "-c", SEED.format(
                password=secrets.token_urlsafe(16), extra=args.extra_loans, clients=args.clients,
            )).strip().splitlines()[-1])
            print(f"seeded {seeded['loans']} loans, {seeded['numbers']} numbers, {seeded['attempts']} attempts "
                  f"in {time.monotonic() - began:.0f} s; judging at {at}")
            web = _start_web(env, tmp / "web.log", port)
            proxied = {"Host": f"127.0.0.1:{port}", "X-Forwarded-Proto": "https"}
            api = {**proxied, "Authorization": f"Bearer {seeded['token']}", "Content-Type": "application/json",
                   "Accept-Language": "en"}
            page = [{**proxied, "Cookie": f"{seeded['session_cookie']}={session}", "Accept-Language": "en"}
                    for session in seeded["sessions"]]
            rng_pairs = seeded["pairs"]
            targets = [("floor GET /healthz", "page", proxied, [[("GET", "/healthz", None, 1)]]),
                       ("plain page GET /notifications/", "page", page,
                        [[("GET", "/notifications/", None, 1)]]),
                       ("pre-check POST /contact-checks", "check", api, _check_bodies(rng_pairs, at, args.clients))]
            for size in (int(s) for s in args.batch_sizes.split(",") if s):
                targets.append((f"batch of {size} POST /contact-checks/batch", "batch", api,
                                _batch_bodies(rng_pairs, at, args.clients, size)))
            # A warm-up of every target: each gunicorn process imports, connects and loads its policy copy.
            for _label, target, headers, bodies in targets:
                _measure(port, args.clients, 2.0, target, headers, bodies)
            # The targets take turns, `--rounds` times, so that the load other processes put on a shared machine
            # weighs on each of them alike; the figures are the sums over the rounds.
            rounds: dict[str, list[dict[str, Any]]] = {label: [] for label, *_rest in targets}
            for _round in range(args.rounds):
                for label, target, headers, bodies in targets:
                    rounds[label].append(
                        _measure(port, args.clients, args.seconds / args.rounds, target, headers, bodies))
            results = {label: _combine(parts, args.seconds) for label, parts in rounds.items()}
            for label, r in results.items():
                print(f"{label:<44} {r['requests_per_s']:8.1f} req/s  {r['numbers_per_s']:9.1f} numbers/s  "
                      f"p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  unexpected {r['bad']}")
            labels = list(results)
            floor, plain, single = (results[label] for label in labels[:3])
            print(f"\npre-check / plain page: {single['requests_per_s'] / plain['requests_per_s']:.2f}x")
            print(f"pre-check / floor: {single['requests_per_s'] / floor['requests_per_s']:.2f}x, "
                  f"plain page / floor: {plain['requests_per_s'] / floor['requests_per_s']:.2f}x")
            for label in labels[3:]:
                print(f"{label} / single, per number: "
                      f"{results[label]['numbers_per_s'] / single['numbers_per_s']:.1f}x")
            print(f"\nmachine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}; "
                  f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {args.clients} clients, "
                  f"{args.seconds:.0f} s per target")
        finally:
            if web is not None and web.poll() is None:
                os.killpg(web.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    web.wait(timeout=30)
                if web.poll() is None:
                    os.killpg(web.pid, signal.SIGKILL)
            if not args.keep_database:
                _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
