"""Benchmark: policy decisions per second (pure engine) and building one collector's worklist.

Run by hand:  .venv/bin/python bench/policy_and_worklist.py [--loans 300]
It migrates a throwaway SQLite database, creates a synthetic portfolio (generated data only) and prints the
figures recorded in docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=300)
    parser.add_argument("--attempts-per-loan", type=int, default=20)
    args = parser.parse_args()
    db = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django

    django.setup()
    import datetime as dt
    from zoneinfo import ZoneInfo

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    import time_machine

    from collections_app import policy
    from collections_app.contact.selectors import contact_snapshots_for_loans
    from collections_app.desk.services import worklist_build
    from collections_app.models import ContactAttempt
    from tests import factories as f

    now = dt.datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(now, tick=False):
        collector = f.make_collector("bench_collector")
        loans = []
        for i in range(args.loans):
            loan = f.LoanFactory(assigned_collector=collector, due_date=now.date() - dt.timedelta(days=5 + i % 200))
            phone = f.PhoneNumberFactory(borrower=loan.borrower)
            f.ConsentFactory(phone=phone, granted_at=now - dt.timedelta(days=100))
            loans.append(loan)
            ContactAttempt.objects.bulk_create(
                ContactAttempt(loan=loan, phone=phone, borrower=loan.borrower, channel="call",
                               started_at=now - dt.timedelta(hours=3 * (k + 1)), outcome="no_answer", compliant=True)
                for k in range(args.attempts_per_loan)
            )
        snapshots = [s for entries in contact_snapshots_for_loans(
            [type(loans[0]).objects.select_related("borrower").get(pk=loan.pk) for loan in loans], now
        ).values() for _phone, s in entries]
        start = time.perf_counter()
        rounds = 5
        for _ in range(rounds):
            for snapshot in snapshots:
                policy.evaluate(snapshot, channel="call", at=now)
        engine_s = time.perf_counter() - start
        decisions = rounds * len(snapshots)
        start = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            built = worklist_build(collector=collector)
        build_s = time.perf_counter() - start
    print(f"engine: {decisions} decisions in {engine_s:.2f} s = {decisions / engine_s:,.0f} decisions/s "
          f"({args.attempts_per_loan} prior attempts each)")
    print(f"worklist build: {built} loans in {build_s:.2f} s, {len(queries)} queries")


if __name__ == "__main__":
    main()
