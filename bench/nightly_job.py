"""Benchmark: the nightly worklist job (`collections_app.build_all_worklists`) against the pure policy engine's
time for the same decisions.

    .venv/bin/python bench/nightly_job.py [--loans 2000] [--at 05:30,10:00] [--profile]    # SQLite (a temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/collector_desk_h12 .venv/bin/python bench/nightly_job.py \
        --loans 10000,40000 --at 05:30,10:00 [--workers 1,2]

PostgreSQL: a fresh database <name>_bench is created on that server for each size and dropped afterwards (only
that name is ever dropped). Each size runs in its own interpreter: a synthetic portfolio (generated data only,
bulk inserts, fixed seed; see `_portfolio`), then, in the same process and at the same instant:

- the floor: `policy.evaluate(snapshot, "call", now)` for every number of every loan the job lists, the snapshots
  built beforehand (best of three rounds, measured before and after the job, the best kept: the machine's other
  load counts as little as possible);
- the job, eager (`CELERY_TASK_ALWAYS_EAGER`), at each `--at` desk time (time-machine, the clock ticking from
  there; beat starts the job at 05:30, before the CN window opens, so every CN number waits for 08:00; at 10:00
  most are allowed and the engine has less to do per decision): `build_all_worklists` plans the chunks and every
  chunk task runs in this process, one after the other, once on empty lists and once again over them (what a
  rerun or a redelivery does);
- with `--workers 1,2` (PostgreSQL only): the same job through Redis (CELERY_BROKER_URL, default
  redis://127.0.0.1:6379/12) with N worker processes of one slot each, started here and stopped afterwards, on the
  real clock; the time runs from the fan-out until the last entry is in the database.

It prints each run's time, the chunk tasks sent and the ratio to the floor; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 2026
DEFAULT_BROKER = "redis://127.0.0.1:6379/12"


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", default="2000", help="comma-separated portfolio sizes")
    parser.add_argument("--collectors", type=int, default=4)
    parser.add_argument("--chunk-size", type=int, default=0, help="WORKLIST_CHUNK_SIZE (default: the setting)")
    parser.add_argument("--workers", default="0", help="comma-separated: 0 = eager, N = N real Celery workers")
    parser.add_argument("--profile", action="store_true", help="cProfile one eager run and print the top entries")
    parser.add_argument("--at", default="", help="eager runs at these desk times, e.g. 05:30,10:00 (default: now)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    sizes = [int(n) for n in args.loans.split(",")]
    worker_counts = [int(n) for n in args.workers.split(",")]
    if url.startswith("postgres"):
        parts = urlsplit(url)
        name = f"{parts.path.lstrip('/') or 'collector_desk'}_bench"
        bench_url = urlunsplit(parts._replace(path=f"/{name}"))
        print(f"PostgreSQL database {name}")
        try:
            for size in sizes:
                _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                _admin(url, f'CREATE DATABASE "{name}"')
                _child(bench_url, size, args, worker_counts)
        finally:
            _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        if any(worker_counts):
            sys.exit("real workers need PostgreSQL (SQLite serialises writers)")
        for size in sizes:
            db = Path(tempfile.mkdtemp()) / "bench.sqlite3"
            _child(f"sqlite:///{db}", size, args, worker_counts)


def _child(database_url: str, size: int, args: argparse.Namespace, worker_counts: list[int]) -> None:
    """One portfolio size in a fresh interpreter, so one size's memory and caches do not flatter the next."""
    command = [sys.executable, __file__, "--run", str(size), "--collectors", str(args.collectors),
               "--chunk-size", str(args.chunk_size), "--workers", ",".join(map(str, worker_counts))]
    if args.profile:
        command.append("--profile")
    if args.at:
        command += ["--at", args.at]
    subprocess.run(command, check=True, env={**os.environ, **_env(database_url)})


def _env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "False",
        "AUDIT_SEAL_ON_COMMIT": "False",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", DEFAULT_BROKER),
        "CELERY_TASK_ALWAYS_EAGER": "True",
    }


# --- One size, inside Django ---------------------------------------------------------------------------------------


def run(size: int, collectors: int, chunk_size: int, worker_counts: list[int], profile: bool, at: list[str]) -> None:
    import django

    django.setup()
    import time_machine
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    if chunk_size:
        settings.WORKLIST_CHUNK_SIZE = chunk_size
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    instants = [_desk_time(hhmm) for hhmm in at] if at else [timezone.now()]
    # Generated around the earliest instant measured, so its "last ten days" hold every attempt.
    with time_machine.travel(min(instants), tick=False):
        _portfolio(size, collectors)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # statistics, as a production database has them (autovacuum may lag behind)
    print(f"\n{size:,} loans, {collectors} collectors, chunk size {settings.WORKLIST_CHUNK_SIZE} "
          f"({connection.vendor}); portfolio written in {time.perf_counter() - started:.0f} s")
    for instant in instants:
        # Eager runs at a chosen instant (desk time); the clock ticks on from there.
        with time_machine.travel(instant, tick=True):
            _eager(instant, profile)
    if connection.vendor != "postgresql":
        return
    for instant in instants:
        for workers in [n for n in worker_counts if n]:
            # This process and the workers each start their clock at the same desk time (with --at), ticking.
            with time_machine.travel(instant, tick=True):
                _with_workers(workers, instant if at else None)


