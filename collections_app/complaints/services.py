"""Every write to complaints (STYLE.md §1): keyword-only, atomic, writing its audit event in the same transaction.

Routing (decided at intake, `complaint_route`):
1. Category in settings.COMPLAINT_COMPLIANCE_CATEGORIES (privacy) or channel in COMPLAINT_COMPLIANCE_CHANNELS
   (regulator referral) -> the compliance queue: compliance answers data-subject matters and the regulator.
2. Otherwise the supervisor of the collector concerned: the first named collector who belongs to a team, else the
   loan's assigned collector's team.
3. No team known, or the supervisor is one of the collectors named -> the compliance queue.
The team found in 2 is recorded in every case (reports count complaints per team; the supervisor sees them).

Deadlines (settings, in the jurisdiction's local time): acknowledge by the end of the COMPLAINT_ACK_BUSINESS_DAYS-th
business day after the day of receipt (Saturdays, Sundays and PublicHoliday rows of the jurisdiction skipped);
resolve by the end of the COMPLAINT_RESOLVE_CALENDAR_DAYS-th calendar day after it. An open complaint past a due
time is escalated once to the compliance queue by `complaint_escalate_overdue` (beat task).

Collection hold: a complaint whose category is in settings.COMPLAINT_HOLD_CATEGORIES for the borrower's
jurisdiction places a borrower-wide complaint_hold restriction (restriction_place) when opened; closing the
complaint (resolved or withdrawn) lifts it (restriction_lift). Whether the hold blocks contact is the contact
policy version's `complaint_hold_blocks`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.history import with_change_reason
from consent_app.models import JURISDICTION_DEFAULT_ZONES, Borrower, RestrictionKind
from consent_app.services import restriction_lift, restriction_place
from consent_app.validators import is_in_future, is_in_range

from ..models import (
    CLOSED_COMPLAINT_STATES,
    COMPLAINT_TRANSITIONS,
    OPEN_COMPLAINT_STATES,
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintOutcome,
    ComplaintQueue,
    ComplaintSource,
    ComplaintState,
    ContactAttempt,
    Loan,
    PublicHoliday,
    Team,
    TeamMember,
)
from ..permissions import is_collector
from ..states import check_transition
from .hold_reasons import complaint_hold_reason
from .reports import report_csv_rows

DESCRIPTION_MAX_LENGTH = 10_000
TEXT_MAX_LENGTH = 5_000
ESCALATION_BATCH = 500


# --- Deadlines --------------------------------------------------------------------------------------------------


def jurisdiction_zone(jurisdiction: str) -> ZoneInfo:
    return ZoneInfo(JURISDICTION_DEFAULT_ZONES.get(jurisdiction, settings.TIME_ZONE))


def add_business_days(start: date, days: int, holidays: frozenset[date] | set[date] = frozenset()) -> date:
    """The `days`-th business day after `start` (Monday to Friday, not a holiday). A complaint received on a
    Friday or a Saturday with 2 days is due on the Tuesday."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            remaining -= 1
    return day


def _end_of_day(day: date, zone: ZoneInfo) -> datetime:
    # Midnight at the start of the next local day: "by the end of Tuesday" (DST-correct through zoneinfo).
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def complaint_deadlines(*, received_at: datetime, jurisdiction: str) -> tuple[datetime, datetime]:
    """(acknowledge by, resolve by) for a complaint received at `received_at`. One query (the holidays)."""
    zone = jurisdiction_zone(jurisdiction)
    received_day = received_at.astimezone(zone).date()
    ack_days = settings.COMPLAINT_ACK_BUSINESS_DAYS
    # Enough room for weekends and a long holiday (Chinese New Year, National Day: 7-8 days off in a row).
    horizon = received_day + timedelta(days=ack_days * 2 + 21)
    holidays = frozenset(
        PublicHoliday.objects.filter(
            jurisdiction=jurisdiction, date__gt=received_day, date__lte=horizon
        ).values_list("date", flat=True)
    )
    ack_day = add_business_days(received_day, ack_days, holidays)
    resolve_day = received_day + timedelta(days=settings.COMPLAINT_RESOLVE_CALENDAR_DAYS)
    return _end_of_day(ack_day, zone), _end_of_day(resolve_day, zone)


# --- Routing ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Routing:
    queue: str
    rule: str
    team: Team | None
    assigned_to: Any


