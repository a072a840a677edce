"""A body over the upload limit (DATA_UPLOAD_MAX_MEMORY_SIZE) is a 413 in the API's one error body on every write
endpoint, whatever DEBUG says, and changes nothing; the OpenAPI document lists the 413."""

from __future__ import annotations

import pytest

from audit_app.models import AuditEvent
from collections_app.api.auth import api_token_create
from collections_app.api.v1 import api as ninja_api

pytestmark = pytest.mark.django_db

WRITES = sorted(
    (method, path)
    for path, operations in ninja_api.get_openapi_schema()["paths"].items()
    for method in operations
    if method in ("post", "put", "patch")
)
LIMIT = 1_000
IDS = {"restriction_id": 1, "consent_id": 1, "borrower_ref": "B-1", "loan_ref": "L-1"}


@pytest.fixture
def api(client, integration_user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_body_over_the_limit_is_a_413_in_the_error_body(api, settings, method, path, debug):
    settings.DEBUG = debug
    events = AuditEvent.objects.count()
    body = '{"reason": "' + "x" * (2 * LIMIT) + '"}'
    response = getattr(api, method)(path.format(**IDS), body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": [{"field": "body", "message": "The request body is too large."}]}
    assert AuditEvent.objects.count() == events


def test_a_form_encoded_body_over_the_limit_is_a_413_too(api):
    response = api.post("/api/v1/complaints", {"description": "x" * (2 * LIMIT)})
    assert response.status_code == 413
    assert response.json()["detail"][0]["field"] == "body"


def test_a_body_within_the_limit_is_read(api):
    response = api.post("/api/v1/restrictions/999/lift", {}, content_type="application/json")
    assert response.status_code == 404


def test_every_operation_documents_the_413():
    schema = ninja_api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert 413 in operation["responses"], (method, path)
