"""/healthz and /readyz: what the load balancer and the process supervisor see, and that nothing in front of the
desk (sign-in, second factor, HTTPS redirect, host check, django-axes) stands in their way."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db import OperationalError, connections
from django.urls import reverse

from config.celery import app as celery_app
from config.health import HEALTH_VIEWS
from tests import factories as f


def test_healthz_answers_ok_without_touching_the_database(client):
    # No django_db mark: any query would fail this test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-store" in response["Cache-Control"]
    assert "Set-Cookie" not in response.headers


@pytest.mark.django_db
def test_readyz_reports_each_check_and_treats_the_broker_as_unused_when_tasks_run_eagerly(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "broker": "not used", "keys": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_is_unreachable_and_shows_no_error_text(client, caplog):
    failure = OperationalError('connection to server at "db.internal" failed: password authentication failed')
    with mock.patch.object(connections["default"], "cursor", side_effect=failure), caplog.at_level(logging.INFO):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready",
                               "checks": {"database": "error", "broker": "not used", "keys": "ok"}}
    assert b"db.internal" not in response.content and b"password" not in response.content
    assert [r.levelname for r in caplog.records if r.name == "config.health"] == ["WARNING"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
def real_broker(monkeypatch):
    """Tasks go through a broker, as in production (the test settings run them eagerly)."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)

    def use(url: str) -> None:
        monkeypatch.setitem(celery_app.conf, "broker_url", url)
        monkeypatch.setitem(celery_app.conf, "broker_write_url", None)

    return use


@pytest.mark.django_db
def test_readyz_is_ready_when_the_broker_accepts_a_connection(client, real_broker):
    real_broker("memory://")
    assert client.get("/readyz").json()["checks"]["broker"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_within_seconds_when_the_broker_is_down(client, real_broker, caplog):
    real_broker("redis://127.0.0.1:1/0")  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "error", "keys": "ok"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.django_db
@pytest.mark.parametrize("setting, value", [
    ("FERNET_KEYS", []),
    ("BLIND_INDEX_KEY", ""),
    ("AUDIT_CHAIN_KEYS", []),
    ("AUDIT_CHAIN_KEYS", ["no-id-secret-chain-key-value"]),
    ("AUDIT_CHECKPOINT_SIGNING_KEY", "not-a-key-secret-value"),
])
def test_readyz_is_503_when_a_key_is_missing_or_unusable_and_never_shows_it(client, settings, caplog, setting,
                                                                              value):
    setattr(settings, setting, value)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["keys"] == "error"
    assert b"secret" not in response.content
    assert "secret" not in caplog.text


@pytest.mark.django_db
def test_a_probe_needs_no_https_no_allowed_host_and_no_session(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("login")).status_code == 301  # the desk itself redirects to HTTPS
    for path in HEALTH_VIEWS:
        response = client.get(path, headers={"host": "10.1.2.3:8000"})  # the probe addresses the process by IP
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers


@pytest.mark.django_db
def test_signed_in_staff_without_a_second_factor_and_a_locked_out_address_still_get_answers(client, settings):
    admin = f.UserFactory(username="ops_admin", is_staff=True, is_superuser=True)
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post(reverse("login"), {"username": "ops_admin", "password": "wrong-guess"})
    assert client.post(reverse("login"), {"username": "ops_admin", "password": f.PASSWORD}).status_code == 429
    client.force_login(admin)
    attempts = AccessAttempt.objects.count()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert AccessAttempt.objects.count() == attempts


def test_only_get_and_head_are_answered(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_the_probes_are_declared_public_and_answered_first():
    assert set(HEALTH_VIEWS) <= set(settings.PUBLIC_PATHS)
    assert settings.MIDDLEWARE[0] == "config.health.HealthCheckMiddleware"
