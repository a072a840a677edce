"""`manage.py import_loans`: the CSV import of borrowers, numbers, consents and loans."""

from __future__ import annotations

import csv
import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from audit_app.models import AuditAction, AuditEvent
from collections_app.models import Loan
from consent_app.models import Borrower, Consent, PhoneNumber
from consent_app.services import consent_withdraw
from tests import factories as f

pytestmark = pytest.mark.django_db

HEADER = [
    "borrower_ref", "full_name", "national_id", "timezone", "jurisdiction",
    "phone_1", "phone_1_region", "phone_1_consent_channels", "phone_1_consent_basis", "phone_1_consent_evidence",
    "phone_1_consent_granted_at", "phone_1_consent_expires_at",
    "phone_2", "phone_2_region", "phone_2_consent_channels", "phone_2_consent_basis", "phone_2_consent_evidence",
    "phone_2_consent_granted_at", "phone_2_consent_expires_at",
    "loan_ref", "principal", "balance", "currency", "due_date", "status", "collector",
]
GRANTED = "2026-01-05T10:00:00+08:00"


def row(n: int, **overrides: str) -> dict[str, str]:
    """A valid CN row; `n` makes the refs, the name and the number unique."""
    values = {
        "borrower_ref": f"B{n:04d}", "full_name": f"测试{n:04d}号", "national_id": f"11010119900307{n:04d}",
        "timezone": "Asia/Shanghai", "jurisdiction": "CN",
        "phone_1": f"138 0013 8{n:03d}", "phone_1_consent_channels": "call;sms", "phone_1_consent_basis": "electronic",
        "phone_1_consent_evidence": f"APP-{n:04d}", "phone_1_consent_granted_at": GRANTED,
        "loan_ref": f"L{n:04d}", "principal": "10000.00", "balance": "6000.00", "currency": "CNY",
        "due_date": "2026-09-01", "status": "active",
    }
    values.update(overrides)
    return values


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_import(path: Path, *args: str) -> tuple[str, str, CommandError | None]:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_loans", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        # call_command raises what `manage.py` turns into exit status 1.
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def counts() -> dict[str, int]:
    return {
        "borrowers": Borrower.objects.count(), "loans": Loan.objects.count(),
        "phones": PhoneNumber.objects.count(), "consents": Consent.objects.count(),
        "borrower_history": Borrower.history.count(), "loan_history": Loan.history.count(),
        "phone_history": PhoneNumber.history.count(), "consent_history": Consent.history.count(),
    }


def test_it_imports_the_good_rows_and_reports_each_bad_row_with_line_and_column(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [
        row(1),
        row(2, phone_1="12345"),  # line 3
        row(3),
        row(4, timezone="Asia/Atlantis", principal="-1"),  # line 5
    ])

    out, err, exc = run_import(path)

    assert exc is not None
    assert set(Loan.objects.values_list("loan_ref", flat=True)) == {"L0001", "L0003"}
    assert set(Borrower.objects.values_list("borrower_ref", flat=True)) == {"B0001", "B0003"}
    assert "line 3, column phone_1: Not a valid phone number for its region." in err
    assert "line 5, column timezone: Unknown time zone" in err
    assert "line 5, column principal: The amount must be positive." in err
    assert "2 created, 0 updated, 0 unchanged, 2 rejected" in out


def test_an_imported_row_records_borrower_number_consent_and_loan(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1, phone_1_consent_channels="call")])

    run_import(path)

    loan = Loan.objects.select_related("borrower").get(loan_ref="L0001")
    assert loan.borrower.full_name == "测试0001号"
    assert loan.balance == 6000 and loan.due_date == dt.date(2026, 9, 1)
    phone = loan.borrower.phones.get()
    assert phone.e164 == "+8613800138001"
    consent = phone.consents.get()
    assert consent.channels == ["call"] and consent.evidence_ref == "APP-0001"
    assert consent.granted_at == dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)


def test_running_the_same_file_twice_creates_no_duplicates_and_no_history(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1), row(2), row(3, phone_1="bad")])
    run_import(path)
    before = counts()

    out, _err, _exc = run_import(path)

    assert counts() == before
    assert "0 created, 0 updated, 2 unchanged, 1 rejected" in out


