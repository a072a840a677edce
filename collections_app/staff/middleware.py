"""Second factor at sign-in for the people who can reach personal data beyond their own accounts or the admin
(permissions.needs_second_factor: supervisors, compliance officers, staff and superusers).

Installed right after django_otp's OTPMiddleware, which tells whether this session gave a second factor. Until it
has, such a user reaches only the second-factor pages, sign-out and the language switch: every other page, the
admin included, redirects to the verification page (or to enrolment when the user has no device yet). The
integration API is not concerned: it authenticates each request by bearer token, never by session.
OTP_REQUIRED_FOR_STAFF = False turns the requirement off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import ResolverMatch, reverse
from django_htmx.http import HttpResponseClientRedirect

from ..permissions import needs_second_factor
from .selectors import has_second_factor, is_verified

# (namespace, url name) of the pages an unverified user may still open; every page of the "staff" namespace too.
OPEN_PAGES = {("", "logout"), ("admin", "logout"), ("", "set_language")}
STAFF_NAMESPACE = "staff"
API_APP_NAME = "ninja"  # every NinjaAPI mounts under this application namespace
POLL_HEADER = "X-Desk-Poll"  # "timer": a page's own timed refresh, not the user's doing (IdleSessionMiddleware)


def is_open_page(match: ResolverMatch | None) -> bool:
    if match is None:
        return True
    if STAFF_NAMESPACE in match.namespaces or API_APP_NAME in match.app_names:
        return True
    return (match.namespace, match.url_name) in OPEN_PAGES


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not settings.OTP_REQUIRED_FOR_STAFF or is_open_page(request.resolver_match):
            return None
        user = request.user
        if not user.is_authenticated or is_verified(user) or not needs_second_factor(user):
            return None
        page = "staff:verify" if has_second_factor(user) else "staff:enrol"
        target = reverse(page)
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        if request.headers.get("HX-Request"):
            return HttpResponseClientRedirect(target)  # a whole page, not a fragment swapped into this one
        return HttpResponseRedirect(target)


class IdleSessionMiddleware:
    """Sessions end after SESSION_COOKIE_AGE without a request, not after that long since sign-in: on the way out,
    a session this request read has its end moved forward (at most every SESSION_TOUCH_INTERVAL, one write).
    Installed right after SessionMiddleware, which saves it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        touch = getattr(getattr(request, "session", None), "touch_if_due", None)
        # An open page's timed refresh (the worklist polls for its rows, desk.js marks it) is not the user's
        # activity: a tab left open overnight must not keep its session alive.
        if touch is not None and request.headers.get(POLL_HEADER) != "timer":
            touch()
        return response
