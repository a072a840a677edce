"""Race safety: many collectors (threads, each with its own database connection) start calls to the same
borrower at the same moment. The per-borrower row lock serialises them: one call starts, and every other is
refused because a call with this borrower is open (one open desk call per borrower) — never a second call, let
alone more than the day's cap. select_for_update does nothing on SQLite, so this runs on PostgreSQL only."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections

from collections_app.contact.services import CallAlreadyOpen, contact_start
from collections_app.models import ContactAttempt
from tests import factories as f

MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WORKERS = 16


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reference_data")
def test_concurrent_starts_open_one_call_and_refuse_the_rest():
    with time_machine.travel(MORNING - dt.timedelta(days=60), tick=False):
        collectors = [f.make_collector(f"racer{i}") for i in range(WORKERS)]
        loan = f.LoanFactory(due_date=dt.date(2027, 1, 15))
        phone = f.PhoneNumberFactory(borrower=loan.borrower)
        f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=60))
    barrier = threading.Barrier(WORKERS)
    results: list[tuple[bool, list[str]]] = []
    errors: list[BaseException] = []

    def work(collector):
        try:
            barrier.wait(timeout=30)
            attempt, decision = contact_start(
                loan=loan, phone=phone, channel="call", collector=collector, at=MORNING
            )
            results.append((attempt is not None, [str(r.code) for r in decision.reasons]))
        except CallAlreadyOpen as exc:
            results.append((False, [f"open:{exc.attempt.pk}"]))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(c,)) for c in collectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert len(results) == WORKERS
    started = [r for r in results if r[0]]
    refused = [r for r in results if not r[0]]
    assert len(started) == 1
    (only,) = ContactAttempt.objects.filter(phone=phone)
    assert all(reasons == [f"open:{only.pk}"] for _, reasons in refused)
