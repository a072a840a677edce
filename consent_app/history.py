"""The reason django-simple-history writes on the next history row of a model instance."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)

# simple_history reads this undeclared attribute when its post_save handler writes the row; naming it once here
# keeps the private name (and the untyped attribute it is to type checkers) in one place.
_CHANGE_REASON_ATTRIBUTE = "_change_reason"


def with_change_reason(obj: M, reason: str) -> M:
    """Set the history change reason that the next ``save()`` of ``obj`` records, and return ``obj``."""
    setattr(obj, _CHANGE_REASON_ATTRIBUTE, reason)
    return obj


class RegisteredLabel:
    """How pages write a value the desk stores in a fixed form: collections_app registers the function at start-up
    (CollectionsAppConfig.ready(); consent_app cannot import it); the value is shown as stored until then."""

    def __init__(self) -> None:
        self._label: Callable[[str], str] = str

    def register(self, label: Callable[[str], str]) -> None:
        self._label = label

    def __call__(self, value: str | None) -> str:
        return self._label(value or "")


# A change reason (a fixed code the services write, e.g. `withdrawn via phone`): collections_app.labels.
_change_reasons = RegisteredLabel()
describe_change_reasons_with = _change_reasons.register

# A restriction's reason: free text as typed, except a complaint's hold (`complaint CMP-000003 (contact_frequency)`):
# collections_app/complaints/hold_reasons.py.
_restriction_reasons = RegisteredLabel()
describe_restriction_reasons_with = _restriction_reasons.register


def change_reason_label(reason: str | None) -> str:
    return _change_reasons(reason)


def restriction_reason_label(reason: str | None) -> str:
    return _restriction_reasons(reason)
