from collections.abc import Callable
from functools import cache
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from .contact.generation import generation_of
from .contact.pauses import PauseInForce, pauses_at
from .desk.selectors import unread_notification_count
from .permissions import is_compliance, role_of


def roles(request: HttpRequest) -> dict[str, str | None]:
    """The signed-in user's role, for role-aware navigation."""
    user = getattr(request, "user", None)
    return {"role": role_of(user) if user is not None and user.is_authenticated else None}


def notifications(request: HttpRequest) -> dict[str, Any]:
    """`unread_notifications`: the signed-in user's unread count, for the desk's top bar. Counted only when a
    template reads it (a callable, which the template calls; once per request), so a page that shows no badge —
    the admin, the API's documents, an htmx fragment — runs no query, and an anonymous request has none."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    count: Callable[[], int] = cache(lambda: unread_notification_count(user))
    return {"unread_notifications": count}


def incident_pauses(request: HttpRequest) -> dict[str, Any]:
    """`incident_pauses`: the incident pauses in force that concern the signed-in user, for the banner of every desk
    page. Read when a template asks (a callable, once per request) from the process's copy of the pauses at the
    policy generation the user was loaded with (staff.backends), so a page runs no query for it while the copy is
    current."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def in_force() -> list[PauseInForce]:
        generation = generation_of(getattr(user, "policy_generation", None),
                                   getattr(user, "policy_generation_stamp", None))
        return pauses_at(generation).for_user(user.pk, timezone.now(), sees_all=is_compliance(user))

    return {"incident_pauses": cache(in_force)}
