"""Lower findings of the security review, held: pages with personal data are never cached, sessions end after an
idle working day and at browser close, browser features are switched off, and the API's schema and docs need a
token when the setting says so (production's default)."""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from collections_app.api.auth import api_token_create
from collections_app.models import ContactAttempt
from collections_app.staff.sessions import SessionStore
from tests import factories as f

pytestmark = pytest.mark.django_db


def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_the_account_page_the_call_page_and_the_worklist_are_never_cached(client, collector, loan):
    client.force_login(collector)
    attempt = ContactAttempt.objects.create(
        loan=loan, phone=loan.borrower.phones.first(), borrower=loan.borrower, collector=collector, channel="call",
        started_at=timezone.now(), compliant=True)
    for url in (reverse("loan_detail", args=[loan.loan_ref]), reverse("attempt_detail", args=[attempt.pk]),
                reverse("worklist")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _no_store(response), url


def test_the_worklists_timed_refresh_does_not_keep_an_idle_session_alive(client, collector):
    client.post(reverse("login"), {"username": collector.username, "password": f.PASSWORD})
    key = client.session.session_key
    Session = SessionStore.get_model_class()  # noqa: N806 - a model class
    signed_in = Session.objects.get(session_key=key).expire_date
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=9)):
        polled = client.get(reverse("worklist"), headers={"HX-Request": "true", "X-Desk-Poll": "timer"})
        assert polled.status_code == 200
        assert Session.objects.get(session_key=key).expire_date == signed_in  # the tab open overnight
        client.get(reverse("worklist"), headers={"HX-Request": "true"})  # the collector came back to the tab
        assert Session.objects.get(session_key=key).expire_date > signed_in


def test_a_session_ends_after_an_idle_working_day_and_at_browser_close(client, collector):
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert 8 * 3600 <= settings.SESSION_COOKIE_AGE <= 12 * 3600
    response = client.post(reverse("login"), {"username": collector.username, "password": f.PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie
    # Use moves the server-side end (idle time, not time since sign-in), at most every few minutes.
    key = client.session.session_key
    Session = SessionStore.get_model_class()  # noqa: N806 - a model class
    signed_in = Session.objects.get(session_key=key).expire_date
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=9)):
        assert client.get(reverse("worklist")).status_code == 200
        moved = Session.objects.get(session_key=key).expire_date
        assert moved - signed_in >= timezone.timedelta(hours=9) - timezone.timedelta(minutes=1)
        client.get(reverse("worklist"))
        assert Session.objects.get(session_key=key).expire_date == moved  # not written on every request
    # Idle for longer than the age: signed out.
    with time_machine.travel(moved + timezone.timedelta(seconds=1)):
        response = client.get(reverse("worklist"))
        assert response.status_code == 302 and "login" in response["Location"]


def test_every_response_switches_browser_features_off(client):
    policy = client.get(reverse("login")).headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in policy


DOCS = ["/api/v1/openapi.json", "/api/v1/docs"]


@pytest.mark.parametrize("url", DOCS)
def test_the_api_schema_and_docs_need_a_token_when_required(client, settings, integration_user, url):
    settings.API_DOCS_REQUIRE_TOKEN = True
    refused = client.get(url)
    assert refused.status_code == 401
    assert refused.json()["detail"][0]["field"] is None
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get(url, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
    _row, token = api_token_create(user=integration_user)
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    # Out of the Integration group, the token no longer opens them.
    integration_user.groups.clear()
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403


@pytest.mark.parametrize("url", DOCS)
def test_the_api_schema_and_docs_are_open_when_not_required(client, settings, url):
    settings.API_DOCS_REQUIRE_TOKEN = False
    assert client.get(url).status_code == 200


def test_production_requires_the_token_by_default_and_the_embedded_default_does_not(monkeypatch):
    from tests.config.test_deployment import _production_settings

    monkeypatch.delenv("API_DOCS_REQUIRE_TOKEN", raising=False)
    assert _production_settings(monkeypatch).API_DOCS_REQUIRE_TOKEN is True
    assert _production_settings(monkeypatch, API_DOCS_REQUIRE_TOKEN="false").API_DOCS_REQUIRE_TOKEN is False
