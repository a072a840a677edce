"""The contact router refuses a withdrawal dated before its consent's grant and a temporary hold without an end,
with a 422 naming the field; nothing changes."""

import datetime as dt

import pytest

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import api_token_create
from consent_app.models import Restriction
from tests import factories as f

pytestmark = pytest.mark.django_db

GRANTED = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def consent(db):
    return f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=f.BorrowerFactory(borrower_ref="B-1")),
                            granted_at=GRANTED)


def _details(response):
    return [(item["field"], item["message"]) for item in response.json()["detail"]]


def test_a_withdrawal_dated_before_the_grant_is_a_422(api, consent):
    before = (GRANTED - dt.timedelta(seconds=1)).isoformat()
    response = api.post(f"/api/v1/consents/{consent.pk}/withdraw", {"via": "app", "withdrawn_at": before},
                        content_type="application/json")
    assert response.status_code == 422
    assert _details(response) == [("withdrawn_at", "A consent cannot be withdrawn before it was granted.")]
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.CONSENT_WITHDRAWN).exists()


def test_a_withdrawal_at_the_instant_of_the_grant_is_recorded(api, consent):
    response = api.post(f"/api/v1/consents/{consent.pk}/withdraw", {"via": "app", "withdrawn_at": GRANTED.isoformat()},
                        content_type="application/json")
    assert response.status_code == 200
    consent.refresh_from_db()
    assert consent.withdrawn_at == GRANTED


def test_a_temporary_hold_without_an_end_is_a_422(api, consent):
    response = api.post("/api/v1/restrictions", {
        "borrower_ref": "B-1", "kind": "temporary_hold", "starts_at": GRANTED.isoformat(), "reason": "payday",
    }, content_type="application/json")
    assert response.status_code == 422
    assert _details(response) == [("ends_at", "A temporary hold needs an end.")]
    assert not Restriction.objects.exists()


def test_other_restrictions_may_stay_open_ended(api, consent):
    response = api.post("/api/v1/restrictions", {
        "borrower_ref": "B-1", "kind": "attorney", "starts_at": GRANTED.isoformat(), "reason": "represented",
    }, content_type="application/json")
    assert response.status_code == 201
    assert Restriction.objects.get().ends_at is None
