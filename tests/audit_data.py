"""The rule audit events keep: their data carries ids, codes, amounts and dates, never text a person typed (it
may name people or numbers; it lives encrypted on the row the event's subject points to). Shared by the tests that
scan the events a run of the services or the demo seed wrote."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Keys whose value would be someone's words if it were not a code.
FREE_TEXT_KEYS = frozenset({
    "reason", "reasons", "comment", "note", "notes", "description", "text", "message", "change_note",
    "lift_reason", "cancel_reason", "decision_comment", "root_cause", "remediation", "close_note", "status_reason",
})
CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]*$")
# Labels the code itself writes (where a change came from, how it was routed): fixed strings, never typed.
KNOWN_LABELS = frozenset({"demo seed", "reassigned in admin", "reassigned by supervisor", "changed in admin",
                          "no team supervisor"})
LABEL_PATTERNS = (re.compile(r"^csv import \S+$"), re.compile(r"^\S+ v\d+$"))  # an import run, "cn_default v2"


def _free_text(value: Any, key: str | None) -> list[tuple[str | None, str]]:
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _free_text(v, k)]
    if isinstance(value, list | tuple):
        return [found for item in value for found in _free_text(item, key)]
    if not isinstance(value, str) or not value:
        return []
    if key in FREE_TEXT_KEYS and not CODE.match(value):
        return [(key, value)]
    if any(c.isspace() for c in value) and value not in KNOWN_LABELS and not any(
        pattern.match(value) for pattern in LABEL_PATTERNS
    ):
        return [(key, value)]
    return []


def free_text_in(events: Iterable[Any]) -> list[tuple[str, str | None, str]]:
    """(action, key, value) for every value of the events' data that looks like text a person typed."""
    return [(event.action, key, value) for event in events for key, value in _free_text(event.data, None)]
