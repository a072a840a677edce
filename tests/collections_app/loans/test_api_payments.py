"""Integration API: payments from the loan system, recorded once by their external id (the loans router)."""

import datetime as dt
from decimal import Decimal

import pytest

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import api_token_create
from collections_app.models import Payment
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def loan(db):
    borrower = f.BorrowerFactory(borrower_ref="B-1")
    f.PhoneNumberFactory(borrower=borrower, e164="+8613800138000")
    return f.LoanFactory(loan_ref="L-1", borrower=borrower, balance=Decimal("500.00"))


def _post(api, url, body):
    return api.post(url, body, content_type="application/json")


def _fields(response):
    return [item["field"] for item in response.json()["detail"]]


def _ago(**kwargs):
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**kwargs)).isoformat()


def _payment_body(**overrides):
    return {"external_id": "PAY-1", "loan_ref": "L-1", "amount": "120.50", "paid_at": _ago(minutes=5), **overrides}


def test_a_payment_is_recorded_once(api, loan, integration_user):
    body = _payment_body()
    first = _post(api, "/api/v1/payments", body)
    assert first.status_code == 201
    assert first.json()["amount"] == "120.50"
    assert first.json()["loan_balance"] == "379.50"
    again = _post(api, "/api/v1/payments", body)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["loan_balance"] == "379.50"
    assert Payment.objects.count() == 1
    loan.refresh_from_db()
    assert loan.balance == Decimal("379.50")
    assert AuditEvent.objects.get(action=AuditAction.PAYMENT_RECORDED).actor_id == integration_user.pk


def test_a_payment_accepts_a_json_number(api, loan):
    response = _post(api, "/api/v1/payments", _payment_body(amount=99.9))
    assert response.status_code == 201
    assert response.json()["amount"] == "99.90"


def test_a_payment_that_clears_the_balance_marks_the_loan_paid(api, loan):
    response = _post(api, "/api/v1/payments", _payment_body(amount="500"))
    assert response.json()["loan_status"] == "paid"
    assert response.json()["loan_balance"] == "0.00"


def test_the_same_payment_id_for_another_loan_is_409(api, loan):
    other = f.LoanFactory(loan_ref="L-2", borrower=loan.borrower)
    body = _payment_body()
    _post(api, "/api/v1/payments", body)
    response = _post(api, "/api/v1/payments", {**body, "loan_ref": other.loan_ref})
    assert response.status_code == 409
    assert _fields(response) == ["external_id"]
    assert Payment.objects.count() == 1


def test_the_same_payment_id_with_another_amount_is_409(api, loan):
    body = _payment_body()
    _post(api, "/api/v1/payments", body)
    response = _post(api, "/api/v1/payments", {**body, "amount": "20.00"})
    assert response.status_code == 409
    loan.refresh_from_db()
    assert loan.balance == Decimal("379.50")


@pytest.mark.parametrize(("overrides", "status", "field"), [
    ({"amount": "10.005"}, 422, "amount"),
    ({"amount": 10.005}, 422, "amount"),
    ({"amount": "0"}, 422, "amount"),
    ({"amount": "NaN"}, 422, "amount"),
    ({"paid_at": "2027-01-01T10:00:00"}, 422, "paid_at"),
    ({"paid_at": "2099-01-01T10:00:00+00:00"}, 422, "paid_at"),
    ({"loan_ref": "L-404"}, 404, "loan_ref"),
    ({"external_id": "bad id!"}, 422, "external_id"),
])
def test_bad_payment_input(api, loan, overrides, status, field):
    response = _post(api, "/api/v1/payments", _payment_body(**overrides))
    assert response.status_code == status
    assert _fields(response) == [field]
    assert not Payment.objects.exists()
    loan.refresh_from_db()
    assert loan.balance == Decimal("500.00")