def complaint_route(*, category: str, channel: str, collectors: Sequence[Any], loan: Loan | None) -> Routing:
    """Which queue and reviewer a new complaint goes to (see the module docstring). One query."""
    candidates = [c.pk for c in collectors]
    if loan is not None and loan.assigned_collector_id is not None:
        candidates.append(loan.assigned_collector_id)
    teams = {
        m.user_id: m.team
        for m in TeamMember.objects.select_related("team__supervisor").filter(user_id__in=candidates)
    } if candidates else {}
    team = next((teams[pk] for pk in candidates if pk in teams), None)
    named = {c.pk for c in collectors}
    if category in settings.COMPLAINT_COMPLIANCE_CATEGORIES:
        return Routing(ComplaintQueue.COMPLIANCE, "category", team, None)
    if channel in settings.COMPLAINT_COMPLIANCE_CHANNELS:
        return Routing(ComplaintQueue.COMPLIANCE, "channel", team, None)
    if team is None:
        return Routing(ComplaintQueue.COMPLIANCE, "no_supervisor", None, None)
    if team.supervisor_id in named:
        return Routing(ComplaintQueue.COMPLIANCE, "conflict_of_interest", team, None)
    rule = "named_collector" if any(pk in teams for pk in named) else "assigned_collector"
    return Routing(ComplaintQueue.SUPERVISOR, rule, team, team.supervisor)


def hold_categories_for(jurisdiction: str) -> set[str]:
    table = settings.COMPLAINT_HOLD_CATEGORIES
    return set(table.get(jurisdiction, table.get("default", ())))


# --- Intake -----------------------------------------------------------------------------------------------------


def _require_aware(value: datetime | None, field_name: str) -> None:
    if value is not None and timezone.is_naive(value):
        raise ValidationError({field_name: _("A time zone offset is required.")})
    if not is_in_range(value):
        raise ValidationError({field_name: _("The date must be between 1970 and 2199.")})