def _desk_time(hhmm: str) -> datetime:
    from django.utils import timezone

    hour, minute = map(int, hhmm.split(":"))
    return timezone.localtime().replace(hour=hour, minute=minute, second=0, microsecond=0)


def _eager(now: datetime, profile: bool) -> None:
    from django.utils import timezone

    from collections_app.desk.tasks import build_all_worklists
    from collections_app.models import WorklistEntry
    from config.celery import app

    app.conf.task_always_eager = True
    floor_s, decisions, listed = _floor(now)
    print(f"at {timezone.localtime(now):%H:%M} desk time: floor {decisions:,} decisions for {listed:,} listed loans "
          f"in {floor_s:.2f} s ({decisions / floor_s:,.0f} decisions/s)")
    # A first run warms what a long-lived worker has warm (imports, the broker's producer pool, phonenumbers'
    # metadata); it is reported, then the job runs on emptied lists and once more over them.
    start = time.perf_counter()
    build_all_worklists.apply().get()
    first_s = time.perf_counter() - start
    WorklistEntry.objects.all().delete()
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    tasks = build_all_worklists.apply().get()
    if profiler:
        profiler.disable()
    eager_s = time.perf_counter() - start
    assert WorklistEntry.objects.count() == listed, (WorklistEntry.objects.count(), listed)
    start = time.perf_counter()
    build_all_worklists.apply().get()
    rebuild_s = time.perf_counter() - start
    assert WorklistEntry.objects.count() == listed
    floor_s = min(floor_s, _floor(now)[0])  # the floor again, after the job: the best of both
    _report("eager, first run in the process", first_s, floor_s, tasks, listed)
    _report("eager, empty lists", eager_s, floor_s, tasks, listed)
    _report("eager, rebuild over them", rebuild_s, floor_s, tasks, listed)
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def _report(label: str, seconds: float, floor_s: float, tasks: int, entries: int) -> None:
    print(f"  job {label}: {seconds:.2f} s, {tasks} chunk tasks, {entries:,} entries, "
          f"{seconds / floor_s:.2f}x the floor ({floor_s:.2f} s)")


def _floor(now: datetime) -> tuple[float, int, int]:
    """The pure engine's time for the decisions the job makes: every number of every loan it lists, the snapshots
    built beforehand; best of three rounds."""
    from django.utils import timezone

    from collections_app import policy
    from collections_app.contact.selectors import contact_snapshots_for_loans
    from collections_app.desk.selectors import listed_loans

    loans = list(listed_loans(timezone.localdate(now)).select_related("borrower").order_by("pk"))
    snapshots = []
    for i in range(0, len(loans), 2000):
        for entries in contact_snapshots_for_loans(loans[i:i + 2000], now).values():
            snapshots += [snapshot for _phone, snapshot in entries]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for snapshot in snapshots:
            policy.evaluate(snapshot, channel="call", at=now)
        best = min(best, time.perf_counter() - start)
    return best, len(snapshots), len(loans)


def _with_workers(workers: int, at: datetime | None) -> None:
    """The job through the broker, N worker processes of one slot each (`celery -A config worker`, prefork pool,
    concurrency 1), their clocks set to `at` (ticking; the real clock without --at); done when every entry is
    written. The floor is measured at the same instant, before and after; the tasks each worker ran come from
    its own stats (`inspect().stats()`)."""
    from django.db import connections
    from django.utils import timezone

    from collections_app.desk.tasks import build_all_worklists
    from collections_app.models import WorklistEntry
    from config.celery import app

    now = timezone.now()
    floor_s, decisions, listed = _floor(now)
    app.conf.task_always_eager = False
    app.control.purge()
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "False"}
    log = open(Path(tempfile.gettempdir()) / f"nightly_job_workers_{os.getpid()}.log", "a")  # noqa: SIM115
    launcher = [sys.executable, __file__, "--worker-at", at.isoformat()] if at else [sys.executable, "-m", "celery"]
    procs = [
        subprocess.Popen(
            [*launcher, "-A", "config", "worker", "--concurrency", "1", "--pool", "prefork",
             "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"bench{n}-{os.getpid()}@%h", "--loglevel", "WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )
        for n in range(workers)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=0.5) or []) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
        WorklistEntry.objects.all().delete()
        connections.close_all()
        start = time.perf_counter()
        tasks = build_all_worklists.apply().get()  # the fan-out here; the chunks go to the workers
        while WorklistEntry.objects.count() < listed:
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        stats = app.control.inspect(timeout=5).stats() or {}
        ran = {name.split("@")[0]: sum(s.get("total", {}).values()) for name, s in stats.items()
               if name.startswith("bench") and name.split("@")[0].endswith(f"-{os.getpid()}")}
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=120)
        log.close()
        app.conf.task_always_eager = True
    floor_s = min(floor_s, _floor(now)[0])
    clock = "desk" if at else "real clock, desk"
    print(f"{clock} time {timezone.localtime(now):%H:%M}, {decisions:,} decisions; tasks run per worker: "
          f"{', '.join(f'{name} {count}' for name, count in sorted(ran.items()))}")
    _report(f"{workers} worker{'s' if workers > 1 else ''} (Redis)", elapsed, floor_s, tasks, listed)


