"""Integration API: consents and restrictions (the contact router)."""

import datetime as dt
from decimal import Decimal

import pytest

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import api_token_create
from consent_app.models import Consent, Restriction
from tests import factories as f

pytestmark = pytest.mark.django_db

MOBILE = "+8613800138000"


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def phone(db):
    borrower = f.BorrowerFactory(borrower_ref="B-1")
    return f.PhoneNumberFactory(borrower=borrower, e164=MOBILE)


@pytest.fixture
def loan(phone):
    return f.LoanFactory(loan_ref="L-1", borrower=phone.borrower, balance=Decimal("500.00"))


def _post(api, url, body):
    return api.post(url, body, content_type="application/json")


def _fields(response):
    return [item["field"] for item in response.json()["detail"]]


def _ago(**kwargs):
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**kwargs)).isoformat()


def _consent_body(**overrides):
    return {"borrower_ref": "B-1", "phone": MOBILE, "channels": ["call", "sms"], "basis": "electronic",
            "evidence_ref": "app-consent-77", "granted_at": "2026-01-05T09:30:00+08:00", **overrides}


# --- Consents ---------------------------------------------------------------------------------------------------


def test_a_consent_is_recorded_on_the_borrowers_number(api, phone, integration_user):
    response = _post(api, "/api/v1/consents", _consent_body(phone="138 0013 8000"))  # national format, CN hint
    assert response.status_code == 201
    body = response.json()
    assert body["borrower_ref"] == "B-1"
    assert body["phone"] == "+86 138****8000"
    assert body["channels"] == ["call", "sms"]
    assert body["basis"] == "electronic"
    assert dt.datetime.fromisoformat(body["granted_at"]) == dt.datetime(2026, 1, 5, 1, 30, tzinfo=dt.UTC)
    assert body["expires_at"] is None and body["withdrawn_at"] is None
    consent = Consent.objects.get(pk=body["id"])
    assert consent.phone == phone
    assert AuditEvent.objects.get(action=AuditAction.CONSENT_GRANTED).actor_id == integration_user.pk
    assert MOBILE not in response.content.decode()


def test_a_consent_for_a_number_the_borrower_does_not_have_is_422(api, phone):
    response = _post(api, "/api/v1/consents", _consent_body(phone="+8613912345678"))
    assert response.status_code == 422
    assert response.json() == {"detail": [{"field": "phone", "message": "Not a number of this borrower."}]}
    assert not Consent.objects.exists()


def test_a_consent_for_another_borrowers_number_is_422(api, phone):
    f.BorrowerFactory(borrower_ref="B-2")
    response = _post(api, "/api/v1/consents", _consent_body(borrower_ref="B-2"))
    assert response.status_code == 422
    assert _fields(response) == ["phone"]


def test_a_consent_for_a_third_partys_number_is_422(api, phone):
    contact = f.ThirdPartyContactFactory(borrower=phone.borrower)
    f.PhoneNumberFactory(borrower=phone.borrower, third_party=contact, e164="+8618612345678")
    response = _post(api, "/api/v1/consents", _consent_body(phone="+8618612345678"))
    assert response.status_code == 422
    assert _fields(response) == ["phone"]


def test_a_consent_for_an_unknown_borrower_is_404(api, phone):
    response = _post(api, "/api/v1/consents", _consent_body(borrower_ref="B-404"))
    assert response.status_code == 404
    assert _fields(response) == ["borrower_ref"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"phone": "not a number"}, "phone"),
    ({"channels": ["fax"]}, "channels[0]"),
    ({"channels": []}, "channels"),
    ({"basis": "verbal"}, "basis"),
    ({"granted_at": "2026-01-05T09:30:00"}, "granted_at"),
    ({"granted_at": 1767577800}, "granted_at"),
    ({"expires_at": "2026-01-06T09:30:00"}, "expires_at"),
    ({"expires_at": "2025-01-05T09:30:00+08:00"}, "expires_at"),
    ({"granted_at": "2099-01-05T09:30:00+08:00"}, "granted_at"),
])
def test_bad_consent_input_is_422_naming_the_field(api, phone, overrides, field):
    response = _post(api, "/api/v1/consents", _consent_body(**overrides))
    assert response.status_code == 422
    assert _fields(response) == [field]
    assert not Consent.objects.exists()


def test_a_naive_timestamp_says_an_offset_is_required(api, phone):
    response = _post(api, "/api/v1/consents", _consent_body(granted_at="2026-01-05T09:30:00"))
    assert response.json()["detail"] == [
        {"field": "granted_at", "message": "An ISO 8601 timestamp with a time zone offset is required."}
    ]


