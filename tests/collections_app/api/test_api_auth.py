"""Integration API: tokens, authentication, the error format and the OpenAPI document."""

import datetime as dt
import hashlib
import io

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from audit_app.models import AuditAction, AuditEvent
from collections_app.api import schemas as s
from collections_app.api.auth import api_token_create
from collections_app.models import (
    ApiToken,
    AttemptDirection,
    AttemptOutcome,
    AttemptParty,
    Currency,
    LoanStatus,
)
from collections_app.permissions import INTEGRATION
from consent_app.models import (
    ConsentBasis,
    Jurisdiction,
    PhoneKind,
    Relation,
    RestrictionKind,
    WithdrawalChannel,
)

pytestmark = pytest.mark.django_db
BORROWER_URL = "/api/v1/borrowers/B-AUTH-1"
BODY = {"full_name": "Test Person", "jurisdiction": "CN", "phones": []}


def _create_token(username: str, *args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", username, *args, stdout=out, stderr=err)
    return out.getvalue().strip()


def _put(client, token=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.put(BORROWER_URL, BODY, content_type="application/json", **headers, **extra)


# --- The management command -------------------------------------------------------------------------------------


def test_the_command_prints_a_token_once_and_stores_only_its_hash(integration_user):
    token = _create_token("loan_system", "--name", "loan system")
    row = ApiToken.objects.get()
    assert len(token) >= 40
    assert row.user == integration_user
    assert row.name == "loan system"
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:8]
    assert token not in (row.token_hash, row.name)


def test_the_token_creation_is_audited_without_the_token(integration_user):
    token = _create_token("loan_system")
    event = AuditEvent.objects.get(action=AuditAction.API_TOKEN_CREATED)
    assert event.subject_id == str(ApiToken.objects.get().pk)
    assert event.data["username"] == "loan_system"
    assert token not in str(event.data)
    assert token[:8] not in str(event.data)


def test_the_command_refuses_a_user_outside_the_integration_group(collector):
    with pytest.raises(CommandError, match="Integration"):
        _create_token(collector.username)
    assert not ApiToken.objects.exists()


def test_the_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user"):
        _create_token("nobody")


def test_the_token_from_the_command_authenticates(client, integration_user):
    token = _create_token("loan_system")
    assert _put(client, token).status_code == 201


# --- Authentication ---------------------------------------------------------------------------------------------


def test_no_token_is_401_in_the_error_format(client, integration_user):
    response = _put(client, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json() == {"detail": [{"field": None, "message": "A valid bearer token is required."}]}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Token abc", "Bearer ", "Basic dXNlcjpwYXNz"])
def test_an_invalid_token_is_401(client, integration_user, header):
    api_token_create(user=integration_user)
    response = client.put(BORROWER_URL, BODY, content_type="application/json", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_a_revoked_token_is_401(client, integration_user):
    row, token = api_token_create(user=integration_user)
    row.revoked_at = dt.datetime.now(dt.UTC)
    row.save()
    assert _put(client, token).status_code == 401


def test_a_token_of_a_deactivated_user_is_401(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    integration_user.is_active = False
    integration_user.save()
    assert _put(client, token).status_code == 401


def test_a_token_of_a_user_removed_from_the_integration_group_is_403(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    integration_user.groups.remove(Group.objects.get(name=INTEGRATION))
    response = _put(client, token)
    assert response.status_code == 403
    assert response.json()["detail"][0]["field"] is None
    assert not AuditEvent.objects.filter(action=AuditAction.BORROWER_CREATED).exists()


def test_last_used_at_is_written_at_most_once_a_minute(client, integration_user):
    row, token = api_token_create(user=integration_user)
    start = dt.datetime(2027, 3, 3, 2, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        _put(client, token)
        row.refresh_from_db()
        assert row.last_used_at == start
        clock.shift(dt.timedelta(seconds=30))
        _put(client, token)
        row.refresh_from_db()
        assert row.last_used_at == start
        clock.shift(dt.timedelta(seconds=31))
        _put(client, token)
        row.refresh_from_db()
        assert row.last_used_at == start + dt.timedelta(seconds=61)


def test_csrf_does_not_apply_to_the_bearer_api(integration_user):
    _row, token = api_token_create(user=integration_user)
    csrf_client = Client(enforce_csrf_checks=True)
    assert _put(csrf_client, token).status_code == 201


# --- Error format -----------------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_400_in_the_error_format(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    response = client.put(BORROWER_URL, "{not json", content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert response.json()["detail"][0]["field"] == "body"


def test_an_unknown_field_is_422_naming_it(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    response = client.put(BORROWER_URL, {**BODY, "opt-out": True}, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert response.json() == {"detail": [{"field": "opt-out", "message": "Unknown field."}]}


def test_messages_follow_the_accept_language_header(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    response = client.put(BORROWER_URL, {"full_name": "X"}, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.json()["detail"][0]["message"] != "This field is required."


def test_a_missing_field_is_422_naming_it(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    response = client.put(BORROWER_URL, {"full_name": "X"}, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert response.json() == {"detail": [{"field": "jurisdiction", "message": "This field is required."}]}


def test_a_malformed_reference_in_the_path_is_422(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    response = client.put("/api/v1/borrowers/-bad%20ref", BODY, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "borrower_ref"


# --- OpenAPI ----------------------------------------------------------------------------------------------------


def test_openapi_lists_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/api/v1/borrowers/{borrower_ref}": {"put", "get"},
        "/api/v1/loans/{loan_ref}": {"put", "get"},
        "/api/v1/consents": {"post"},
        "/api/v1/consents/{consent_id}/withdraw": {"post"},
        "/api/v1/restrictions": {"post"},
        "/api/v1/restrictions/{restriction_id}/lift": {"post"},
        "/api/v1/payments": {"post"},
        "/api/v1/contact-checks": {"post"},
        "/api/v1/contact-checks/batch": {"post"},
        "/api/v1/contact-attempts": {"post", "get"},
        "/api/v1/contactable": {"get"},
        "/api/v1/complaints": {"post"},
    }
    assert {path: set(methods) for path, methods in paths.items()} == expected
    assert response.json()["components"]["securitySchemes"]["ApiTokenAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    ("literal", "choices"),
    [
        (s.JurisdictionCode, Jurisdiction),
        (s.PhoneKindCode, PhoneKind),
        (s.RelationCode, Relation),
        (s.ConsentBasisCode, ConsentBasis),
        (s.WithdrawalChannelCode, WithdrawalChannel),
        (s.RestrictionKindCode, RestrictionKind),
        (s.CurrencyCode, Currency),
        (s.LoanStatusCode, LoanStatus),
        (s.DirectionCode, AttemptDirection),
        (s.OutcomeCode, AttemptOutcome),
        (s.PartyCode, AttemptParty),
    ],
)
def test_the_api_enums_are_the_model_choices(literal, choices):
    assert set(literal.__args__) == set(choices.values)


# --- The dialer's endpoints: one query for the token, its user and its roles, nothing cached --------------------

PRE_CHECKS = [
    ("/api/v1/contact-checks", {"loan_ref": "L-AUTH", "phone": "+8613800138000", "channel": "call"}),
    ("/api/v1/contact-checks/batch",
     {"items": [{"loan_ref": "L-AUTH", "phone": "+8613800138000", "channel": "call"}]}),
]


@pytest.fixture
def dialer_loan(db):
    from tests import factories as f

    loan = f.LoanFactory(loan_ref="L-AUTH")
    f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=loan.borrower, e164="+8613800138000"))
    return loan


def _refuse_by_group_removal(user, row):
    user.groups.remove(Group.objects.get(name=INTEGRATION))


def _refuse_by_deactivation(user, row):
    user.is_active = False
    user.save()


def _refuse_by_revocation(user, row):
    from collections_app.api.auth import api_token_revoke

    api_token_revoke(token=row, actor=None)


@pytest.mark.parametrize(("url", "body"), PRE_CHECKS)
@pytest.mark.parametrize(("refuse", "status"), [
    (_refuse_by_group_removal, 403), (_refuse_by_deactivation, 401), (_refuse_by_revocation, 401),
])
def test_the_very_next_pre_check_after_a_token_loses_its_rights_is_refused(
    client, integration_user, dialer_loan, url, body, refuse, status
):
    row, token = api_token_create(user=integration_user)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": "en"}
    assert client.post(url, body, content_type="application/json", **headers).status_code == 200
    refuse(integration_user, row)
    response = client.post(url, body, content_type="application/json", **headers)
    assert response.status_code == status
    assert response.json()["detail"][0]["field"] is None
    checked = AuditEvent.objects.filter(action__in=[AuditAction.CONTACT_CHECKED, AuditAction.CONTACT_BATCH_CHECKED])
    assert checked.count() == 1  # the refused request checked nothing


def test_the_token_its_user_and_its_roles_are_one_query(rf, integration_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from collections_app.api.auth import ApiTokenAuth
    from collections_app.permissions import is_collector, is_compliance, is_integration, is_supervisor

    _row, token = api_token_create(user=integration_user)
    ApiTokenAuth().authenticate(rf.post("/api/v1/contact-checks"), token)  # writes last_used_at, once a minute
    with CaptureQueriesContext(connection) as queries:
        user = ApiTokenAuth().authenticate(rf.post("/api/v1/contact-checks"), token)
        roles = (is_integration(user), is_collector(user), is_supervisor(user), is_compliance(user))
    assert roles == (True, False, False, False)
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert queries.captured_queries[0]["sql"].count("auth_user_groups") == 4  # one EXISTS per role group
