"""Reporting: complaints per 1,000 outbound contacts by collector, team and category; upheld and overdue counts;
the audited CSV export in the desk (a supervisor's teams) and in admin (compliance, everything)."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from collections_app.complaints.reports import build_report
from collections_app.complaints.services import complaint_escalate_overdue, complaint_resolve, complaint_transition
from collections_app.models import ContactAttempt

from .helpers import MORNING, open_complaint, phone_of

pytestmark = pytest.mark.django_db
PERIOD = {"start": "2027-02-02", "end": "2027-03-03"}


def _contacts(loan, collector, n, *, direction="outbound", days_ago=1):
    ContactAttempt.objects.bulk_create(
        ContactAttempt(loan=loan, phone=phone_of(loan), borrower=loan.borrower, channel="call", direction=direction,
                       outcome="no_answer", compliant=True, collector=collector,
                       started_at=MORNING - dt.timedelta(days=days_ago, minutes=i))
        for i in range(n)
    )


@pytest.fixture
def activity(cn_loan, other_loan, collector, other_collector, supervisor):
    _contacts(cn_loan, collector, 40)
    _contacts(other_loan, other_collector, 10)
    _contacts(cn_loan, collector, 5, direction="inbound")  # not contacts
    _contacts(cn_loan, collector, 7, days_ago=45)  # before the period
    with time_machine.travel(MORNING - dt.timedelta(days=20), tick=False):
        late = open_complaint(other_loan, None, collectors=[other_collector], category="threats_abuse")
    with time_machine.travel(MORNING - dt.timedelta(days=2), tick=False):
        upheld = open_complaint(cn_loan, None, collectors=[collector])
        upheld = complaint_transition(complaint=upheld, to_state="acknowledged", actor=supervisor)
        upheld = complaint_transition(complaint=upheld, to_state="investigating", actor=supervisor)
        complaint_resolve(complaint=upheld, outcome="upheld", root_cause="Too many calls.",
                          remediation="Coaching.", actor=supervisor)
        open_complaint(cn_loan, None, collectors=[collector], category="inconvenient_time")
        open_complaint(cn_loan, None, category="amount_dispute", description="Zhang San 13800138000")
    with time_machine.travel(MORNING, tick=False):
        complaint_escalate_overdue(now=MORNING)
        yield {"late": late}


def _period():
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    return dt.datetime(2027, 2, 2, tzinfo=zone), dt.datetime(2027, 3, 4, tzinfo=zone)


def _rows(rows):
    return {r.key: (r.complaints, r.upheld, r.overdue, r.contacts, r.per_1000) for r in rows}


def test_compliance_sees_complaints_per_1000_contacts_for_everyone(activity, compliance):
    start, end = _period()
    report = build_report(user=compliance, start=start, end=end, now=MORNING)
    assert report.scope == "all"
    assert _rows(report.by_collector) == {
        "collector_a": (2, 1, 0, 40, Decimal("50.00")),
        "collector_b": (1, 0, 1, 10, Decimal("100.00")),
        "-": (1, 0, 0, 0, None),
    }
    assert _rows(report.by_team) == {
        "Team A": (3, 1, 0, 40, Decimal("75.00")),
        "Team B": (1, 0, 1, 10, Decimal("100.00")),
    }
    by_category = _rows(report.by_category)
    assert by_category["contact_frequency"] == (1, 1, 0, 50, Decimal("20.00"))
    assert by_category["threats_abuse"] == (1, 0, 1, 50, Decimal("20.00"))
    assert by_category["privacy"] == (0, 0, 0, 50, Decimal("0.00"))
    assert (report.total.complaints, report.total.upheld, report.total.overdue, report.total.contacts) == (4, 1, 1, 50)
    assert report.total.per_1000 == Decimal("80.00")


def test_a_supervisor_sees_their_teams_figures_only(activity, supervisor):
    start, end = _period()
    report = build_report(user=supervisor, start=start, end=end, now=MORNING)
    assert report.scope == "team"
    assert _rows(report.by_collector) == {
        "collector_a": (2, 1, 0, 40, Decimal("50.00")), "-": (1, 0, 0, 0, None),
    }
    assert _rows(report.by_team) == {"Team A": (3, 1, 0, 40, Decimal("75.00"))}
    assert report.total.contacts == 40 and report.total.complaints == 3


def test_the_csv_export_is_audited_and_holds_no_personal_data(client, activity, supervisor, cn_loan):
    client.force_login(supervisor)
    response = client.get(reverse("complaints:report_csv"), PERIOD)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "complaints-20270202-20270303.csv" in response["Content-Disposition"]
    body = response.content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["dimension", "key", "complaints"]
    assert ["collector", "collector_a", "2", "1", "0", "40", "50.00"] in rows
    assert rows[-1][0] == "total"
    for secret in ("Zhang San", "13800138000", "nine times", cn_loan.borrower.borrower_ref,
                   phone_of(cn_loan).e164, cn_loan.borrower.full_name):
        assert secret not in body
    event = AuditEvent.objects.get(action=AuditAction.COMPLAINT_REPORT_EXPORTED)
    assert event.actor_id == supervisor.pk
    assert event.data["scope"] == "team" and event.data["rows"] == len(rows) - 1


def test_the_report_page_renders_the_three_breakdowns(client, activity, compliance):
    client.force_login(compliance)
    response = client.get(reverse("complaints:report"), PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "collector_b" in html and "Team B" in html and "100.00" in html
    assert not AuditEvent.objects.filter(action=AuditAction.COMPLAINT_REPORT_EXPORTED).exists()  # viewing


def test_a_bad_period_is_refused(client, activity, compliance):
    client.force_login(compliance)
    assert client.get(reverse("complaints:report"), {"start": "2027-03-05", "end": "2027-03-01"}).status_code == 422
    assert client.get(reverse("complaints:report_csv"), {"start": "2020-01-01", "end": "2027-03-01"}).status_code \
        == 422
    assert not AuditEvent.objects.filter(action=AuditAction.COMPLAINT_REPORT_EXPORTED).exists()


def test_compliance_exports_everything_from_admin(client, activity, compliance):
    client.force_login(compliance)
    page = client.get(reverse("admin:collections_app_complaint_report"), PERIOD)
    assert page.status_code == 200 and "collector_b" in page.content.decode()
    response = client.get(reverse("admin:collections_app_complaint_report_csv"), PERIOD)
    assert response.status_code == 200
    assert ["collector", "collector_b", "1", "0", "1", "10", "100.00"] in list(
        csv.reader(io.StringIO(response.content.decode()))
    )
    assert AuditEvent.objects.get(action=AuditAction.COMPLAINT_REPORT_EXPORTED).data["scope"] == "all"


def test_a_cell_that_a_spreadsheet_would_run_as_a_formula_is_neutralised():
    from collections_app.complaints.reports import ComplaintReport, ReportRow, report_csv_rows

    start, end = _period()
    report = ComplaintReport(start=start, end=end, scope="all",
                             by_team=[ReportRow(key="=HYPERLINK(1)", label="x", complaints=1, contacts=10)])
    assert ["team", "'=HYPERLINK(1)", "1", "0", "0", "10", "100.00"] in report_csv_rows(report)
