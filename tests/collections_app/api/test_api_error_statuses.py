"""The OpenAPI document lists the statuses the API answers: a body that is not JSON is a 400 on every operation
that reads a body, and every operation documents the 400 (the schemathesis run, tests/fuzz/, found it missing)."""

from __future__ import annotations

import pytest

from collections_app.api.auth import api_token_create
from collections_app.api.v1 import api as ninja_api

pytestmark = pytest.mark.django_db

# The operations that read a body (the reads, GET, take none).
OPERATIONS = sorted(
    (method, path) for path, operations in ninja_api.get_openapi_schema()["paths"].items() for method in operations
    if method != "get"
)
IDS = {"restriction_id": 1, "consent_id": 1, "borrower_ref": "B-1", "loan_ref": "L-1"}


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_a_body_that_is_not_json_is_a_documented_400(api, method, path):
    response = getattr(api, method)(path.format(**IDS), "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == [{"field": "body", "message": "The body is not valid JSON."}]
    document = api.get("/api/v1/openapi.json").json()
    assert document["paths"][path][method]["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
