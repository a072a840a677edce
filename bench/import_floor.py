"""Benchmark: the CSV import against its floor, measured in the same run on the same rows and database.

    .venv/bin/python bench/import_floor.py --rows 10000                   # SQLite (a fresh file in a temp dir)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/collector_desk .venv/bin/python bench/import_floor.py \
        --rows 10000,100000 --no-sqlite    # PostgreSQL: a fresh database <name>_bench_floor, dropped afterwards

For each size the script generates the synthetic file of bench/import_100k.py (Faker, fixed seed: one borrower in
four with two loans, half of them with a second number, 2% US and 1% UK rows, every loan assigned) and an update
feed (the same rows, every balance changed), migrates a fresh database and runs, each in its own child process
with the same settings (`config.settings.local`, DEBUG off, eager Celery, `AUDIT_SEAL_ON_COMMIT=False` as in
production: beat seals the audit chain), timing only the work (not Django's start-up):

- **floor** (`--floor-rounds` before the imports and as many after them, each on empty tables; the best is
  the floor): what any import of these rows must do, with
  nothing else — the file read with `csv.reader`; every number of every row parsed, validated and formatted
  with phonenumbers (`parse`, `is_valid_number`, E.164 `format_number`, and the region, type, time zones and
  national number its stored columns hold); the blind-index HMAC of each; Fernet for every number, name and
  national id stored (once each: the history row reuses the main row's token); `executemany` INSERTs of the same
  rows (borrowers, numbers, consents, loans, in the same batches as the import, one commit per batch, ids given
  by the script) plus one history row each; each round runs it twice, once with `executemany` and once with
  multi-row INSERTs (the import's statement shape), and the faster counts. Its rows are then deleted and the
  tables vacuumed;
- **import**: `manage.py import_loans FILE` (call_command), which creates everything;
- **re-import**: the same file again, which must change nothing;
- **update feed**: the feed file: every loan's balance changes (one `loan.updated` event per loan).

After each import run, the audit chain is sealed as beat would (`audit_chain_seal()`), timed apart. It prints
each wall time and its ratio to the floor's, the same for the child's CPU time (`time.process_time()`: on a
shared machine the wall time counts the other processes too; on SQLite all the work is the child's, on
PostgreSQL the server's share is not in it), and the child's peak RSS; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_100k import COLLECTORS, generate  # noqa: E402

BATCH_SIZE = 500  # the import's default (imports.rows.DEFAULT_BATCH_SIZE), used by the floor too


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="10000", help="comma-separated file sizes")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--floor-rounds", type=int, default=1, help="floor runs before and after the imports")
    parser.add_argument("--profile", default="", help="cProfile this step (import, reimport, feed) and print it")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    postgres = os.environ.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="import-floor-") as tmp:
        for rows in (int(n) for n in args.rows.split(",")):
            csv_path = Path(tmp) / f"loans-{rows}.csv"
            feed_path = Path(tmp) / f"feed-{rows}.csv"
            generate(csv_path, rows)
            _balances_changed(csv_path, feed_path)
            if not args.no_sqlite:
                db = Path(tmp) / f"bench-{rows}.sqlite3"
                bench("SQLite", f"sqlite:///{db}", csv_path, feed_path, rows, args)
            if postgres.startswith(("postgres://", "postgresql://")):
                parts = urlsplit(postgres)
                name = (parts.path.lstrip("/") or "collector_desk") + "_bench_floor"
                # Only the database this script names (suffix _bench_floor) is ever dropped.
                _admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                _admin(postgres, f'CREATE DATABASE "{name}"')
                try:
                    bench("PostgreSQL", urlunsplit(parts._replace(path=f"/{name}")), csv_path, feed_path, rows, args)
                finally:
                    _admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _balances_changed(source: Path, target: Path) -> None:
    """The feed: the same rows, each loan's balance lower by 1.00 (or higher by 0.01 when below 1.00)."""
    with source.open(encoding="utf-8", newline="") as src, target.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        header = next(reader)
        writer.writerow(header)
        balance = header.index("balance")
        for values in reader:
            cents = round(float(values[balance]) * 100)
            cents = cents - 100 if cents >= 100 else cents + 1
            values[balance] = f"{cents // 100}.{cents % 100:02d}"
            writer.writerow(values)


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings.local",
        # DEBUG off as in production: with DEBUG on Django keeps every query in memory.
        "DJANGO_DEBUG": "False", "DJANGO_LOG_LEVEL": "WARNING", "AUDIT_SEAL_ON_COMMIT": "False",
        "CELERY_TASK_ALWAYS_EAGER": "True",
    }