# --- The synthetic portfolio -----------------------------------------------------------------------------------------


def _portfolio(size: int, collectors: int) -> None:
    """Generated data, written in bulk (no history rows: the job does not read them). Per loan: a borrower (97% CN,
    2% US, 1% UK; every 5th loan shares the previous loan's borrower), a mobile, a second own number for 1 in 3
    borrowers, an authorized third party with a number for 1 in 5; consent on every own number but 1 in 20
    (1 in 50 withdrawn); 0-8 calls in the last ten days; 3% cease, 2% temporary holds, 5% inconvenient hours;
    2% callbacks due today, 3% promises due; 2% not yet due and 1% paid (not listed)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from collections_app.models import Callback, ContactAttempt, Loan, Promise
    from collections_app.permissions import COLLECTOR
    from consent_app.models import Borrower, Consent, InconvenientTime, PhoneNumber, Restriction, ThirdPartyContact
    from consent_app.phones import blind_index, parse_number

    rng = random.Random(SEED)
    now = timezone.now()
    today = timezone.localdate(now)
    group = Group.objects.get(name=COLLECTOR)
    users = []
    for n in range(collectors):
        user = get_user_model().objects.create(username=f"bench_collector{n}")
        user.groups.add(group)
        users.append(user)

    profiles = {"CN": ("Asia/Shanghai", "CN"), "US": ("America/New_York", "US"), "UK": ("Europe/London", "GB")}
    borrower_jurisdiction = []
    borrowers = []
    for i in range(size):
        if i % 5 == 4:
            continue
        roll = rng.random()
        jurisdiction = "US" if roll < 0.02 else "UK" if roll < 0.03 else "CN"
        borrower_jurisdiction.append(jurisdiction)
        borrowers.append(Borrower(
            borrower_ref=f"BB{i:07d}", full_name=f"Bench Borrower {i}", timezone=profiles[jurisdiction][0],
            jurisdiction=jurisdiction,
        ))
    borrowers = Borrower.objects.bulk_create(borrowers, batch_size=2000)

    def number(jurisdiction: str, n: int) -> str:
        if jurisdiction == "US":
            return f"+1212{2000000 + n % 7999999:07d}"
        if jurisdiction == "UK":
            return f"+447400{n % 1000000:06d}"
        prefixes = ("138", "139", "150", "186", "188", "137")
        return f"+86{prefixes[n % len(prefixes)]}{(n * 7919) % 100000000:08d}"

    zones_cache: dict[str, list[str]] = {}

    def phone(borrower: Borrower, jurisdiction: str, n: int, third_party: Any = None) -> PhoneNumber:
        e164 = number(jurisdiction, n)
        key = e164[:6]
        if key not in zones_cache:
            zones_cache[key] = list(parse_number(e164).zones)
        return PhoneNumber(borrower=borrower, third_party=third_party, e164=e164, blind_index=blind_index(e164),
                           region=profiles[jurisdiction][1], zones=zones_cache[key])

    third_parties = ThirdPartyContact.objects.bulk_create([
        ThirdPartyContact(borrower=b, contact_ref=f"TP{k}", full_name=f"Bench Contact {k}", relation="sibling",
                          authorized=k % 5 != 0, authorization_evidence="bench")
        for k, b in enumerate(borrowers) if k % 5 == 2
    ], batch_size=2000)
    third_party_of = {tp.borrower_id: tp for tp in third_parties}
    phones = []
    serial = 0
    for k, (b, jurisdiction) in enumerate(zip(borrowers, borrower_jurisdiction, strict=True)):
        phones.append(phone(b, jurisdiction, serial := serial + 1))
        if k % 3 == 1:
            phones.append(phone(b, jurisdiction, serial := serial + 1))
        if b.pk in third_party_of:
            phones.append(phone(b, jurisdiction, serial := serial + 1, third_party=third_party_of[b.pk]))
    phones = PhoneNumber.objects.bulk_create(phones, batch_size=2000)
    consents = []
    for k, p in enumerate(phones):
        if p.third_party_id or k % 20 == 7:
            continue
        consents.append(Consent(phone=p, allows_call=True, allows_sms=k % 2 == 0, basis="electronic",
                                evidence_ref=f"EV-{k}", granted_at=now - timedelta(days=100),
                                withdrawn_at=now - timedelta(days=3) if k % 50 == 11 else None,
                                withdrawn_via="phone" if k % 50 == 11 else ""))
    Consent.objects.bulk_create(consents, batch_size=2000)
    own_phone = {}
    for p in phones:
        if not p.third_party_id:
            own_phone.setdefault(p.borrower_id, p)

    loans = []
    borrower_of_loan = []
    b_index = -1
    for i in range(size):
        if i % 5 != 4:
            b_index += 1
        roll = rng.random()
        due = today - timedelta(days=5 + rng.randrange(300)) if roll >= 0.02 else today + timedelta(days=10)
        loans.append(Loan(
            loan_ref=f"BL{i:07d}", borrower=borrowers[b_index], principal=Decimal("10000.00"),
            balance=Decimal(rng.randrange(10000, 2000000)) / 100, currency="CNY", due_date=due,
            status="paid" if rng.random() < 0.01 else "active", assigned_collector=users[i % collectors],
        ))
        borrower_of_loan.append(borrowers[b_index])
    loans = Loan.objects.bulk_create(loans, batch_size=2000)

    attempts = []
    restrictions = []
    inconvenient = []
    callbacks = []
    promises = []
    for k, loan in enumerate(loans):
        borrower = borrower_of_loan[k]
        mobile = own_phone[borrower.pk]
        for _ in range(rng.randrange(9)):
            started = now - timedelta(days=rng.randrange(10), hours=rng.randrange(12), minutes=rng.randrange(60))
            outcome = rng.choice(("no_answer", "no_answer", "voicemail", "not_connected", "conversation"))
            attempts.append(ContactAttempt(
                loan=loan, phone=mobile, borrower=borrower, channel="call", direction="outbound",
                started_at=started, ended_at=started + timedelta(minutes=1), outcome=outcome,
                party="debtor" if outcome == "conversation" else "", compliant=True, source="desk",
            ))
        roll = rng.random()
        if roll < 0.03:
            restrictions.append(Restriction(borrower=borrower, kind="cease_communication",
                                            starts_at=now - timedelta(days=20), reason="bench"))
        elif roll < 0.05:
            restrictions.append(Restriction(borrower=borrower, loan=loan, kind="temporary_hold",
                                            starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=5),
                                            reason="bench"))
        if rng.random() < 0.05:
            inconvenient.append(InconvenientTime(borrower=borrower, weekdays="01234", start=_time(12),
                                                 end=_time(14)))
        roll = rng.random()
        if roll < 0.02:
            callbacks.append(Callback(loan=loan, collector=loan.assigned_collector,
                                      due_at=now.replace(hour=1) + timedelta(hours=rng.randrange(22))))
        elif roll < 0.05:
            promises.append(Promise(loan=loan, collector=loan.assigned_collector, amount=Decimal("100.00"),
                                    due_date=today - timedelta(days=rng.randrange(2)), state="pending",
                                    created_at=now - timedelta(days=5)))
    ContactAttempt.objects.bulk_create(attempts, batch_size=2000)
    Restriction.objects.bulk_create(restrictions, batch_size=2000)
    InconvenientTime.objects.bulk_create(inconvenient, batch_size=2000)
    Callback.objects.bulk_create(callbacks, batch_size=2000)
    Promise.objects.bulk_create(promises, batch_size=2000)


def _time(hour: int) -> Any:
    import datetime as dt

    return dt.time(hour, 0)


def _worker(at: str, argv: list[str]) -> None:
    """`celery <argv>` with its clock set to `at` (ticking from there): a worker of the --at runs. The pool's
    child process is forked from this one and keeps the travelled clock."""
    import time_machine
    from celery.bin.celery import main as celery_main

    time_machine.travel(datetime.fromisoformat(at), tick=True).start()
    sys.argv = ["celery", *argv]
    celery_main()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker-at":
        _worker(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) > 2 and sys.argv[1] == "--run":
        sub = argparse.ArgumentParser()
        sub.add_argument("--run", type=int)
        sub.add_argument("--collectors", type=int)
        sub.add_argument("--chunk-size", type=int)
        sub.add_argument("--workers")
        sub.add_argument("--profile", action="store_true")
        sub.add_argument("--at", default="")
        a = sub.parse_args()
        run(a.run, a.collectors, a.chunk_size, [int(n) for n in a.workers.split(",")], a.profile,
            [t for t in a.at.split(",") if t])
    else:
        main()
