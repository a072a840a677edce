from collections.abc import Callable
from functools import cache
from typing import Any

from django.http import HttpRequest

from .desk.selectors import unread_notification_count
from .permissions import role_of


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