def test_a_changed_row_updates_the_loan_and_writes_one_history_row(tmp_path):
    run_import(write_csv(tmp_path / "a.csv", [row(1)]))
    before = Loan.history.count()

    out, _err, exc = run_import(write_csv(tmp_path / "b.csv", [row(1, balance="5500.00")]))

    assert exc is None
    assert Loan.objects.get(loan_ref="L0001").balance == 5500
    assert Loan.history.count() == before + 1
    assert "0 created, 1 updated, 0 unchanged, 0 rejected" in out


@pytest.mark.parametrize(
    ("overrides", "column", "reason"),
    [
        ({"phone_1": "+86 138 0013"}, "phone_1", "Not a valid phone number for its region."),
        ({"phone_1": "+44 20 7946 0123"}, "phone_1", None),  # valid, but not CN: accepted (explicit +44)
        ({"phone_1": "+44 20 7946 0123", "phone_1_region": "CN"}, "phone_1", "does not belong to the region"),
        ({"phone_1_region": "XX"}, "phone_1_region", "Unknown region"),
        ({"timezone": "Europe/Atlantis"}, "timezone", "Unknown time zone"),
        ({"jurisdiction": "FR"}, "jurisdiction", "one of CN, US, UK"),
        ({"principal": "-100.00"}, "principal", "must be positive"),
        ({"balance": "10.001"}, "balance", "At most 2 decimal places for CNY"),
        ({"balance": "ten"}, "balance", "Not an amount"),
        ({"currency": "EUR"}, "currency", "one of CNY, USD, GBP"),
        ({"due_date": "2026-02-30"}, "due_date", "Not a date"),
        ({"due_date": "01/09/2026"}, "due_date", "Not a date"),
        ({"status": "lost"}, "status", "One of active"),
        ({"collector": "nobody"}, "collector", "No collector with this username"),
        ({"borrower_ref": "B 1"}, "borrower_ref", "letters, digits"),
        ({"full_name": ""}, "full_name", "Required"),
        ({"phone_1_consent_granted_at": "2026-01-05T10:00:00"}, "phone_1_consent_granted_at", "offset is required"),
        ({"phone_1_consent_granted_at": "2099-01-05T10:00:00+08:00"}, "phone_1_consent_granted_at", "future"),
        ({"phone_1_consent_channels": "call;fax"}, "phone_1_consent_channels", "call, sms"),
        ({"phone_1_consent_basis": "verbal"}, "phone_1_consent_basis", "one of written"),
        ({"phone_1_consent_expires_at": "2025-01-01T00:00:00Z"}, "phone_1_consent_expires_at", "after the grant"),
        ({"phone_1_consent_channels": ""}, "phone_1_consent_basis", "without phone_1_consent_channels"),
        ({"phone_2": "13800138001"}, "phone_2", "Same number as phone_1"),
    ],
)
def test_each_invalid_value_is_rejected_with_its_column_and_reason(tmp_path, overrides, column, reason):
    path = write_csv(tmp_path / "loans.csv", [row(1, **overrides)])

    _out, err, exc = run_import(path)

    if reason is None:
        assert exc is None and err == ""
        assert Loan.objects.count() == 1
        return
    assert exc is not None
    assert f"line 2, column {column}: " in err
    assert reason in err
    assert Loan.objects.count() == Borrower.objects.count() == 0


def test_a_collector_that_is_not_a_collector_is_refused_and_a_collector_is_assigned(tmp_path, collector, supervisor):
    path = write_csv(tmp_path / "loans.csv", [
        row(1, collector=collector.username), row(2, collector=supervisor.username),
    ])

    _out, err, _exc = run_import(path)

    assert Loan.objects.get(loan_ref="L0001").assigned_collector == collector
    assert "line 3, column collector: No collector with this username." in err
    assert not Loan.objects.filter(loan_ref="L0002").exists()


def test_a_borrower_ref_may_repeat_for_several_loans(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [
        row(1), row(1, loan_ref="L0001B", phone_1="13800138101", phone_1_consent_evidence="APP-0001B"),
    ])

    _out, err, exc = run_import(path)

    assert exc is None and err == ""
    borrower = Borrower.objects.get()
    assert set(borrower.loans.values_list("loan_ref", flat=True)) == {"L0001", "L0001B"}
    assert borrower.phones.count() == 2