@transaction.atomic
def complaint_open(
    *,
    borrower: Borrower,
    channel: str,
    category: str,
    description: str,
    actor: Any,
    loan: Loan | None = None,
    received_at: datetime | None = None,
    collectors: Sequence[Any] = (),
    attempts: Sequence[ContactAttempt] = (),
    source: str = ComplaintSource.DESK,
    now: datetime | None = None,
) -> Complaint:
    """Record a borrower's complaint, route it, set its deadlines and, when the jurisdiction's settings say so,
    place a collection hold on the borrower."""
    now = now or timezone.now()
    _require_aware(received_at, "received_at")
    errors: dict[str, str] = {}
    if channel not in ComplaintChannel.values:
        errors["channel"] = _("Unknown channel.")
    if category not in ComplaintCategory.values:
        errors["category"] = _("Unknown category.")
    if source not in ComplaintSource.values:
        errors["source"] = _("Unknown source.")
    description = (description or "").strip()
    if not description:
        errors["description"] = _("Describe the complaint.")
    elif len(description) > DESCRIPTION_MAX_LENGTH:
        errors["description"] = _("At most %(n)d characters.") % {"n": DESCRIPTION_MAX_LENGTH}
    if is_in_future(received_at, now=now):
        errors["received_at"] = _("A complaint cannot be received in the future.")
    if loan is not None and loan.borrower_id != borrower.pk:
        errors["loan_ref"] = _("The loan belongs to another borrower.")
    if any(not is_collector(user) for user in collectors):
        errors["collectors"] = _("Only collectors can be named as concerned.")
    if any(attempt.borrower_id != borrower.pk for attempt in attempts):
        errors["attempts"] = _("Only the borrower's own contact attempts can be attached.")
    if errors:
        raise ValidationError(errors)
    received_at = received_at or now
    collectors = list(dict.fromkeys(collectors))  # order kept: the first named collector routes the complaint
    routing = complaint_route(category=category, channel=channel, collectors=collectors, loan=loan)
    ack_due_at, resolve_due_at = complaint_deadlines(received_at=received_at, jurisdiction=borrower.jurisdiction)
    complaint = Complaint(
        borrower=borrower, loan=loan, channel=channel, category=category, description=description,
        received_at=received_at, state=ComplaintState.RECEIVED, queue=routing.queue, routing_rule=routing.rule,
        team=routing.team, assigned_to=routing.assigned_to, ack_due_at=ack_due_at, resolve_due_at=resolve_due_at,
        source=source, created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    with_change_reason(complaint, "opened")
    complaint.save()
    complaint.collectors.set(collectors)
    complaint.attempts.set(attempts)
    if category in hold_categories_for(borrower.jurisdiction):
        hold = restriction_place(
            borrower=borrower, kind=RestrictionKind.COMPLAINT_HOLD, starts_at=now, actor=actor,
            reason=complaint_hold_reason(complaint.reference, category),
        )
        complaint.hold_restriction = hold
        with_change_reason(complaint, "collection hold placed")
        complaint.save(update_fields=["hold_restriction", "updated_at"])
    audit_log(
        action=AuditAction.COMPLAINT_OPENED, subject=complaint, actor=actor,
        data={
            "reference": complaint.reference, "borrower_ref": borrower.borrower_ref,
            "loan_ref": loan.loan_ref if loan else None, "channel": channel, "category": category,
            "source": source, "queue": routing.queue, "routing_rule": routing.rule,
            "team_id": routing.team.pk if routing.team else None,
            "assigned_to_id": routing.assigned_to.pk if routing.assigned_to else None,
            "collector_ids": [c.pk for c in collectors], "attempt_ids": sorted(a.pk for a in attempts),
            "received_at": received_at, "ack_due_at": ack_due_at, "resolve_due_at": resolve_due_at,
            "hold_restriction_id": complaint.hold_restriction_id,
        },
    )
    return complaint


# --- Workflow ---------------------------------------------------------------------------------------------------


def transition_check(
    *, from_state: str, to_state: str, outcome: str = "", root_cause: str = "", remediation: str = "", note: str = ""
) -> None:
    """Raise IllegalTransition when the table refuses the move, or ValidationError (by field) when a field the
    move needs is missing. Shared by the service and the forms that offer the moves."""
    if to_state not in ComplaintState.values:
        raise ValidationError({"state": _("Unknown state.")})
    check_transition(
        COMPLAINT_TRANSITIONS, Complaint, from_state, to_state, field="state",
        message=_("A complaint that is %(from)s cannot become %(to)s.") % {
            "from": ComplaintState(from_state).label, "to": ComplaintState(to_state).label,
        },
    )
    root_cause, remediation, note = root_cause.strip(), remediation.strip(), note.strip()
    errors: dict[str, str] = {}
    if to_state == ComplaintState.RESOLVED:
        if outcome not in ComplaintOutcome.values:
            errors["outcome"] = _("Say whether the complaint is upheld.")
        if not root_cause:
            errors["root_cause"] = _("Record the root cause.")
        if not remediation:
            errors["remediation"] = _("Record the remediation.")
    if to_state == ComplaintState.WITHDRAWN and not note:
        errors["note"] = _("Say how the borrower withdrew the complaint.")
    for name, value in (("root_cause", root_cause), ("remediation", remediation), ("note", note)):
        if len(value) > TEXT_MAX_LENGTH:
            errors[name] = _("At most %(n)d characters.") % {"n": TEXT_MAX_LENGTH}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def complaint_transition(
    *,
    complaint: Complaint,
    to_state: str,
    actor: Any,
    outcome: str = "",
    root_cause: str = "",
    remediation: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Complaint:
    """Move a complaint along COMPLAINT_TRANSITIONS. Resolving needs an outcome, a root cause and a remediation;
    withdrawing needs a note (how the borrower withdrew). Closing lifts the complaint's collection hold."""
    now = now or timezone.now()
    complaint = (
        Complaint.objects.select_for_update(of=("self",)).select_related("hold_restriction").get(pk=complaint.pk)
    )
    from_state = complaint.state
    root_cause, remediation, note = root_cause.strip(), remediation.strip(), note.strip()
    transition_check(
        from_state=from_state, to_state=to_state, outcome=outcome, root_cause=root_cause, remediation=remediation,
        note=note,
    )

    complaint.state = to_state
    if to_state == ComplaintState.ACKNOWLEDGED:
        complaint.acknowledged_at = now
    elif to_state == ComplaintState.INVESTIGATING:
        complaint.investigation_started_at = now
    elif to_state == ComplaintState.RESOLVED:
        complaint.outcome, complaint.root_cause, complaint.remediation = outcome, root_cause, remediation
    elif to_state == ComplaintState.WITHDRAWN:
        complaint.close_note = note
    if to_state in CLOSED_COMPLAINT_STATES:
        complaint.closed_at = now
    with_change_reason(complaint, f"{from_state} -> {to_state}")
    complaint.save()

    hold_lifted = False
    if to_state in CLOSED_COMPLAINT_STATES and complaint.hold_restriction is not None:
        restriction_lift(
            restriction=complaint.hold_restriction, actor=actor, at=now,
            reason=f"complaint {complaint.reference} {to_state}",
        )
        hold_lifted = True
    audit_log(
        action=AuditAction.COMPLAINT_STATE_CHANGED, subject=complaint, actor=actor,
        data={"reference": complaint.reference, "from": from_state, "to": to_state,
              "outcome": complaint.outcome or None, "hold_lifted": hold_lifted},
    )
    return complaint


def complaint_acknowledge(*, complaint: Complaint, actor: Any) -> Complaint:
    return complaint_transition(complaint=complaint, to_state=ComplaintState.ACKNOWLEDGED, actor=actor)


def complaint_start_investigation(*, complaint: Complaint, actor: Any) -> Complaint:
    return complaint_transition(complaint=complaint, to_state=ComplaintState.INVESTIGATING, actor=actor)


def complaint_resolve(
    *, complaint: Complaint, outcome: str, root_cause: str, remediation: str, actor: Any
) -> Complaint:
    return complaint_transition(
        complaint=complaint, to_state=ComplaintState.RESOLVED, outcome=outcome, root_cause=root_cause,
        remediation=remediation, actor=actor,
    )


def complaint_withdraw(*, complaint: Complaint, note: str, actor: Any) -> Complaint:
    return complaint_transition(complaint=complaint, to_state=ComplaintState.WITHDRAWN, note=note, actor=actor)


# --- Escalation -------------------------------------------------------------------------------------------------


def _overdue_now(now: datetime) -> Q:
    return Q(state=ComplaintState.RECEIVED, ack_due_at__lt=now) | Q(resolve_due_at__lt=now)


def complaint_escalate_overdue(*, now: datetime, limit: int = ESCALATION_BATCH) -> list[int]:
    """Escalate every open complaint past its acknowledgement or resolution deadline to the compliance queue,
    once: `escalated_at` is the claim. Each complaint is claimed in its own transaction under a row lock and
    re-checked there, so two workers (or a task redelivered by acks_late) never escalate one complaint twice.
    Returns the ids escalated by this call."""
    candidates = list(
        Complaint.objects.filter(state__in=OPEN_COMPLAINT_STATES, escalated_at__isnull=True)
        .filter(_overdue_now(now))
        .order_by("resolve_due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    escalated = []
    for pk in candidates:
        with transaction.atomic():
            complaint = (
                Complaint.objects.select_for_update()
                .filter(pk=pk, state__in=OPEN_COMPLAINT_STATES, escalated_at__isnull=True)
                .filter(_overdue_now(now))
                .first()
            )
            if complaint is None:
                continue  # closed, or claimed by another worker, since the candidates were read
            reason = (
                "acknowledgement_overdue"
                if complaint.state == ComplaintState.RECEIVED and complaint.ack_due_at < now
                else "resolution_overdue"
            )
            previous_queue, previous_reviewer = complaint.queue, complaint.assigned_to_id
            complaint.escalated_at = now
            complaint.escalation_reason = reason
            complaint.queue = ComplaintQueue.COMPLIANCE
            complaint.assigned_to = None
            with_change_reason(complaint, f"escalated: {reason}")
            complaint.save(update_fields=["escalated_at", "escalation_reason", "queue", "assigned_to", "updated_at"])
            audit_log(
                action=AuditAction.COMPLAINT_ESCALATED, subject=complaint, actor=None,
                data={"reference": complaint.reference, "reason": reason, "state": complaint.state,
                      "from_queue": previous_queue, "from_reviewer_id": previous_reviewer,
                      "ack_due_at": complaint.ack_due_at, "resolve_due_at": complaint.resolve_due_at},
            )
            escalated.append(pk)
    return escalated


# --- Report export ----------------------------------------------------------------------------------------------


@transaction.atomic
def complaint_report_export(*, report: Any, actor: Any) -> str:
    """The report as CSV (references, codes and counts only: no names, numbers or complaint text), with an
    audit event naming who exported what."""
    rows = report_csv_rows(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    audit_log(
        action=AuditAction.COMPLAINT_REPORT_EXPORTED, subject_type="collections_app.complaint", subject_id="report",
        actor=actor,
        data={"start": report.start, "end": report.end, "scope": report.scope, "rows": len(rows) - 1},
    )
    return buffer.getvalue()
