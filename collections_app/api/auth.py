"""Bearer tokens of Integration users: creation (the token is shown once) and authentication."""


from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import cache, wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from audit_app.models import AuditAction
from audit_app.services import audit_log

from ..models import ApiToken
from ..permissions import is_integration, remember_role_groups, role_group_annotations

# --- Tokens -----------------------------------------------------------------------------------------------------

TOKEN_PREFIX_LENGTH = 8
# last_used_at is informative (which tokens are still in use): one write a minute per token is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: Any, name: str = "", actor: Any = None) -> tuple[ApiToken, str]:
    """Create a bearer token for an Integration user. Returns (row, token): the token itself is stored nowhere
    (only its SHA-256), so the caller must show it now or never."""
    if not is_integration(user):
        raise DjangoValidationError({"username": _("API tokens are only for users in the Integration group.")})
    if len(name) > 100:
        raise DjangoValidationError({"name": _("At most 100 characters.")})
    token = secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user, name=name, prefix=token[:TOKEN_PREFIX_LENGTH], token_hash=hash_token(token)
    )
    audit_log(
        action=AuditAction.API_TOKEN_CREATED, subject=row, actor=actor,
        data={"user_id": user.pk, "username": user.get_username(), "name": name},
    )
    return row, token


class ApiRequest(HttpRequest):
    """The request an endpoint behind `ApiTokenAuth` receives, as type checkers see it: ninja sets `auth` to what
    `authenticate` returned (the token's Integration user), and `authenticate` sets `api_token`. Used only as the
    annotation of `request`: at run time the object is Django's ordinary request."""

    auth: User
    api_token: ApiToken


@cache
def _tokens_with_users() -> QuerySet[ApiToken]:
    """Tokens with their users and the users' role groups, built once per process (building the role subqueries
    costs more than running the query); each request only adds its filter."""
    return ApiToken.objects.select_related("user").annotate(**role_group_annotations("user_id"))


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token or len(token) > 256:
            return None
        # Looking up by the hash is the constant-time comparison: the secret itself is never compared. One query
        # for the token, its user and the user's role groups, read afresh at every request (no cache): a revoked
        # token, a deactivated user or a user taken out of the Integration group is refused at the next one.
        row = _tokens_with_users().filter(token_hash=hash_token(token), revoked_at__isnull=True).first()
        if row is None or not row.user.is_active:
            return None
        remember_role_groups(row.user, row)
        if not is_integration(row.user):
            raise AuthorizationError(message=_("This token's user is not in the Integration group."))
        now = timezone.now()
        if row.last_used_at is None or row.last_used_at < now - LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=row.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
            ).update(last_used_at=now)
        # simple_history reads request.user: history rows then name the integration, as the audit events do.
        request.user = row.user
        request.api_token = row  # type: ignore[attr-defined]
        return row.user


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Any) -> ApiToken:
    """Revoke a token at once (idempotent: a revoked token keeps its first revocation time)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log(action=AuditAction.ADMIN_CHANGE, subject=token, actor=actor, data={"change": "revoked"})
    return token


def docs_token_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The OpenAPI schema and the interactive docs behind the same bearer token as the endpoints when
    `API_DOCS_REQUIRE_TOKEN` is on (the production default): the schema maps every path and field of the API, which
    is for the integrations, not for whoever can reach the server. Read at each request, so the setting can change
    without rebuilding the URLs."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.API_DOCS_REQUIRE_TOKEN:
            scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
            try:
                user = ApiTokenAuth().authenticate(request, token.strip()) if scheme.lower() == "bearer" else None
            except AuthorizationError:
                return JsonResponse({"detail": [{"field": None, "message": _(
                    "This token's user is not in the Integration group.")}]}, status=403)
            if user is None:
                response = JsonResponse(
                    {"detail": [{"field": None, "message": _("A valid bearer token is required.")}]}, status=401)
                response["WWW-Authenticate"] = 'Bearer realm="api"'
                return response
        return view(request, *args, **kwargs)

    return guarded
