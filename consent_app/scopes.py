"""Which rows a user may see: one registry that every path to data asks (desk, admin, API).

`consent_app` holds the borrower's data but does not know who may see which borrower: that follows from loans
and teams, which live in `collections_app`. So the app that knows registers a scope for each model at start-up
(`collections_app.apps.CollectionsAppConfig.ready`), and everything here asks `visible_to(user, queryset)`.
A model without a registered scope is an error (`ImproperlyConfigured`), never "all rows": forgetting to scope
a model cannot open it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)
Scope = Callable[[Any, QuerySet[Any]], QuerySet[Any]]

_SCOPES: dict[type[Model], Scope] = {}


def register(model: type[Model], scope: Scope) -> None:
    """Make `scope(user, queryset)` the rule for `model`. Registering twice replaces the rule."""
    _SCOPES[model] = scope


def has_scope(model: type[Model]) -> bool:
    return model in _SCOPES


def visible_to(user: Any, queryset: QuerySet[M]) -> QuerySet[M]:
    """The rows of `queryset` that `user` may see."""
    model = queryset.model
    scope = _SCOPES.get(model)
    if scope is None:
        raise ImproperlyConfigured(f"No access scope is registered for {model._meta.label}.")
    return scope(user, queryset)
