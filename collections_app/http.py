"""Request types for annotations only: at run time every view still receives Django's ordinary request."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedRequest(HttpRequest):
    """The request a `@login_required` view receives, as type checkers see it: `user` is a signed-in User,
    never AnonymousUser."""

    user: User
