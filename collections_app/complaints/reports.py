"""Complaint reporting: complaints per 1,000 contacts by collector, team and category, with upheld and overdue
counts. Read-only; the audited CSV export is `services.complaint_report_export`.

Definitions:
- The period is [start, end): complaints by `received_at`, contacts by `started_at`.
- Contacts are outbound contact attempts (calls and SMS, connected or not): the denominator the issue fixes.
- A complaint naming two collectors counts once for each of them; complaints naming none are one "no collector
  named" row. The team of a complaint is the team of the collector concerned, set at intake.
- Overdue: escalated, or an acknowledgement or resolution past its due time (late, or still missing).
- Scope: compliance officers see everything; a supervisor the complaints of the teams they supervise and the
  contacts made by those teams' collectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from ..models import AttemptDirection, Complaint, ComplaintCategory, ComplaintOutcome, ContactAttempt
from ..models.complaints import overdue_q
from ..permissions import is_compliance
from ..spreadsheets import safe_cell

NO_COLLECTOR = "-"
NO_TEAM = "-"


@dataclass
class ReportRow:
    key: str
    label: Any
    complaints: int = 0
    upheld: int = 0
    overdue: int = 0
    contacts: int = 0

    @property
    def per_1000(self) -> Decimal | None:
        if not self.contacts:
            return None
        rate = Decimal(self.complaints) * 1000 / Decimal(self.contacts)
        return rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class ComplaintReport:
    start: datetime
    end: datetime
    scope: str  # "all" (compliance) or "team" (a supervisor's teams)
    by_collector: list[ReportRow] = field(default_factory=list)
    by_team: list[ReportRow] = field(default_factory=list)
    by_category: list[ReportRow] = field(default_factory=list)
    total: ReportRow = field(default_factory=lambda: ReportRow(key="total", label=_("Total")))


def _counts(now: datetime) -> dict[str, Any]:
    # distinct: the collector breakdown joins the many-to-many table.
    return {
        "n": Count("pk", distinct=True),
        "upheld": Count("pk", filter=Q(outcome=ComplaintOutcome.UPHELD), distinct=True),
        "overdue": Count("pk", filter=overdue_q(now), distinct=True),
    }


def _fill(row: ReportRow, data: dict[str, Any]) -> ReportRow:
    row.complaints, row.upheld, row.overdue = data["n"], data["upheld"], data["overdue"]
    return row


def build_report(*, user: Any, start: datetime, end: datetime, now: datetime) -> ComplaintReport:
    """Six queries whatever the volume: complaints by collector, by team, by category and in total; contacts by
    collector and by team."""
    complaints = Complaint.objects.filter(received_at__gte=start, received_at__lt=end)
    contacts = ContactAttempt.objects.filter(
        direction=AttemptDirection.OUTBOUND, started_at__gte=start, started_at__lt=end
    )
    scope = "all"
    if not is_compliance(user):
        scope = "team"
        complaints = complaints.filter(team__supervisor=user)
        contacts = contacts.filter(collector__team_membership__team__supervisor=user)
    counts = _counts(now)
    report = ComplaintReport(start=start, end=end, scope=scope)

    # By collector: every collector with complaints or contacts in the period.
    collectors: dict[Any, ReportRow] = {}
    for data in contacts.values("collector_id", "collector__username").annotate(contacts=Count("pk")):
        key = data["collector__username"] or NO_COLLECTOR
        collectors[data["collector_id"]] = ReportRow(key=key, label=key, contacts=data["contacts"])
    for data in complaints.values("collectors__id", "collectors__username").annotate(**counts):
        pk = data["collectors__id"]
        if pk is None:
            row = ReportRow(key=NO_COLLECTOR, label=_("No collector named"))
            _fill(row, data)
            report.by_collector.append(row)
            continue
        key = data["collectors__username"]
        _fill(collectors.setdefault(pk, ReportRow(key=key, label=key)), data)
    # Outbound attempts without a collector (e.g. a dialer campaign) count in the total only.
    total_contacts = sum(r.contacts for r in collectors.values())
    collectors.pop(None, None)
    report.by_collector = sorted(collectors.values(), key=lambda r: r.key) + report.by_collector

    teams: dict[Any, ReportRow] = {}
    team_path = "collector__team_membership__team"
    for data in contacts.values(f"{team_path}_id", f"{team_path}__name").annotate(contacts=Count("pk")):
        if data[f"{team_path}_id"] is None:
            continue
        name = data[f"{team_path}__name"]
        teams[data[f"{team_path}_id"]] = ReportRow(key=name, label=name, contacts=data["contacts"])
    for data in complaints.values("team_id", "team__name").annotate(**counts):
        if data["team_id"] is None:
            report.by_team.append(_fill(ReportRow(key=NO_TEAM, label=_("No team")), data))
            continue
        name = data["team__name"]
        _fill(teams.setdefault(data["team_id"], ReportRow(key=name, label=name)), data)
    report.by_team = sorted(teams.values(), key=lambda r: r.key) + report.by_team

    by_category = {data["category"]: data for data in complaints.values("category").annotate(**counts)}
    for code, label in ComplaintCategory.choices:
        row = ReportRow(key=code, label=label, contacts=total_contacts)
        if code in by_category:
            _fill(row, by_category[code])
        report.by_category.append(row)

    report.total.contacts = total_contacts
    _fill(report.total, complaints.aggregate(**counts))
    return report


CSV_HEADER = ["dimension", "key", "complaints", "upheld", "overdue", "contacts", "complaints_per_1000_contacts"]


def report_csv_rows(report: ComplaintReport) -> list[list[str]]:
    """The report as CSV rows: references (usernames, team names), codes and counts only."""
    rows = [CSV_HEADER]
    sections = (("collector", report.by_collector), ("team", report.by_team), ("category", report.by_category),
                ("total", [report.total]))
    for dimension, section in sections:
        for row in section:
            rate = row.per_1000
            rows.append([dimension, safe_cell(row.key), str(row.complaints), str(row.upheld), str(row.overdue),
                         str(row.contacts), "" if rate is None else str(rate)])
    return rows
