"""Every write endpoint refuses a body of the wrong shape with a 422 naming the body, and changes nothing."""

from __future__ import annotations

import pytest

from audit_app.models import AuditEvent
from collections_app.api.auth import api_token_create
from collections_app.api.v1 import api as ninja_api
from consent_app.models import Restriction, RestrictionKind
from tests import factories as f

pytestmark = pytest.mark.django_db

NOT_OBJECTS = ["1.5", "null", "1e400", "[]", '"lift"', "true", "0"]
WRITES = sorted(
    (method, path)
    for path, operations in ninja_api.get_openapi_schema()["paths"].items()
    for method in operations
    if method in ("post", "put", "patch")
)


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def world(db):
    borrower = f.BorrowerFactory(borrower_ref="B-1")
    phone = f.PhoneNumberFactory(borrower=borrower)
    consent = f.ConsentFactory(phone=phone)
    f.LoanFactory(loan_ref="L-1", borrower=borrower)
    cease = f.RestrictionFactory(borrower=borrower, kind=RestrictionKind.CEASE_COMMUNICATION, ends_at=None)
    return {"restriction_id": cease.pk, "consent_id": consent.pk, "borrower_ref": "B-1", "loan_ref": "L-1",
            "complaint_id": 1}


def test_every_write_endpoint_is_covered():
    # A new endpoint joins the parametrisation below by itself; this guards against an empty list.
    assert ("post", "/api/v1/restrictions/{restriction_id}/lift") in WRITES
    assert len(WRITES) >= 8


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_a_body_that_is_not_an_object_is_a_422_and_changes_nothing(api, world, method, path, body):
    events = AuditEvent.objects.count()
    response = getattr(api, method)(path.format(**world), body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert response.json() == {"detail": [{"field": "body", "message": "The body must be a JSON object."}]}
    assert AuditEvent.objects.count() == events
    assert Restriction.objects.get(pk=world["restriction_id"]).lifted_at is None


@pytest.mark.parametrize("body", ['{"reason": NaN}', '{"reason": Infinity}', "NaN", "{"])
def test_a_body_that_is_not_json_is_a_400_and_lifts_nothing(api, world, body):
    response = api.post(f"/api/v1/restrictions/{world['restriction_id']}/lift", body,
                        content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"][0]["field"] == "body"
    assert Restriction.objects.get(pk=world["restriction_id"]).lifted_at is None


def test_lifting_with_no_body_at_all_still_works(api, world):
    response = api.post(f"/api/v1/restrictions/{world['restriction_id']}/lift", content_type="application/json")
    assert response.status_code == 200
    assert Restriction.objects.get(pk=world["restriction_id"]).lifted_at is not None
