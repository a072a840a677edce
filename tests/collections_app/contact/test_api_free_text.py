"""Integration API: a restriction's reason and lift reason are kept whole up to FREE_TEXT_MAX_LENGTH characters and
refused beyond it (a 422 naming the field), never cut short."""

import datetime as dt

import pytest

from collections_app.api.auth import api_token_create
from consent_app.models import FREE_TEXT_MAX_LENGTH, Restriction
from tests import factories as f

pytestmark = pytest.mark.django_db

LONGEST, TOO_LONG = "r" * FREE_TEXT_MAX_LENGTH, "r" * (FREE_TEXT_MAX_LENGTH + 1)


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def borrower(db):
    return f.BorrowerFactory(borrower_ref="B-TEXT-1")


def _place(api, reason):
    body = {"borrower_ref": "B-TEXT-1", "kind": "dispute", "reason": reason,
            "starts_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()}
    return api.post("/api/v1/restrictions", body, content_type="application/json")


def test_a_long_reason_is_kept_whole(api, borrower):
    response = _place(api, LONGEST)
    assert response.status_code == 201
    assert Restriction.objects.get().reason == LONGEST


def test_a_reason_beyond_the_limit_is_refused(api, borrower):
    response = _place(api, TOO_LONG)
    assert response.status_code == 422
    assert [item["field"] for item in response.json()["detail"]] == ["reason"]
    assert not Restriction.objects.exists()


def test_a_lift_reason_beyond_the_limit_is_refused_and_a_long_one_kept(api, borrower):
    restriction = f.RestrictionFactory(borrower=borrower, kind="dispute")
    url = f"/api/v1/restrictions/{restriction.pk}/lift"
    refused = api.post(url, {"reason": TOO_LONG}, content_type="application/json")
    assert refused.status_code == 422 and Restriction.objects.get().lifted_at is None
    lifted = api.post(url, {"reason": LONGEST}, content_type="application/json")
    assert lifted.status_code == 200 and Restriction.objects.get().lift_reason == LONGEST