def test_a_borrower_ref_repeated_with_other_details_is_rejected(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1), row(1, loan_ref="L0009", full_name="别的名字")])

    _out, err, exc = run_import(path)

    assert exc is not None
    assert "line 3, column borrower_ref: full_name, national_id, timezone and jurisdiction differ from line 2" in err
    assert Borrower.objects.get().full_name == "测试0001号"
    assert not Loan.objects.filter(loan_ref="L0009").exists()


def test_a_loan_ref_repeated_for_another_borrower_is_rejected(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1), row(2, loan_ref="L0001")])

    _out, err, exc = run_import(path)

    assert exc is not None
    assert "line 3, column loan_ref: Already used on line 2 for another borrower_ref." in err
    assert Loan.objects.get(loan_ref="L0001").borrower.borrower_ref == "B0001"
    assert not Borrower.objects.filter(borrower_ref="B0002").exists()


def test_a_loan_ref_repeated_for_the_same_borrower_is_rejected(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1), row(1, balance="1.00")])

    _out, err, exc = run_import(path)

    assert exc is not None
    assert "line 3, column loan_ref: Repeated: this loan_ref is already on line 2." in err
    assert Loan.objects.get().balance == 6000


def test_a_row_refused_late_writes_nothing(tmp_path):
    """The borrower's new name, number and consent are written through the services before the loan turns out
    to belong to someone else: the row's savepoint takes them all back."""
    run_import(write_csv(tmp_path / "a.csv", [row(1)]))
    f.LoanFactory(loan_ref="L-OTHER")
    before = counts()

    _out, err, exc = run_import(write_csv(tmp_path / "b.csv", [
        row(1, full_name="新名字", phone_2="13800138999", phone_2_consent_channels="sms",
            phone_2_consent_basis="written", phone_2_consent_evidence="EV-2", phone_2_consent_granted_at=GRANTED,
            loan_ref="L-OTHER"),
    ]))

    assert exc is not None
    assert "line 2, column loan_ref: This loan_ref is recorded for another borrower." in err
    assert counts() == before
    assert Borrower.objects.get(borrower_ref="B0001").full_name == "测试0001号"


def test_a_consent_already_recorded_is_not_recorded_again_even_after_a_withdrawal(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1)])
    run_import(path)
    consent_withdraw(consent=Consent.objects.get(), via="sms", actor=None)

    run_import(path)

    consent = Consent.objects.get()
    assert consent.withdrawn_at is not None  # a re-sent old file does not revive a withdrawn consent
    assert consent.state_at() == "withdrawn"


def test_a_new_consent_on_a_known_number_is_recorded(tmp_path):
    run_import(write_csv(tmp_path / "a.csv", [row(1)]))

    out, _err, _exc = run_import(write_csv(tmp_path / "b.csv", [
        row(1, phone_1_consent_evidence="APP-RENEWED", phone_1_consent_granted_at="2026-06-01T09:00:00+08:00"),
    ]))

    assert PhoneNumber.objects.count() == 1
    assert Consent.objects.count() == 2
    assert "0 created, 1 updated" in out


def test_error_output_contains_no_personal_data(tmp_path):
    bad = [
        row(1, phone_1="13800138", full_name="王小明"),
        row(2, full_name="李大伟", timezone="Nowhere/Zone", national_id="110101199001011234"),
        row(3, full_name="赵六", phone_1="+44 20 7946 0555", phone_1_region="CN"),
        row(4, full_name="孙七", national_id="x" * 70),
        row(5, full_name="周八" * 150),
    ]
    f.LoanFactory(loan_ref="L0006")
    bad.append(row(6, full_name="吴九", phone_1="13800138555"))
    path = write_csv(tmp_path / "loans.csv", bad)

    out, err, exc = run_import(path)

    assert exc is not None
    output = out + err + str(exc)
    assert err.count("line ") >= 6
    for values in bad:
        for column in ("full_name", "national_id", "phone_1"):
            assert values[column] not in output
        assert values["phone_1"].replace(" ", "") not in output
    assert "13800138" not in output and "7946" not in output and "110101" not in output


def test_the_command_exits_non_zero_only_when_a_row_was_rejected(tmp_path):
    _out, _err, exc = run_import(write_csv(tmp_path / "good.csv", [row(1)]))
    assert exc is None

    _out, _err, exc = run_import(write_csv(tmp_path / "bad.csv", [row(2, currency="XXX")]))
    assert exc is not None and "1 row(s) rejected" in str(exc)


