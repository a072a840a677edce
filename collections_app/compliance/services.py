"""The compliance exports: each one is itself an audit event (who exported which search, how many rows, up to which
row), written in the export's transaction before the first line streams. The lines come after, read chunk by chunk
(exports.py), and hold exactly the rows counted: those up to the newest row when the export started."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from typing import Any

from django.db import transaction

from audit_app.models import AuditAction
from audit_app.services import audit_log

from .exports import attempt_csv_lines, audit_csv_lines
from .selectors import AuditSearch, attempts_matching, audit_events_matching, newest_id


def _export(*, rows_qs: Any, action: AuditAction, subject_type: str, search: AuditSearch, actor: Any) -> int | None:
    """Write the export's audit event (the search, the row count, the newest row included) and return that row's
    id: the export holds the rows up to it, so rows written while it streams (its own event too) stay out."""
    up_to_id = newest_id(rows_qs)
    rows = rows_qs.filter(id__lte=up_to_id).count() if up_to_id is not None else 0
    audit_log(
        action=action, subject_type=subject_type, subject_id="export",
        actor=actor, data={"search": search.audit_data(), "rows": rows, "up_to_id": up_to_id},
    )
    return up_to_id


@transaction.atomic
def audit_trail_export(*, search: AuditSearch, zone: tzinfo, language: str, actor: Any) -> Iterator[str]:
    """The audit events of `search` as CSV lines (to stream), with the AUDIT_TRAIL_EXPORTED event recording the
    export. The export's own event is not in it: it holds the events up to the newest one before it."""
    events = audit_events_matching(search)
    up_to_id = _export(rows_qs=events, action=AuditAction.AUDIT_TRAIL_EXPORTED,
                       subject_type="audit_app.auditevent", search=search, actor=actor)
    return audit_csv_lines(events, up_to_id=up_to_id, zone=zone, language=language)


@transaction.atomic
def attempts_export(*, search: AuditSearch, zone: tzinfo, language: str, actor: Any) -> Iterator[str]:
    """The contact attempts of `search` as CSV lines (to stream), with the ATTEMPTS_EXPORTED event recording the
    export."""
    attempts = attempts_matching(search)
    up_to_id = _export(rows_qs=attempts, action=AuditAction.ATTEMPTS_EXPORTED,
                       subject_type="collections_app.contactattempt", search=search, actor=actor)
    return attempt_csv_lines(attempts, up_to_id=up_to_id, zone=zone, language=language)
