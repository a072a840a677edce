"""Health endpoints of the web process, for the load balancer and the process supervisor.

- ``/healthz``: the process is up and serving: 200 ``ok``. It touches nothing else, not even the database, so a
  database outage does not make the supervisor restart every web process.
- ``/readyz``: this process can do its work: the database answers a trivial query, the broker accepts a
  connection ("not used" when tasks run eagerly, in the web process itself), and the keys are present and usable
  (FERNET_KEYS encrypt and decrypt, BLIND_INDEX_KEY is set, AUDIT_CHAIN_KEYS and the checkpoint key parse). 200
  when every check is ok, else 503. The JSON body names each check and its status word only: never an error
  text, a host, a key or personal data. A failed check is logged as a warning naming the check and the exception
  class; the 503 itself is not logged as a server error.

Both are answered by HealthCheckMiddleware, first in MIDDLEWARE, before any other middleware runs: no session,
no sign-in or second factor, no HTTPS redirect, no host check (a probe may address the process by its IP), no
django-axes, no CSRF. settings.PUBLIC_PATHS lists them for any middleware that must let them through should it
ever run first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.cache import never_cache
from fernet_fields.hkdf import derive_fernet_key

from audit_app.services import chain_keys, checkpoint_public_key
from config.celery import app as celery_app

logger = logging.getLogger(__name__)

# A probe that waits longer than its own timeout reports nothing useful: answer within a few seconds.
BROKER_TIMEOUT_SECONDS = 2
_FERNET_PROBE = b"collector-desk readiness probe"

OK, ERROR, NOT_USED = "ok", "error", "not used"


def check_database() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def check_broker() -> str:
    """A connection to the broker, with a short timeout. Eager Celery runs tasks in this process: no broker."""
    if celery_app.conf.task_always_eager:
        return NOT_USED
    timeouts = {"socket_connect_timeout": BROKER_TIMEOUT_SECONDS, "socket_timeout": BROKER_TIMEOUT_SECONDS}
    with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=timeouts) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
    return OK


def check_keys() -> str:
    """The keys this process needs are set and usable; their values are never shown. (Whether they are the keys
    the stored data was written with is the key canary's question, not this one.)"""
    fernet_keys = list(getattr(settings, "FERNET_KEYS", None) or [])
    if not fernet_keys or not all(fernet_keys):
        raise ImproperlyConfigured("FERNET_KEYS is empty")
    if not getattr(settings, "BLIND_INDEX_KEY", ""):
        raise ImproperlyConfigured("BLIND_INDEX_KEY is empty")
    # The same derivation as the encrypted model fields (django-fernet-fields): the first key encrypts, all decrypt.
    use_hkdf = getattr(settings, "FERNET_USE_HKDF", True)
    fernet = MultiFernet([Fernet(derive_fernet_key(key) if use_hkdf else key) for key in fernet_keys])
    if fernet.decrypt(fernet.encrypt(_FERNET_PROBE)) != _FERNET_PROBE:
        raise ImproperlyConfigured("FERNET_KEYS do not decrypt what they encrypt")
    if not chain_keys():
        raise ImproperlyConfigured("AUDIT_CHAIN_KEYS is empty")
    checkpoint_public_key()  # the checkpoint signing key (or the verifier's public key) parses
    return OK


READINESS_CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "keys": check_keys,
}


def _run(name: str, check: Callable[[], str]) -> str:
    try:
        return check()
    except Exception as exc:  # any failure means "not ready"; what failed goes to the log, never into the body
        # The exception class only: a key error's message could quote the key.
        logger.warning("readyz: the %s check failed (%s)", name, type(exc).__name__)
        return ERROR


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


@login_not_required
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    checks = {name: _run(name, check) for name, check in READINESS_CHECKS.items()}
    ready = all(status in (OK, NOT_USED) for status in checks.values())
    response = JsonResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status=200 if ready else 503)
    if not ready:
        # Django logs every 5xx as an error (django.request); a dependency that is down is not a bug of this
        # process, and the failed check was logged above.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


HEALTH_VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    """Answers /healthz and /readyz before every other middleware (it must be first in MIDDLEWARE)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        view = HEALTH_VIEWS.get(request.path_info.rstrip("/"))
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return view(request)
