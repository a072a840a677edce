"""The reason django-simple-history writes on the next history row of a model instance."""

from __future__ import annotations

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
