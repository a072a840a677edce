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


# How pages write a change reason (a fixed code the services write, e.g. `withdrawn via phone`): the desk
# registers its labels at start-up (collections_app.labels, from CollectionsAppConfig.ready()); as stored until then.
_change_reason_label: Callable[[str], str] = str


def describe_change_reasons_with(label: Callable[[str], str]) -> None:
    global _change_reason_label  # noqa: PLW0603 - the one registration, at start-up
    _change_reason_label = label


def change_reason_label(reason: str | None) -> str:
    return _change_reason_label(reason or "")


# How pages write a restriction's reason: free text as typed, except the ones a service writes in a fixed form
# (a complaint's hold: `complaint CMP-000003 (contact_frequency)`), which the desk registers labels for at start-up
# (collections_app.labels, from CollectionsAppConfig.ready()); as stored until then.
_restriction_reason_label: Callable[[str], str] = str


def describe_restriction_reasons_with(label: Callable[[str], str]) -> None:
    global _restriction_reason_label  # noqa: PLW0603 - the one registration, at start-up
    _restriction_reason_label = label


def restriction_reason_label(reason: str | None) -> str:
    return _restriction_reason_label(reason or "")
