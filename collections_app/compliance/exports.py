"""The compliance exports as CSV lines, produced while the response streams: one chunk of rows per query
(selectors.in_chunks), each row written as soon as it is read, so memory stays flat whatever the export's size.

They hold what the compliance officer reads on screen and nothing more: references, codes, usernames, masked
numbers, the events' data (ids and codes by design), never a name, a national id, a full number or a typed text.
Every text cell goes through `spreadsheets.safe_cell` (no formula when opened in a spreadsheet); times are the
reader's clock with their offset (ISO 8601), the clock and the language being the ones of the request that asked
(the response streams after the request's own time zone and language are gone)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import translation

from audit_app.models import AuditEvent

from ..models import ContactAttempt
from ..spreadsheets import safe_cell
from .selectors import in_chunks

AUDIT_HEADER = ["event_id", "occurred_at", "action", "action_label", "actor", "subject_type", "subject_id", "data",
                "seq"]
ATTEMPT_HEADER = ["attempt_id", "started_at", "ended_at", "loan_ref", "borrower_ref", "number", "channel", "direction",
                  "outcome", "party", "opt_out", "collector", "duration_s", "compliant", "reasons", "policy_version",
                  "source", "external_id", "recording_ref"]


class _Line:
    """What csv.writer writes to: it hands the line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def _when(value: datetime | None, zone: tzinfo) -> str:
    return value.astimezone(zone).isoformat(timespec="seconds") if value is not None else ""


def _cells(values: Iterable[Any]) -> list[str]:
    return [safe_cell(value) if isinstance(value, str) else "" if value is None else str(value) for value in values]


def _lines(header: list[str], rows: Iterator[list[Any]], language: str) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    with translation.override(language):
        for row in rows:
            yield writer.writerow(_cells(row))


def audit_csv_lines(events: QuerySet[AuditEvent], *, up_to_id: int | None, zone: tzinfo,
                    language: str) -> Iterator[str]:
    def rows() -> Iterator[list[Any]]:
        for chunk in in_chunks(events, up_to_id=up_to_id):
            for event in chunk:
                yield [event.pk, _when(event.occurred_at, zone), event.action, event.get_action_display(),
                       event.actor_label, event.subject_type, event.subject_id,
                       json.dumps(event.data, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder), event.seq]

    return _lines(AUDIT_HEADER, rows(), language)


def attempt_csv_lines(attempts: QuerySet[ContactAttempt], *, up_to_id: int | None, zone: tzinfo,
                      language: str) -> Iterator[str]:
    attempts = attempts.select_related("loan", "borrower", "phone", "collector", "policy_version__policy")

    def rows() -> Iterator[list[Any]]:
        for chunk in in_chunks(attempts, up_to_id=up_to_id):
            for a in chunk:
                version = a.policy_version
                yield [a.pk, _when(a.started_at, zone), _when(a.ended_at, zone), a.loan.loan_ref,
                       a.borrower.borrower_ref, a.phone.masked, a.channel, a.direction, a.outcome, a.party,
                       "yes" if a.opt_out else "no", a.collector.username if a.collector else "", a.duration_s,
                       "yes" if a.compliant else "no", " ".join(str(r.get("code", "")) for r in a.reasons or []),
                       str(version) if version is not None else "", a.source, a.external_id or "", a.recording_ref]

    return _lines(ATTEMPT_HEADER, rows(), language)