def test_an_unknown_or_missing_column_stops_the_import_before_any_row(tmp_path):
    path = write_csv(tmp_path / "typo.csv", [{**row(1), "phone_1_consent_chanels": "call"}],
                     header=[*HEADER, "phone_1_consent_chanels"])
    _out, _err, exc = run_import(path)
    assert exc is not None and "unknown columns: phone_1_consent_chanels" in str(exc)

    header = [h for h in HEADER if h != "due_date"]
    path = write_csv(tmp_path / "missing.csv", [{k: v for k, v in row(1).items() if k != "due_date"}], header=header)
    _out, _err, exc = run_import(path)
    assert exc is not None and "missing columns: due_date" in str(exc)
    assert Loan.objects.count() == 0


def test_a_file_without_its_header_is_refused_without_echoing_the_data(tmp_path):
    path = tmp_path / "no-header.csv"
    path.write_text("B0001,王小明,110101199001011234,Asia/Shanghai,CN,13800138001,L0001,100,100,CNY,2026-01-01\n",
                    encoding="utf-8")

    out, err, exc = run_import(path)

    assert exc is not None and "unknown columns: column 1; column 2" in str(exc)
    for value in ("王小明", "110101199001011234", "13800138001"):
        assert value not in out + err + str(exc)


def test_a_gbk_file_is_refused_with_a_hint_to_save_it_as_utf8(tmp_path):
    path = tmp_path / "gbk.csv"
    with path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, restval="")
        writer.writeheader()
        writer.writerow(row(1))

    out, err, exc = run_import(path)

    assert exc is not None
    assert "line 2, column (row): Line 2 is not valid UTF-8. Save the file as UTF-8" in err
    assert Loan.objects.count() == 0


def test_a_header_that_is_not_utf8_stops_the_import(tmp_path):
    path = tmp_path / "gbk-header.csv"
    path.write_bytes(",".join(HEADER).replace("full_name", "姓名").encode("gbk") + b"\n")

    _out, _err, exc = run_import(path)

    assert exc is not None and "Line 1 is not valid UTF-8" in str(exc)


def test_line_numbers_are_physical_lines_of_the_file(tmp_path):
    """A quoted field may span lines; errors name the line the row starts on, as an editor shows it."""
    path = write_csv(tmp_path / "loans.csv", [row(1, full_name="第一行\n第二行"), row(2, currency="XXX")])

    _out, err, _exc = run_import(path)

    assert "line 4, column currency:" in err


def test_a_wrong_number_of_fields_is_reported_for_the_row(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1)])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("B0002,someone\n")

    _out, err, _exc = run_import(path)

    assert f"line 3, column (row): Expected {len(HEADER)} fields, found 2." in err
    assert Loan.objects.count() == 1


def test_a_spreadsheet_byte_order_mark_and_blank_lines_are_accepted(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1)])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes() + b"\r\n\r\n")

    _out, err, exc = run_import(path)

    assert exc is None and err == ""
    assert Loan.objects.count() == 1


def test_us_and_uk_rows_read_numbers_in_their_own_region(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [
        row(1, jurisdiction="US", timezone="America/Denver", phone_1="(303) 555-2368", currency="USD"),
        row(2, jurisdiction="UK", timezone="Europe/London", phone_1="020 7946 0123", currency="GBP"),
    ])

    _out, err, exc = run_import(path)

    assert exc is None, err
    assert PhoneNumber.objects.get(borrower__borrower_ref="B0001").e164 == "+13035552368"
    assert PhoneNumber.objects.get(borrower__borrower_ref="B0002").region == "GB"


def test_each_batch_is_audited_with_counts_and_no_personal_data(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1), row(2), row(3, principal="-1"), row(4), row(5)])

    run_import(path, "--batch-size", "2")

    events = list(AuditEvent.objects.filter(action=AuditAction.IMPORT_RUN).order_by("id"))
    assert [e.data["rows"] for e in events] == [2, 2, 1]
    assert [e.data["rejected"] for e in events] == [0, 1, 0]
    assert [(e.data["first_line"], e.data["last_line"]) for e in events] == [(2, 3), (4, 5), (6, 6)]
    assert len({e.subject_id for e in events}) == 1  # one run id ties the batches together
    text = str([e.data for e in events])
    assert "测试" not in text and "138" not in text


