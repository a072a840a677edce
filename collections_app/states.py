"""The one state-machine helper of the project: a transition table says which moves are allowed, and a move it
does not allow raises `IllegalTransition` (a ValidationError, so forms, the admin and the API show it as a 422 /
a form error). Plans, promises, installments and complaints all use it."""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

TransitionTable = Mapping[str, Set[str]]


class IllegalTransition(ValidationError):
    """A state change the lifecycle does not allow (e.g. a completed plan made active again).

    `obj` is the instance or its model (for the message); `field`, when given, files the error under that form
    field; `message` replaces the generic text."""

    def __init__(
        self, obj: Any, from_state: str, to_state: str, *, field: str | None = None, message: Any = None
    ) -> None:
        self.from_state = from_state
        self.to_state = to_state
        error = ValidationError(
            message or _("Illegal transition of %(object)s from “%(from)s” to “%(to)s”."),
            code="illegal_transition",
            params=None if message else {"object": obj._meta.verbose_name, "from": from_state, "to": to_state},
        )
        super().__init__({field: [error]} if field else error)


def is_allowed(table: TransitionTable, from_state: str, to_state: str) -> bool:
    return to_state in table.get(from_state, frozenset())


def check_transition(table: TransitionTable, obj: Any, from_state: str, to_state: str, **kwargs: Any) -> None:
    """Raise IllegalTransition unless `table` allows `from_state` → `to_state`."""
    if not is_allowed(table, from_state, to_state):
        raise IllegalTransition(obj, from_state, to_state, **kwargs)
