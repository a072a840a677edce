"""Benchmark `manage.py import_loans` on a synthetic 100,000-row CSV (wall time and peak memory).

    .venv/bin/python bench/import_100k.py                      # SQLite (fresh file in a temp dir)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/collector_desk .venv/bin/python bench/import_100k.py
        # ... and PostgreSQL: a fresh database <name>_bench_import on that server, dropped afterwards

Each import runs in its own `manage.py` process, so its peak RSS (from `os.wait4`) is the import's own and
not the generator's. The file is imported twice: the first run creates everything, the second must change
nothing (idempotency) and shows the cost of a re-sent file. Data is generated (Faker, fixed seed), not real.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from faker import Faker

ROOT = Path(__file__).resolve().parent.parent
HEADER = [
    "borrower_ref", "full_name", "national_id", "timezone", "jurisdiction",
    "phone_1", "phone_1_region", "phone_1_consent_channels", "phone_1_consent_basis", "phone_1_consent_evidence",
    "phone_1_consent_granted_at", "phone_2", "loan_ref", "principal", "balance", "currency", "due_date", "status",
    "collector",
]
COLLECTORS = ("bench_collector1", "bench_collector2", "bench_collector3", "bench_collector4")
_CN_PREFIXES = ("138", "139", "150", "186", "188", "137")


def generate(path: Path, rows: int, seed: int = 2026) -> None:
    """Write `rows` rows, streaming. One borrower in four has two loans (two rows, same borrower columns);
    half the borrowers have a second number without consent; 2% are US and 1% UK borrowers."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    fake_en = Faker("en_US")
    fake_en.seed_instance(seed)
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        borrower: list[str] = []
        b = 0
        for n in range(rows):
            if n % 5 != 4 or not borrower:  # every fifth row is a second loan of the previous borrower
                b += 1
                kind = rng.random()
                if kind < 0.02:
                    borrower = [f"BB{b:07d}", fake_en.name(), "", "America/Denver", "US",
                                f"+1 303 555 {2000 + b % 8000:04d}", "US", "call", "written", f"ESIGN-{b}",
                                "2026-03-01T09:00:00-07:00", ""]
                elif kind < 0.03:
                    borrower = [f"BB{b:07d}", fake_en.name(), "", "Europe/London", "UK",
                                f"020 7946 {b % 1000:04d}", "GB", "call;sms", "written", f"CCA-{b}",
                                "2026-03-01T09:00:00+00:00", ""]
                else:
                    borrower = [f"BB{b:07d}", fake.name(), fake.ssn(), "Asia/Shanghai", "CN",
                                f"{_CN_PREFIXES[b % 6]}{(b * 7919) % 100_000_000:08d}", "", "call;sms", "electronic",
                                f"APP-{b}", "2026-02-01T10:00:00+08:00",
                                f"{_CN_PREFIXES[(b + 3) % 6]}{(b * 104729) % 100_000_000:08d}" if b % 2 else ""]
            currency = {"US": "USD", "UK": "GBP"}.get(borrower[4], "CNY")
            principal = rng.randrange(1_000, 50_000) * 100
            balance = rng.randrange(0, principal) / 100
            due = f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 29):02d}"
            writer.writerow([*borrower, f"BL{n:08d}", f"{principal / 100:.2f}", f"{balance:.2f}", currency, due,
                             "active", COLLECTORS[n % len(COLLECTORS)]])


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Run a child process; return (wall seconds, peak RSS in MiB, exit status)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:  # drain as we go: a full pipe would block the child
        tail = (tail + [line.rstrip()])[-4:]
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    print("   ", "\n    ".join(t for t in tail if "AXES" not in t))
    return elapsed, usage.ru_maxrss // 1024, proc.returncode  # ru_maxrss is in KiB on Linux


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def bench(label: str, database_url: str, csv_path: Path, rows: int) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings.local",
           # DEBUG off as in production: with DEBUG on Django keeps every query in memory (up to 9,000).
           "DJANGO_DEBUG": "False", "DJANGO_LOG_LEVEL": "WARNING"}
    # --skip-checks: system checks are not what is measured (and a half-edited admin must not stop a bench).
    manage(env, "migrate", "--noinput", "--skip-checks")
    create = (
        "from django.contrib.auth.models import Group, User\n"
        f"for name in {COLLECTORS!r}:\n"
        "    User.objects.get_or_create(username=name)[0].groups.add(Group.objects.get(name='Collector'))\n"
    )
    manage(env, "shell", "-c", create)
    command = [sys.executable, "manage.py", "import_loans", str(csv_path), "--skip-checks"]
    _t, base_rss, _s = run_measured([sys.executable, "manage.py", "shell", "-c", "pass"], env)
    print(f"{label}: first import of {rows:,} rows")
    first_time, first_rss, status1 = run_measured(command, env)
    print(f"{label}: second import of the same file")
    second_time, second_rss, status2 = run_measured(command, env)
    print(
        f"\n{label} | {rows:,} rows | first import {first_time:,.1f} s ({rows / first_time:,.0f} rows/s), "
        f"peak RSS {first_rss} MiB | re-import {second_time:,.1f} s, peak RSS {second_rss} MiB | "
        f"baseline (Django started, idle) {base_rss} MiB | exit {status1}/{status2}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        csv_path = Path(tmp) / "loans.csv"
        start = time.perf_counter()
        generate(csv_path, options.rows)
        print(f"generated {options.rows:,} rows ({csv_path.stat().st_size / 2**20:.1f} MiB) "
              f"in {time.perf_counter() - start:.1f} s")
        if not options.no_sqlite:
            bench("SQLite", f"sqlite:///{tmp}/bench.sqlite3", csv_path, options.rows)
        postgres = os.environ.get("DATABASE_URL", "")
        if postgres.startswith(("postgres://", "postgresql://")):
            bench_postgres(postgres, csv_path, options.rows)


def bench_postgres(url: str, csv_path: Path, rows: int) -> None:
    import psycopg

    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "collector_desk") + "_bench_import"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # Only the database this script names (suffix _bench_import) is ever dropped.
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        bench("PostgreSQL", urlunsplit(parts._replace(path=f"/{name}")), csv_path, rows)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
