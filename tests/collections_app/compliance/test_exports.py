"""The compliance exports: the audit events and the contact attempts of the current search as CSV, streamed chunk by
chunk (one query per chunk), formula-escaped as the complaint report is, on the reader's clock, each export itself
an audit event, and nothing in them the compliance officer does not read on screen."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from audit_app.services import audit_log
from collections_app.compliance import selectors
from collections_app.contact.services import attempt_record
from collections_app.models import ContactAttempt, StaffProfile
from tests import factories as f
from tests.queries import tables

from .conftest import MORNING, NUMBER, make_file

pytestmark = pytest.mark.django_db

AUDIT = reverse("compliance:audit")
AUDIT_CSV = reverse("compliance:audit_csv")
ATTEMPTS_CSV = reverse("compliance:attempts_csv")


def _download(client, url, params=None):
    response = client.get(url, params or {})
    assert response.status_code == 200, response.status_code
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body))), body


def _exports(action):
    return AuditEvent.objects.filter(action=action)


# --- Audit events ---------------------------------------------------------------------------------------------------


def test_the_events_of_the_search_are_exported_and_the_export_is_an_event(client, compliance, files):
    client.force_login(compliance)
    rows, body = _download(client, AUDIT_CSV, {"borrower_ref": "B-AUD-1"})
    mine = files["mine"]
    subjects = {(r["subject_type"], r["subject_id"]) for r in rows}
    assert ("consent_app.borrower", str(mine["borrower"].pk)) in subjects
    assert ("consent_app.borrower", str(files["other"]["borrower"].pk)) not in subjects
    export = _exports(AuditAction.AUDIT_TRAIL_EXPORTED).get()
    assert export.actor_id == compliance.pk
    assert export.data["search"] == {"borrower_ref": "B-AUD-1"} and export.data["rows"] == len(rows)
    assert str(export.pk) not in {r["event_id"] for r in rows}  # the export holds what there was before it
    assert {r["action"] for r in rows} >= {"borrower.created", "pii.revealed", "note.added"}


def test_the_export_holds_what_the_screen_shows_and_no_personal_data(client, compliance, files):
    client.force_login(compliance)
    shown = client.get(AUDIT, {"borrower_ref": "B-AUD-1"}).context["events"]
    rows, body = _download(client, AUDIT_CSV, {"borrower_ref": "B-AUD-1"})
    assert [int(r["event_id"]) for r in rows] == [e.pk for e in shown]
    for secret in ("王小芳", NUMBER, NUMBER[3:], "payday is the 10th", "asked for a week"):
        assert secret not in body


def test_a_number_search_is_exported_by_its_session_id_and_never_written_down(client, compliance, files):
    client.force_login(compliance)
    location = client.post(AUDIT, {"number": "138 0013 8000"})["Location"]
    rows, body = _download(client, AUDIT_CSV + location[len(AUDIT):])
    assert ("consent_app.phonenumber", str(files["mine"]["phone"].pk)) in {(r["subject_type"], r["subject_id"])
                                                                           for r in rows}
    assert "13800138000" not in body
    export = _exports(AuditAction.AUDIT_TRAIL_EXPORTED).get()
    assert export.data["search"] == {"number": True, "number_borrower_ids": [files["mine"]["borrower"].pk]}
    assert "13800138000" not in json.dumps(export.data) and "8000" not in json.dumps(export.data["search"])


def test_text_cells_are_escaped_as_the_complaint_report_escapes_them(client, compliance, files):
    rogue = f.UserFactory(username="=HYPERLINK(1)")
    audit_log(action=AuditAction.BORROWER_UPDATED, subject=files["mine"]["borrower"], actor=rogue)
    client.force_login(compliance)
    rows, _body = _download(client, AUDIT_CSV, {"borrower_ref": "B-AUD-1"})
    assert rows[0]["actor"] == "'=HYPERLINK(1)"


def test_times_are_on_the_readers_clock_with_their_offset(client, compliance, files):
    StaffProfile.objects.create(user=compliance, time_zone="America/Chicago")
    client.force_login(compliance)
    rows, _body = _download(client, AUDIT_CSV, {"borrower_ref": "B-AUD-1"})
    assert {r["occurred_at"] for r in rows} == {"2027-03-02T20:00:00-06:00"}  # 10:00 in Shanghai


def test_an_export_of_nothing_is_still_recorded(client, compliance, files):
    client.force_login(compliance)
    rows, _body = _download(client, AUDIT_CSV, {"loan_ref": "L-NOPE"})
    assert rows == []
    assert _exports(AuditAction.AUDIT_TRAIL_EXPORTED).get().data["rows"] == 0


def test_an_invalid_search_exports_nothing_and_records_nothing(client, compliance, files):
    client.force_login(compliance)
    response = client.get(AUDIT_CSV, {"start": "2027-03-05", "end": "2027-03-01"})
    assert response.status_code == 422 and not response.get("Content-Disposition")
    assert not _exports(AuditAction.AUDIT_TRAIL_EXPORTED).exists()


def _streamed(client, url, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
        lines = b"".join(response.streaming_content).decode().splitlines()
    return lines, tables(queries)


@pytest.mark.parametrize(("n", "chunks"), [(1, 1), (4, 1), (5, 2), (12, 3)])
def test_the_audit_export_reads_one_chunk_per_query(client, compliance, collector, morning, monkeypatch, n, chunks):
    monkeypatch.setattr(selectors, "EXPORT_CHUNK_SIZE", 5)
    file = make_file(borrower_ref="B-CHUNK", loan_ref="L-CHUNK", number="+8613800138009", collector=collector,
                     actor=compliance)
    for _ in range(n):
        audit_log(action=AuditAction.BORROWER_UPDATED, subject=file["borrower"], actor=compliance)
    client.force_login(compliance)
    lines, read = _streamed(client, AUDIT_CSV, {"borrower_ref": "B-CHUNK", "action": "borrower.updated"})
    assert len(lines) == 1 + n  # the header and the events
    # Before the first line: the session, the user, the second factor, the groups, then in the export's savepoint
    # the newest event and the count of the search and the export's own event. Then one query per chunk of 5 (a
    # full last chunk is followed by one that finds nothing): the same for 1 event as for 4, one more per 5 after.
    before = ["collections_app_usersession", "auth_user", "otp_totp_totpdevice", "auth_group", "SAVEPOINT",
              "audit_app_auditevent", "audit_app_auditevent", "INSERT audit_app_auditevent", "RELEASE SAVEPOINT"]
    assert read == before + ["audit_app_auditevent"] * chunks, read


# --- Contact attempts -----------------------------------------------------------------------------------------------


def test_the_attempts_of_the_search_are_exported_masked_and_the_export_is_an_event(client, compliance, collector,
                                                                                  files):
    client.force_login(compliance)
    rows, body = _download(client, ATTEMPTS_CSV, {"loan_ref": "L-AUD-1"})
    attempt = files["mine"]["attempts"][0]
    assert [r["attempt_id"] for r in rows] == [str(attempt.pk)]
    row = rows[0]
    assert (row["loan_ref"], row["borrower_ref"], row["collector"], row["outcome"]) == (
        "L-AUD-1", "B-AUD-1", collector.username, "no_answer")
    # The number masked as on screen, its leading "+" escaped like any cell a spreadsheet would read as a formula.
    assert row["number"] == "'" + files["mine"]["phone"].masked and NUMBER not in body and NUMBER[3:] not in body
    assert row["started_at"] == attempt.started_at.astimezone(MORNING.tzinfo).isoformat(timespec="seconds")
    export = _exports(AuditAction.ATTEMPTS_EXPORTED).get()
    assert export.data == {"search": {"loan_ref": "L-AUD-1"}, "rows": 1, "up_to_id": attempt.pk}


def test_the_attempts_export_follows_the_user_and_the_period(client, compliance, collector, other_collector, files):
    client.force_login(compliance)
    rows, _body = _download(client, ATTEMPTS_CSV, {"user": other_collector.username})
    assert {r["loan_ref"] for r in rows} == {"L-AUD-2"}
    rows, _body = _download(client, ATTEMPTS_CSV, {"start": "2027-03-03", "end": "2027-03-03"})
    assert rows == []  # the attempts were the day before, on the reader's clock


def test_the_attempts_export_escapes_formulas(client, compliance, files, morning):
    file = files["mine"]
    attempt_record(external_id="X-FORMULA", loan=file["loan"], phone=file["phone"], channel="call",
                   direction="outbound", started_at=MORNING, outcome="no_answer", actor=None,
                   recording_ref="=1+1", collector=f.make_collector("@SUM(A1)"))
    client.force_login(compliance)
    rows, _body = _download(client, ATTEMPTS_CSV, {"loan_ref": "L-AUD-1"})
    formula = next(r for r in rows if r["external_id"] == "X-FORMULA")
    assert (formula["recording_ref"], formula["collector"]) == ("'=1+1", "'@SUM(A1)")


@pytest.mark.parametrize("n", [1, 12])
def test_the_attempts_export_reads_one_chunk_per_query(client, compliance, collector, morning, monkeypatch, n):
    monkeypatch.setattr(selectors, "EXPORT_CHUNK_SIZE", 5)
    make_file(borrower_ref="B-ACH", loan_ref="L-ACH", number="+8613800138008", collector=collector, actor=compliance,
              attempts=n)
    client.force_login(compliance)
    lines, read = _streamed(client, ATTEMPTS_CSV, {"loan_ref": "L-ACH"})
    assert len(lines) == 1 + n
    assert ContactAttempt.objects.filter(loan__loan_ref="L-ACH").count() == n
    # As above, with the newest attempt and the count; then one query per chunk of attempts (with
    # their loan, borrower, number, collector and policy version joined): 1 for one attempt, 3 for twelve.
    before = ["collections_app_usersession", "auth_user", "otp_totp_totpdevice", "auth_group", "SAVEPOINT",
              "collections_app_contactattempt", "collections_app_contactattempt", "INSERT audit_app_auditevent",
              "RELEASE SAVEPOINT"]
    assert read == before + ["collections_app_contactattempt"] * (1 if n == 1 else 3), read
