"""`manage.py import_loans` on loans that exist: a daily feed of balances, statuses and collectors is written in
bulk, with what `loan_upsert` and `loan_assign` do for each changed loan (its history row, its audit event, its
worklists judged again on commit), and an import's queries per batch do not grow with its rows."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from audit_app.models import AuditAction, AuditEvent
from audit_app.services import audit_chain_seal, iter_chain_breaks
from collections_app.desk.services import worklist_build
from collections_app.imports.services import history_user
from collections_app.loans.services import loan_upsert
from collections_app.models import Loan, WorklistEntry
from consent_app.models import Borrower, PhoneNumber
from consent_app.phones import last_four
from tests.queries import tables

from ..desk.conftest import MORNING
from .test_import import row, run_import, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning():
    """10:00 in Shanghai: the rows' consents and due dates are in the past, the CN contact window is open."""
    with time_machine.travel(MORNING, tick=True):
        yield


def _import(tmp_path, name, rows, *args):
    out, err, exc = run_import(write_csv(tmp_path / name, rows), *args)
    assert exc is None, err
    return out


def _run_id() -> str:
    return AuditEvent.objects.filter(action=AuditAction.IMPORT_RUN).latest("id").subject_id


def _events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_a_balance_feed_writes_one_loan_updated_event_per_changed_loan_and_none_for_the_others(tmp_path, compliance):
    _import(tmp_path, "a.csv", [row(n) for n in range(1, 6)])
    history_before = Loan.history.count()

    out = _import(tmp_path, "feed.csv", [row(n, balance="5000.00") if n % 2 else row(n) for n in range(1, 6)],
                  "--actor", compliance.username)

    assert "0 created, 3 updated, 2 unchanged, 0 rejected" in out
    loans = {loan.loan_ref: loan for loan in Loan.objects.all()}
    assert {ref: loan.balance for ref, loan in loans.items()} == {
        "L0001": Decimal("5000.00"), "L0002": Decimal("6000.00"), "L0003": Decimal("5000.00"),
        "L0004": Decimal("6000.00"), "L0005": Decimal("5000.00"),
    }
    events = _events(AuditAction.LOAN_UPDATED)
    assert [(e.subject_type, e.subject_id) for e in events] == [
        ("collections_app.loan", str(loans[ref].pk)) for ref in ("L0001", "L0003", "L0005")
    ]
    assert events[0].data == {"loan_ref": "L0001", "balance": "5000.00", "currency": "CNY", "status": "active",
                              "source": f"csv import {_run_id()}"}
    assert {e.actor for e in events} == {compliance}
    assert Loan.history.count() == history_before + 3  # one history row per changed loan, none for the others
    assert not _events(AuditAction.LOAN_ASSIGNED)


def test_a_changed_loan_gets_the_event_and_history_row_loan_upsert_writes(tmp_path, compliance):
    _import(tmp_path, "a.csv", [row(1), row(2)])
    # The same change to L0002 through the service, and to L0001 through a file.
    with history_user(compliance):
        loan_upsert(loan_ref="L0002", borrower=Borrower.objects.get(borrower_ref="B0002"), principal="10000.00",
                    balance="0.00", currency="CNY", due_date=dt.date(2026, 9, 1), status="settled", actor=compliance,
                    reason="csv import by hand")

    _import(tmp_path, "feed.csv", [row(1, balance="0.00", status="settled")], "--actor", compliance.username)

    by_service, by_file = _events(AuditAction.LOAN_UPDATED)
    assert by_file.data == {**by_service.data, "loan_ref": "L0001", "source": f"csv import {_run_id()}"}
    assert (by_file.actor, by_file.subject_type) == (by_service.actor, by_service.subject_type)
    service_row = Loan.history.filter(loan_ref="L0002").latest("history_id")
    file_row = Loan.history.filter(loan_ref="L0001").latest("history_id")
    compared = ("principal", "balance", "currency", "due_date", "status", "assigned_collector_id", "history_type",
                "history_user_id")
    assert [getattr(file_row, name) for name in compared] == [getattr(service_row, name) for name in compared]
    assert file_row.history_type == "~" and file_row.history_change_reason == f"csv import {_run_id()}"
    loan = Loan.objects.get(loan_ref="L0001")
    assert file_row.updated_at == loan.updated_at > loan.created_at  # auto_now kept, as save() would
    audit_chain_seal()
    assert iter_chain_breaks() == []