def test_withdrawing_a_consent_is_idempotent(api, phone, integration_user):
    consent = f.ConsentFactory(phone=phone)
    first_at = _ago(hours=2)
    response = _post(api, f"/api/v1/consents/{consent.pk}/withdraw", {"via": "app", "withdrawn_at": first_at})
    assert response.status_code == 200
    assert dt.datetime.fromisoformat(response.json()["withdrawn_at"]) == dt.datetime.fromisoformat(first_at)
    again = _post(api, f"/api/v1/consents/{consent.pk}/withdraw", {"via": "letter"})
    assert again.status_code == 200
    assert again.json()["withdrawn_at"] == response.json()["withdrawn_at"]
    consent.refresh_from_db()
    assert consent.withdrawn_via == "app"
    assert AuditEvent.objects.get(action=AuditAction.CONSENT_WITHDRAWN).actor_id == integration_user.pk


def test_withdrawing_an_unknown_consent_is_404(api, phone):
    response = _post(api, "/api/v1/consents/999999/withdraw", {"via": "app"})
    assert response.status_code == 404
    assert _fields(response) == ["consent_id"]


@pytest.mark.parametrize(("body", "field"), [
    ({"via": "pigeon"}, "via"), ({}, "via"), ({"via": "app", "withdrawn_at": "2026-01-05 10:00"}, "withdrawn_at"),
])
def test_bad_withdrawal_input_is_422(api, phone, body, field):
    consent = f.ConsentFactory(phone=phone)
    response = _post(api, f"/api/v1/consents/{consent.pk}/withdraw", body)
    assert response.status_code == 422
    assert _fields(response) == [field]
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


# --- Restrictions -----------------------------------------------------------------------------------------------


def _restriction_body(**overrides):
    return {"borrower_ref": "B-1", "kind": "dispute", "starts_at": _ago(hours=1),
            "reason": "Borrower disputes the balance in writing", **overrides}


def test_a_restriction_is_placed_and_lifted(api, loan, integration_user):
    response = _post(api, "/api/v1/restrictions", _restriction_body(loan_ref="L-1"))
    assert response.status_code == 201
    body = response.json()
    assert body["borrower_ref"] == "B-1"
    assert body["loan_ref"] == "L-1"
    assert body["kind"] == "dispute"
    assert body["active"] is True
    assert body["lifted_at"] is None
    assert "disputes the balance" not in response.content.decode()  # free text is not echoed
    lifted = _post(api, f"/api/v1/restrictions/{body['id']}/lift", {"reason": "verified"})
    assert lifted.status_code == 200
    assert lifted.json()["active"] is False
    assert lifted.json()["lifted_at"] is not None
    restriction = Restriction.objects.get()
    assert restriction.lift_reason == "verified"
    assert restriction.created_by == integration_user
    events = AuditEvent.objects.filter(action__in=[AuditAction.RESTRICTION_PLACED, AuditAction.RESTRICTION_LIFTED])
    assert [e.actor_id for e in events] == [integration_user.pk, integration_user.pk]


def test_lifting_needs_no_body_and_is_idempotent(api, phone):
    restriction = f.RestrictionFactory(borrower=phone.borrower)
    first = api.post(f"/api/v1/restrictions/{restriction.pk}/lift", content_type="application/json")
    assert first.status_code == 200
    again = _post(api, f"/api/v1/restrictions/{restriction.pk}/lift", {})
    assert again.status_code == 200
    assert again.json()["lifted_at"] == first.json()["lifted_at"]
    assert AuditEvent.objects.filter(action=AuditAction.RESTRICTION_LIFTED).count() == 1


def test_lifting_an_unknown_restriction_is_404(api, phone):
    response = api.post("/api/v1/restrictions/424242/lift", content_type="application/json")
    assert response.status_code == 404
    assert _fields(response) == ["restriction_id"]


@pytest.mark.parametrize(("overrides", "status", "field"), [
    ({"borrower_ref": "B-404"}, 404, "borrower_ref"),
    ({"loan_ref": "L-404"}, 404, "loan_ref"),
    ({"kind": "vacation"}, 422, "kind"),
    ({"starts_at": "2027-01-01T00:00:00"}, 422, "starts_at"),
    ({"ends_at": "2020-01-01T00:00:00+00:00"}, 422, "ends_at"),
    ({"ends_at": "9999-12-31T23:59:59+00:00"}, 422, "ends_at"),
    ({"reason": ""}, 422, "reason"),
])
def test_bad_restriction_input(api, loan, overrides, status, field):
    response = _post(api, "/api/v1/restrictions", _restriction_body(**overrides))
    assert response.status_code == status
    assert _fields(response) == [field]
    assert not Restriction.objects.exists()


def test_a_restriction_on_another_borrowers_loan_is_422(api, loan):
    other = f.LoanFactory(loan_ref="L-OTHER")
    response = _post(api, "/api/v1/restrictions", _restriction_body(loan_ref=other.loan_ref))
    assert response.status_code == 422
    assert _fields(response) == ["loan_ref"]
