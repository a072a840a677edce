"""Request types for annotations (at run time every view still receives Django's ordinary request), the desk's
own 404 page for a view's Http404, and each request on the reader's clock."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django_htmx.middleware import HtmxDetails

from .workday import reader_zone


class AuthenticatedRequest(HttpRequest):
    """The request a `@login_required` view receives, as type checkers see it: `user` is a signed-in User,
    never AnonymousUser."""

    user: User
    htmx: HtmxDetails  # django_htmx.middleware.HtmxMiddleware


class NotFoundPageMiddleware:
    """A view's Http404 ("not found or not yours", from the scoped lookups) answers with the desk's own 404 page,
    also under DEBUG (`make run`), where Django would show its debug page to the collector. An address that no URL
    matches is not a view's 404 and still gets the debug page there: that one is a developer's error. The API
    answers its own JSON 404 and never reaches this."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404):
            return render(request, "404.html", status=404)
        return None


class ReaderTimeZoneMiddleware:
    """Each request on the reader's clock (`workday.reader_zone`): the signed-in user's own zone, else their team's,
    else the desk's (TIME_ZONE), so the times shown as the user's own, the admin's times and the dates and times
    typed into forms are on the clock of the person reading. The worklist's working day is not: it follows the
    team's zone (`workday.collector_zone`). After AuthenticationMiddleware; the user's profile and team come with
    the user (staff.backends.DeskModelBackend: no query)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        timezone.activate(reader_zone(user))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
