"""Starting and lifting incident pauses (应急预案; docs/incident-playbook.md).

`incident_pause_start` pauses all collection contact in a scope in one step; `incident_pause_lift` ends it, by a
second compliance officer — never the one who started it. Each writes its audit event (codes and ids only: the
reference, never the note) and bumps the policy generation in the same transaction, so the next decision of every
process (pre-check, desk, worklist) sees the change; the worklists in scope are judged again once it commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.history import with_change_reason
from consent_app.services import check_text_length, validate_evidence_reference

from ..contact.generation import policy_generation_bump
from ..desk.signals import worklists_reevaluate_on_commit
from ..models import IncidentPause, PauseReason, PauseScope, Team, WorklistEntry


def _require(actor: Any, perm: str) -> None:
    if not (actor is not None and actor.is_active and actor.has_perm(f"collections_app.{perm}")):
        raise PermissionDenied(_("Only compliance officers can start or lift an incident pause."))


def _event(action: AuditAction, pause: IncidentPause, actor: Any) -> None:
    audit_log(action=action, subject=pause, actor=actor, data={
        "scope": pause.scope,
        "jurisdiction": pause.jurisdiction,
        "team_id": pause.team_id,
        "reason": pause.reason,
        "reference": pause.reference,
        "drill": pause.drill,
        "starts_at": pause.starts_at.isoformat(),
        "ends_at": pause.ends_at.isoformat() if pause.ends_at else None,
        "started_by_id": pause.started_by_id,
        "lifted_by_id": pause.lifted_by_id,
    })


def _reevaluate_in_scope(pause: IncidentPause, now: datetime) -> None:
    """Today's worklist entries in the pause's scope judged again once the change commits: one query for the
    borrowers concerned, then one task per WORKLIST_CHUNK_SIZE borrowers (desk.signals). A list not built yet is
    built with the pause in force."""
    # "Today" is each collector's team's: one of the UTC date's neighbours whatever the zone.
    days = [now.date() + timedelta(days=offset) for offset in (-1, 0, 1)]
    entries = WorklistEntry.objects.filter(work_date__in=days)
    if pause.scope == PauseScope.JURISDICTION:
        entries = entries.filter(loan__borrower__jurisdiction=pause.jurisdiction)
    elif pause.scope == PauseScope.TEAM and pause.team_id is not None:
        entries = entries.filter(collector__team_membership__team_id=pause.team_id)
    worklists_reevaluate_on_commit(entries.order_by().values_list("loan__borrower_id", flat=True).distinct())


def _save_and_announce(
    pause: IncidentPause, action: AuditAction, change_reason: str, actor: Any, now: datetime
) -> None:
    """Save a started or lifted pause with its history reason and audit event, and make every process see it: the
    policy generation bumped, the worklists in scope judged again once the change commits."""
    with_change_reason(pause, change_reason)
    pause.save()
    _event(action, pause, actor)
    policy_generation_bump()
    _reevaluate_in_scope(pause, now)


def incident_pause_check(
    *, scope: str, reason: str, reference: str, jurisdiction: str = "", team: Team | None = None, note: str = "",
    ends_at: datetime | None = None, now: datetime | None = None, **_ignored: Any,
) -> None:
    """The checks of `incident_pause_start`, without writing: a ValidationError by field."""
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    if scope not in PauseScope.values:
        errors["scope"] = _("Choose what the pause covers.")
    elif scope == PauseScope.JURISDICTION and not jurisdiction:
        errors["jurisdiction"] = _("Choose the jurisdiction to pause.")
    elif scope == PauseScope.TEAM and team is None:
        errors["team"] = _("Choose the team to pause.")
    if reason not in PauseReason.values:
        errors["reason"] = _("Choose the reason for the pause.")
    try:
        if not reference:
            raise ValidationError(_("Give the incident's reference (e.g. INC-2026-0014)."), code="required")
        validate_evidence_reference(reference)
    except ValidationError as exc:
        errors["reference"] = exc.messages
    if ends_at is not None and ends_at <= now:
        errors["ends_at"] = _("The planned end must be in the future.")
    try:
        check_text_length((note or "").strip(), field_name="note")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def incident_pause_start(
    *, scope: str, reason: str, reference: str, actor: Any, jurisdiction: str = "", team: Team | None = None,
    note: str = "", drill: bool = False, ends_at: datetime | None = None, now: datetime | None = None,
) -> IncidentPause:
    """Pause all collection contact in `scope` (everything, a jurisdiction or a team) from now: every decision in
    scope answers INCIDENT_PAUSE until a second officer lifts it (or until `ends_at`, when given). A drill blocks
    contact like a real pause."""
    _require(actor, "add_incidentpause")
    now = now or timezone.now()
    note = (note or "").strip()
    incident_pause_check(scope=scope, reason=reason, reference=reference, jurisdiction=jurisdiction, team=team,
                         note=note, ends_at=ends_at, now=now)
    pause = IncidentPause(
        scope=scope,
        jurisdiction=jurisdiction if scope == PauseScope.JURISDICTION else "",
        team=team if scope == PauseScope.TEAM else None,
        reason=reason, reference=reference, note=note, drill=drill, starts_at=now, ends_at=ends_at,
        started_by=actor,
    )
    _save_and_announce(pause, AuditAction.INCIDENT_PAUSE_STARTED, "incident pause started", actor, now)
    return pause


def started_it(pause: IncidentPause, actor: Any) -> bool:
    """Whether `actor` started `pause`, and so may not lift it (four eyes: `incident_pause_lift`)."""
    return pause.started_by_id == actor.pk


@transaction.atomic
def incident_pause_lift(*, pause: IncidentPause, actor: Any, now: datetime | None = None) -> IncidentPause:
    """End a pause: contact in its scope resumes at once. A second compliance officer lifts it, never the one who
    started it (four eyes: one person alone can neither hide an incident nor end one)."""
    _require(actor, "lift_incidentpause")
    pause = IncidentPause.objects.select_for_update().get(pk=pause.pk)
    if pause.lifted_at is not None:
        raise ValidationError(_("This pause has already been lifted."), code="lifted")
    if started_it(pause, actor):
        raise PermissionDenied(_("A second compliance officer lifts a pause: not the one who started it."))
    now = now or timezone.now()
    pause.lifted_at = now
    pause.lifted_by = actor
    _save_and_announce(pause, AuditAction.INCIDENT_PAUSE_LIFTED, "incident pause lifted", actor, now)
    return pause