def test_a_file_that_settles_a_loan_takes_it_off_todays_worklist_on_commit(tmp_path, collector,
                                                                         django_capture_on_commit_callbacks):
    assigned = {"collector": collector.username}
    _import(tmp_path, "a.csv", [row(1, **assigned), row(2, **assigned)])
    worklist_build(collector=collector)
    assert WorklistEntry.objects.filter(collector=collector).count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        _import(tmp_path, "feed.csv", [row(1, balance="0.00", status="settled", **assigned), row(2, **assigned)])

    assert list(WorklistEntry.objects.filter(collector=collector).values_list("loan__loan_ref", flat=True)) == [
        "L0002"
    ]
    loan = Loan.objects.get(loan_ref="L0001")
    assert (loan.balance, loan.status) == (Decimal("0.00"), "settled")
    assert [e.data["status"] for e in _events(AuditAction.LOAN_UPDATED)] == ["settled"]


def test_a_reassignment_by_file_moves_the_row_to_the_new_collectors_list(tmp_path, collector, other_collector,
                                                                         django_capture_on_commit_callbacks):
    _import(tmp_path, "a.csv", [row(1, collector=collector.username), row(2, collector=other_collector.username)])
    worklist_build(collector=collector)
    worklist_build(collector=other_collector)

    with django_capture_on_commit_callbacks(execute=True):
        out = _import(tmp_path, "feed.csv", [row(1, collector=other_collector.username),
                                             row(2, collector=other_collector.username)])

    assert "0 created, 1 updated, 1 unchanged, 0 rejected" in out
    loan = Loan.objects.get(loan_ref="L0001")
    assert loan.assigned_collector == other_collector
    assert not WorklistEntry.objects.filter(collector=collector).exists()
    assert set(WorklistEntry.objects.filter(collector=other_collector).values_list("loan__loan_ref", flat=True)) == {
        "L0001", "L0002"
    }
    (event,) = _events(AuditAction.LOAN_ASSIGNED)
    assert (event.subject_id, event.data) == (str(loan.pk), {
        "from_user_id": collector.pk, "to_user_id": other_collector.pk, "source": f"csv import {_run_id()}"
    })
    assert not _events(AuditAction.LOAN_UPDATED)  # the amounts did not change
    assert loan.history.latest("history_id").assigned_collector_id == other_collector.pk


def test_a_row_that_changes_its_balance_and_its_collector_writes_both_events_and_one_history_row(
        tmp_path, collector, other_collector):
    _import(tmp_path, "a.csv", [row(1, collector=collector.username)])
    history_before = Loan.history.count()

    _import(tmp_path, "feed.csv", [row(1, balance="100.00", collector=other_collector.username)])

    loan = Loan.objects.get()
    assert (loan.balance, loan.assigned_collector) == (Decimal("100.00"), other_collector)
    assert [e.action for e in AuditEvent.objects.filter(subject_id=str(loan.pk)).order_by("id")] == [
        AuditAction.LOAN_UPDATED, AuditAction.LOAN_ASSIGNED,
    ]
    assert Loan.history.count() == history_before + 1


def test_when_the_bulk_update_fails_the_rows_go_through_the_services_one_by_one(tmp_path, monkeypatch):
    _import(tmp_path, "a.csv", [row(1), row(2)])

    def refuse(*args, **kwargs):
        raise DatabaseError("simulated: the database refused the batch's UPDATE")

    monkeypatch.setattr("collections_app.imports.writer.update_with_history", refuse)
    out = _import(tmp_path, "feed.csv", [row(1, balance="10.00"), row(2, balance="20.00")])

    assert "0 created, 2 updated, 0 unchanged, 0 rejected" in out
    assert sorted(Loan.objects.values_list("balance", flat=True)) == [Decimal("10.00"), Decimal("20.00")]
    assert [e.data["balance"] for e in _events(AuditAction.LOAN_UPDATED)] == ["10.00", "20.00"]