def test_the_actor_is_recorded_in_audit_and_history(tmp_path, compliance):
    run_import(write_csv(tmp_path / "loans.csv", [row(1)]), "--actor", compliance.username)

    loan = Loan.objects.get()
    assert loan.history.get().history_user == compliance
    assert Borrower.history.get().history_user == compliance
    assert Consent.history.get().history_user == compliance
    event = AuditEvent.objects.filter(action=AuditAction.IMPORT_RUN).get()
    assert event.actor == compliance
    # New objects are written in bulk: the batch's event lists every id it created.
    assert event.data["created_ids"]["collections_app.loan"] == [loan.pk]
    assert event.data["created_ids"]["consent_app.consent"] == [Consent.objects.get().pk]

    run_import(write_csv(tmp_path / "changed.csv", [row(1, status="settled")]), "--actor", compliance.username)

    # A change to existing data goes through the service: its own history row and audit event.
    assert loan.history.latest().history_user == compliance
    assert AuditEvent.objects.filter(action=AuditAction.LOAN_UPDATED).get().actor == compliance


def test_when_a_bulk_write_fails_the_rows_are_written_one_by_one_through_the_services(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise IntegrityError("simulated: another writer created the same ref meanwhile")

    monkeypatch.setattr("collections_app.imports.writer.insert_with_history", refuse)
    f.LoanFactory(loan_ref="L0002")  # row 2's loan belongs to someone else: only that row is refused

    out, err, exc = run_import(write_csv(tmp_path / "loans.csv", [row(1), row(2), row(3)]))

    assert exc is not None
    assert "line 3, column loan_ref: This loan_ref is recorded for another borrower." in err
    assert "2 created, 0 updated, 0 unchanged, 1 rejected" in out
    assert AuditEvent.objects.filter(action=AuditAction.LOAN_CREATED).count() == 2
    assert Consent.objects.count() == 2


def test_an_unknown_actor_is_refused(tmp_path):
    _out, _err, exc = run_import(write_csv(tmp_path / "loans.csv", [row(1)]), "--actor", "nobody")
    assert exc is not None and "--actor" in str(exc)
    assert Loan.objects.count() == 0


def test_a_dry_run_saves_nothing(tmp_path):
    out, _err, exc = run_import(write_csv(tmp_path / "loans.csv", [row(1)]), "--dry-run")
    assert exc is None and "Dry run" in out and "1 created" in out
    assert Loan.objects.count() == Borrower.objects.count() == AuditEvent.objects.count() == 0


def test_an_unchanged_batch_costs_the_same_queries_for_1_row_and_for_40(tmp_path):
    """Re-importing unchanged rows: per batch one query each for borrowers, loans, numbers and consents,
    plus the batch's audit event (one INSERT). Row savepoints excluded."""
    def queries_for(rows: int) -> int:
        path = write_csv(tmp_path / f"{rows}.csv", [row(n) for n in range(1, rows + 1)])
        run_import(path)
        with CaptureQueriesContext(connection) as ctx:
            _out, _err, exc = run_import(path)
        assert exc is None
        return sum(1 for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"].upper())

    assert queries_for(1) == queries_for(40)


def test_the_sample_file_imports_cleanly(tmp_path):
    sample = Path(__file__).resolve().parents[3] / "docs" / "sample-import.csv"
    f.make_collector("collector1")
    f.make_collector("collector2")

    _out, err, exc = run_import(sample)

    assert exc is None, err
    assert Loan.objects.count() > 0
    before = counts()
    run_import(sample)
    assert counts() == before


@pytest.fixture(autouse=True)
def _now():
    """The rows' grant times and due dates are fixed, so the clock is too (a grant must not be in the future)."""
    with time_machine.travel(dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC), tick=True):
        yield


# --- Reading the file: one record's problem stays that record's -------------------------------------------------


def _csv_line(values: dict[str, str]) -> str:
    out = StringIO()
    csv.DictWriter(out, fieldnames=HEADER, restval="", lineterminator="\n").writerow(values)
    return out.getvalue()


def test_a_row_hidden_in_an_oversized_quoted_value_is_never_imported(tmp_path):
    """A value larger than the reader accepts, hiding a whole row after a line break: the row that carries it is
    refused, the hidden row is not read, and the rows after it are."""
    hidden = _csv_line(row(666))
    smuggled = row(2, full_name="x" * 140_000 + "\n" + hidden + "y")
    path = tmp_path / "smuggled.csv"
    path.write_text(",".join(HEADER) + "\n" + _csv_line(row(1)) + _csv_line(smuggled) + _csv_line(row(3)),
                    encoding="utf-8")

    _out, err, exc = run_import(path)

    assert exc is not None  # a rejected row
    assert "line 3, column (row): The row is larger than 65536 characters." in err
    assert sorted(Loan.objects.values_list("loan_ref", flat=True)) == ["L0001", "L0003"]
    assert not Borrower.objects.filter(borrower_ref__in=["B0002", "B0666"]).exists()
    assert Consent.objects.count() == 2


def test_an_invalid_byte_is_reported_at_its_line_and_the_rows_after_it_are_imported(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1), row(2), row(3)])
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace("测试0002号".encode(), "测试0002号".encode("gbk"))  # line 3 of the file
    path.write_bytes(b"\n".join(lines))

    _out, err, exc = run_import(path)

    assert exc is not None
    assert err.strip() == (
        "line 3, column (row): Line 3 is not valid UTF-8. Save the file as UTF-8: GBK/GB18030 exports are not "
        "accepted."
    )
    assert sorted(Loan.objects.values_list("loan_ref", flat=True)) == ["L0001", "L0003"]