def _run_child(env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    result: dict[str, Any] = {}
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        else:
            print("    " + line.rstrip())
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child {args[0]} failed")
    result["rss_mib"] = usage.ru_maxrss // 1024
    return result


def bench(label: str, database_url: str, csv_path: Path, feed_path: Path, rows: int, args: argparse.Namespace) -> None:
    env = _env(database_url)
    _run_child(env, "setup")
    floors: list[dict[str, Any]] = []

    def floor_rounds() -> dict[str, Any]:
        for _round in range(args.floor_rounds):
            for mode in ("executemany", "values"):
                result = _run_child(env, "floor", str(csv_path), mode)
                floors.append(result)
                print(f"{label}, {rows:,} rows: floor ({mode}): {result['seconds']:.2f} s, CPU {result['cpu']:.2f} s")
                _run_child(env, "clean")
        return result

    floor_rows = floor_rounds()
    steps = (("import", csv_path), ("reimport", csv_path), ("feed", feed_path))
    results = {}
    for step, path in steps:
        results[step] = r = _run_child(env, "import", str(path), "1" if args.profile == step else "0")
        if step == "import" and r["rows"] != floor_rows["rows"]:
            raise SystemExit(f"the floor wrote {floor_rows['rows']}, the import {r['rows']}: not the same rows")
        print(f"{label}, {rows:,} rows: {step} {r['seconds']:.2f} s, CPU {r['cpu']:.2f} s ({r['summary']}); "
              f"seal afterwards {r['seal_seconds']:.2f} s ({r['sealed']} events); peak RSS {r['rss_mib']} MiB")
    # The floor again after the imports (their rows deleted first): the machine's load drifts during a run, and
    # the best of the rounds before and after is the floor every ratio uses.
    _run_child(env, "clean")
    floor_rounds()
    floor = min(f["seconds"] for f in floors)
    floor_cpu = min(f["cpu"] for f in floors)
    print(f"{label}, {rows:,} rows: floor {floor:.2f} s, CPU {floor_cpu:.2f} s "
          f"(best of {', '.join(format(f['seconds'], '.2f') for f in floors)})")

    def ratios(step: str) -> str:
        r = results[step]
        return f"{r['seconds']:.2f} s ({r['seconds'] / floor:.2f}x; CPU {r['cpu']:.2f} s, {r['cpu'] / floor_cpu:.2f}x)"

    print(f"\nRESULT | {label} | {rows:,} | floor {floor:.2f} s (CPU {floor_cpu:.2f} s) | import {ratios('import')} | "
          f"re-import {ratios('reimport')} | update feed {ratios('feed')} | seals "
          f"{results['import']['seal_seconds']:.2f} / {results['feed']['seal_seconds']:.2f} s\n")


# --- Inside Django -------------------------------------------------------------------------------------------------


def _child(args: list[str]) -> None:
    import django

    django.setup()
    step = args[0]
    if step == "setup":
        _setup()
    elif step == "floor":
        started, cpu = time.perf_counter(), time.process_time()
        _floor(Path(args[1]), args[2])
        _result(seconds=time.perf_counter() - started, cpu=time.process_time() - cpu, rows=_counts())
    elif step == "clean":
        _clean()
    elif step == "import":
        _import(Path(args[1]), profile=args[2] == "1")


def _result(**values: Any) -> None:
    print("RESULT " + json.dumps(values), flush=True)


def _setup() -> None:
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for name in COLLECTORS:
        User.objects.get_or_create(username=name)[0].groups.add(Group.objects.get(name="Collector"))


def _import(path: Path, *, profile: bool) -> None:
    import cProfile
    import io
    import pstats
    from contextlib import redirect_stdout

    from django.core.management import call_command

    from audit_app.services import audit_chain_seal

    out = io.StringIO()
    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    call_command("import_loans", str(path), stdout=out)
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    sealed = audit_chain_seal()
    seal_seconds = time.perf_counter() - started
    if profiler:
        with redirect_stdout(sys.stderr):
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    summary = out.getvalue().splitlines()[0].split(": ", 1)[1]
    _result(seconds=seconds, cpu=cpu, seal_seconds=seal_seconds, sealed=sealed, summary=summary, rows=_counts())


def _counts() -> dict[str, int]:
    """Rows in each table and its history table: the floor must write what the import writes."""
    return {m._meta.model_name: m.objects.count() + m.history.count() for m in _tables()}


def _tables() -> list[Any]:
    from collections_app.models import Loan
    from consent_app.models import Borrower, Consent, PhoneNumber

    return [Borrower, PhoneNumber, Consent, Loan]


def _clean() -> None:
    """Delete the floor's rows (children first) and vacuum, so the import starts on the same empty tables."""
    from django.db import connection

    models = _tables()
    with connection.cursor() as cursor:
        for model in reversed(models):
            cursor.execute(f"DELETE FROM {model.history.model._meta.db_table}")  # noqa: S608
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608
        if connection.vendor == "postgresql":
            for model in models:
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
                cursor.execute(f"VACUUM ANALYZE {model.history.model._meta.db_table}")
        else:
            cursor.execute("VACUUM")


class _Table:
    """One model's INSERT and its history table's, with every column; rows are dicts by attname (a column the
    floor does not fill takes the field's default, so the floor writes exactly the columns the import writes)."""

    def __init__(self, model: Any, connection: Any) -> None:
        self.fields = list(model._meta.concrete_fields)
        self.defaults = {f.attname: f.get_default() for f in self.fields}
        history = model.history.model
        self.history_fields = [f for f in history._meta.concrete_fields if f.attname != "history_id"]
        quote = connection.ops.quote_name
        self.sql = self._insert(quote, model._meta.db_table, self.fields)
        self.history_sql = self._insert(quote, history._meta.db_table, self.history_fields)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {quote(model._meta.db_table)}")  # noqa: S608
            self.next_id = cursor.fetchone()[0] + 1
        self.rows: list[list[Any]] = []
        self.history_rows: list[list[Any]] = []

    @staticmethod
    def _insert(quote: Any, table: str, fields: list[Any]) -> str:
        columns = ", ".join(quote(f.column) for f in fields)
        return f"INSERT INTO {quote(table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608

    def add(self, values: dict[str, Any], history: dict[str, Any]) -> int:
        pk = self.next_id
        self.next_id += 1
        row = {**self.defaults, **values, "id": pk}
        self.rows.append([row[f.attname] for f in self.fields])
        row.update(history)
        self.history_rows.append([row[f.attname] for f in self.history_fields])
        return pk

    def write(self, cursor: Any, mode: str) -> None:
        if self.rows:
            if mode == "executemany":
                cursor.executemany(self.sql, self.rows)
                cursor.executemany(self.history_sql, self.history_rows)
            else:
                _insert_values(cursor, self.sql, self.rows)
                _insert_values(cursor, self.history_sql, self.history_rows)
        self.rows, self.history_rows = [], []


def _insert_values(cursor: Any, sql: str, rows: list[list[Any]]) -> None:
    """Multi-row INSERTs (the import's statement shape), at most 30,000 parameters each."""
    head, marks = sql.split(" VALUES ")
    step = max(1, 30_000 // len(rows[0]))
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        cursor.execute(f"{head} VALUES {', '.join([marks] * len(chunk))}", [v for row in chunk for v in row])


def _floor(path: Path, mode: str) -> None:
    import hashlib
    import hmac
    from datetime import date, datetime
    from decimal import Decimal

    import phonenumbers
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone
    from phonenumbers import timezone as pn_timezone

    from consent_app.models import JURISDICTION_REGIONS, Borrower

    borrowers, phones, consents, loans = tables = [_Table(model, connection) for model in _tables()]
    fernet = Borrower._meta.get_field("full_name").fernet  # every encrypted field of these models has these keys
    key = settings.BLIND_INDEX_KEY.encode()
    ops = connection.ops
    mobile = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    collectors = dict(_collector_ids())
    empty = fernet.encrypt(b"")  # the numbers' empty status reason: one token for all
    seen: dict[str, int] = {}  # borrower_ref -> id

    def number(text: str, hint: str) -> dict[str, Any]:
        parsed = phonenumbers.parse("+" + text[2:] if text.startswith("00") else text, hint)
        if not phonenumbers.is_valid_number(parsed):
            raise ValueError("the generated file holds valid numbers only")
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        national = phonenumbers.national_significant_number(parsed)
        return {
            "e164": fernet.encrypt(e164.encode()),
            "blind_index": hmac.new(key, e164.encode(), hashlib.sha256).hexdigest(),
            "last_four": national[-4:] if len(national) > 7 else "",
            "region": phonenumbers.region_code_for_number(parsed),
            "kind": "mobile" if phonenumbers.number_type(parsed) in mobile else "fixed",
            "zones": ops.adapt_json_value([z for z in pn_timezone.time_zones_for_number(parsed)
                                           if z != "Etc/Unknown"], None),
            "last_status_reason": empty,
        }

    def write(batch: list[list[str]]) -> None:
        now = ops.adapt_datetimefield_value(timezone.now())
        stamps = {"created_at": now, "updated_at": now}
        history = {"history_date": now, "history_change_reason": "floor", "history_type": "+",
                   "history_user_id": None}
        for v in batch:
            ref = v[col["borrower_ref"]]
            region = JURISDICTION_REGIONS[v[col["jurisdiction"]].upper()]
            numbers = [number(v[col[c]], v[col[c + "_region"]].upper() or region if c + "_region" in col else region)
                       for c in ("phone_1", "phone_2") if v[col[c]]]
            borrower_id = seen.get(ref)
            if borrower_id is None:
                borrower_id = seen[ref] = borrowers.add({
                    "borrower_ref": ref, "full_name": fernet.encrypt(v[col["full_name"]].encode()),
                    "national_id": fernet.encrypt(v[col["national_id"]].encode()), "timezone": v[col["timezone"]],
                    "jurisdiction": v[col["jurisdiction"]].upper(), **stamps,
                }, history)
                for n, values in enumerate(numbers):
                    phone_id = phones.add({**values, "borrower_id": borrower_id, **stamps}, history)
                    channels = v[col["phone_1_consent_channels"]] if n == 0 else ""
                    if channels:
                        granted = datetime.fromisoformat(v[col["phone_1_consent_granted_at"]])
                        consents.add({
                            "phone_id": phone_id, "allows_call": "call" in channels, "allows_sms": "sms" in channels,
                            "basis": v[col["phone_1_consent_basis"]],
                            "evidence_ref": v[col["phone_1_consent_evidence"]],
                            "granted_at": ops.adapt_datetimefield_value(granted), "created_at": now,
                        }, history)
            currency = v[col["currency"]]
            loans.add({
                "loan_ref": v[col["loan_ref"]], "borrower_id": borrower_id,
                "principal": ops.adapt_decimalfield_value(Decimal(v[col["principal"]]), 14, 2),
                "balance": ops.adapt_decimalfield_value(Decimal(v[col["balance"]]), 14, 2), "currency": currency,
                "due_date": ops.adapt_datefield_value(date.fromisoformat(v[col["due_date"]])),
                "status": v[col["status"]], "assigned_collector_id": collectors[v[col["collector"]]], **stamps,
            }, history)
        with transaction.atomic(), connection.cursor() as cursor:
            for table in tables:
                table.write(cursor, mode)

    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        col = {name: i for i, name in enumerate(next(reader))}
        batch: list[list[str]] = []
        for values in reader:
            batch.append(values)
            if len(batch) == BATCH_SIZE:
                write(batch)
                batch = []
        if batch:
            write(batch)


def _collector_ids() -> list[tuple[str, int]]:
    from django.contrib.auth.models import User

    return list(User.objects.filter(username__in=COLLECTORS).values_list("username", "id"))


if __name__ == "__main__":
    main()