def test_numbers_written_in_bulk_keep_the_last_four_digits_the_model_would_store(tmp_path):
    numbers = ["13800138001", "+1 303 555 2368", "+44 20 7946 0123", "+354 551 2345", "+39 06 1234 5678"]
    _import(tmp_path, "a.csv", [row(n, phone_1=number) for n, number in enumerate(numbers, 1)])

    phones = list(PhoneNumber.objects.order_by("id"))
    assert [p.last_four for p in phones] == [last_four(p.e164) for p in phones] == ["8001", "2368", "0123", "",
                                                                                       "5678"]
    history = {h.id: h for h in PhoneNumber.history.all()}
    assert [(history[p.pk].e164, history[p.pk].history_type) for p in phones] == [(p.e164, "+") for p in phones]


# --- Queries per batch: the same for 1 row and for 40 ------------------------------------------------------------


def _queries(tmp_path, name, rows) -> list[str]:
    path = write_csv(tmp_path / name, rows)
    with CaptureQueriesContext(connection) as ctx:
        _out, err, exc = run_import(path)
    assert exc is None, err
    # An executemany is one statement, which Django logs as "<n> times: <sql>".
    for query in ctx.captured_queries:
        query["sql"] = re.sub(r"^\d+ times: ", "", query["sql"])
    return tables(ctx)


def test_a_first_import_costs_the_same_queries_for_1_row_and_for_40(tmp_path, collector):
    one = _queries(tmp_path, "one.csv", [row(1, collector=collector.username)])
    forty = _queries(tmp_path, "forty.csv", [row(n, collector=collector.username) for n in range(2, 42)])

    assert one == forty
    assert one == [
        "auth_user", "auth_group",  # the collector named in the file and its groups (once per run and username)
        "SAVEPOINT",  # the batch
        # What exists for the batch's refs: borrowers, loans (their numbers and consents: none, nothing to read)
        "consent_app_borrower", "collections_app_loan",
        "SAVEPOINT",  # the bulk writes
        "INSERT consent_app_borrower", "INSERT consent_app_historicalborrower",
        "INSERT consent_app_phonenumber", "INSERT consent_app_historicalphonenumber",
        "INSERT consent_app_consent", "INSERT consent_app_historicalconsent",
        "INSERT collections_app_loan", "INSERT collections_app_historicalloan",
        "RELEASE SAVEPOINT",
        "INSERT audit_app_auditevent",  # the batch's import.run event
        "RELEASE SAVEPOINT",
    ]  # (after the commit, not run in a test's transaction: the worklists' re-evaluation and the chain's seal)


def test_a_balance_feed_costs_the_same_queries_for_1_row_and_for_40(tmp_path):
    _import(tmp_path, "a.csv", [row(n) for n in range(1, 42)])

    one = _queries(tmp_path, "one.csv", [row(1, balance="1.00")])
    forty = _queries(tmp_path, "forty.csv", [row(n, balance="2.00") for n in range(2, 42)])

    assert one == forty
    assert one == [
        "SAVEPOINT",  # the batch
        # What exists: borrowers, loans, their numbers, the numbers' consents
        "consent_app_borrower", "collections_app_loan", "consent_app_phonenumber", "consent_app_consent",
        "SAVEPOINT",  # the bulk writes
        "collections_app_loan",  # the changed loans, locked
        "UPDATE collections_app_loan", "INSERT collections_app_historicalloan",
        "INSERT audit_app_auditevent",  # one loan.updated event per loan, in one INSERT
        "RELEASE SAVEPOINT",
        "INSERT audit_app_auditevent",  # the batch's import.run event
        "RELEASE SAVEPOINT",
    ]