def test_an_unclosed_quote_is_reported_where_it_opens_and_the_rows_before_it_are_imported(tmp_path):
    path = tmp_path / "loans.csv"
    broken = _csv_line(row(2)).replace("测试0002号", '"测试0002号', 1)
    path.write_text(",".join(HEADER) + "\n" + _csv_line(row(1)) + broken + _csv_line(row(3)), encoding="utf-8")

    _out, err, exc = run_import(path)

    assert exc is not None
    assert "line 3, column (row): A quoted value opened on this line is never closed" in err
    assert list(Loan.objects.values_list("loan_ref", flat=True)) == ["L0001"]


def test_broken_quoting_inside_a_row_is_that_rows_error(tmp_path):
    path = tmp_path / "loans.csv"
    broken = _csv_line(row(2)).replace("测试0002号", '"测试"0002号', 1)
    path.write_text(",".join(HEADER) + "\n" + _csv_line(row(1)) + broken + _csv_line(row(3)), encoding="utf-8")

    _out, err, _exc = run_import(path)

    assert "line 3, column (row): The row cannot be read as CSV." in err
    assert sorted(Loan.objects.values_list("loan_ref", flat=True)) == ["L0001", "L0003"]


def test_nul_characters_are_refused_with_the_rows_other_errors(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(1, full_name="测试\x00号", currency="XXX"), row(2)])

    _out, err, _exc = run_import(path)

    assert "line 2, column full_name: Must not contain NUL characters." in err
    assert "line 2, column currency:" in err
    assert list(Loan.objects.values_list("loan_ref", flat=True)) == ["L0002"]


@pytest.mark.parametrize(("column", "value"), [
    ("due_date", "1969-12-31"),
    ("due_date", "2200-01-01"),
    ("phone_1_consent_granted_at", "0001-01-01T00:00:00+00:00"),
    ("phone_1_consent_expires_at", "9999-12-31T23:59:59+00:00"),
])
def test_dates_outside_1970_to_2199_are_refused_as_the_api_refuses_them(tmp_path, column, value):
    path = write_csv(tmp_path / "loans.csv", [row(1, **{column: value})])

    _out, err, _exc = run_import(path)

    assert f"line 2, column {column}: The date must be between 1970 and 2199." in err
    assert Loan.objects.count() == 0


def test_every_error_of_a_row_is_reported(tmp_path):
    path = write_csv(tmp_path / "loans.csv", [row(
        1, phone_1_region="ZZ", phone_1_consent_basis="hearsay", currency="XXX", due_date="tomorrow",
        timezone="Mars/Olympus",
    )])

    _out, err, _exc = run_import(path)

    columns = sorted(line.split("column ")[1].split(":")[0] for line in err.strip().splitlines())
    assert columns == ["currency", "due_date", "phone_1_consent_basis", "phone_1_region", "timezone"]
