"""`POST /api/v1/complaints` (collections_app.complaints.api.router).

When the integration API mounts the router (`api.add_router("/complaints", router)`), these tests go through
the real URL. Until then they mount the same router on an API built like the real one (its bearer
authentication, parser and error handlers), so the endpoint is tested either way."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import Resolver404, resolve
from ninja import NinjaAPI
from ninja.testing import TestClient

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import ApiTokenAuth, api_token_create
from collections_app.api.v1 import DecimalJsonParser, api
from collections_app.complaints.api import router
from collections_app.contact.services import attempt_record
from collections_app.models import Complaint

from .helpers import MORNING, phone_of

pytestmark = pytest.mark.django_db
URL = "/api/v1/complaints"


def _mounted() -> bool:
    try:
        resolve(URL)
    except Resolver404:
        return False
    return True


class _Response:
    def __init__(self, status_code, data):
        self.status_code, self._data = status_code, data

    def json(self):
        return self._data


@pytest.fixture(scope="module")
def stand_in_api():
    stand_in = NinjaAPI(auth=ApiTokenAuth(), parser=DecimalJsonParser(), urls_namespace="complaints-api-test")
    stand_in._exception_handlers.update(api._exception_handlers)
    stand_in.add_router("/complaints", router)
    return stand_in


@pytest.fixture
def post(stand_in_api):
    def call(body, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if _mounted():
            response = Client().post(URL, body, content_type="application/json",
                                     **{f"HTTP_{k.upper()}": v for k, v in headers.items()})
            return _Response(response.status_code, response.json())
        response = TestClient(stand_in_api).post("/complaints", json=body, headers=headers)
        return _Response(response.status_code, response.json())

    return call


@pytest.fixture
def token(integration_user):
    return api_token_create(user=integration_user)[1]


def _body(loan, **extra):
    body = {"borrower_ref": loan.borrower.borrower_ref, "loan_ref": loan.loan_ref, "channel": "letter",
            "category": "contact_frequency", "description": "Your collectors call me all day."}
    body.update(extra)
    return body


def test_the_loan_system_records_a_complaint(clock, post, token, cn_loan, collector, supervisor, integration_user):
    with_night_call, _ = attempt_record(
        external_id="D-77", loan=cn_loan, phone=phone_of(cn_loan), channel="call", direction="outbound",
        started_at=MORNING - dt.timedelta(hours=11), outcome="no_answer", collector=collector, actor=None,
    )
    response = post(_body(cn_loan, collectors=["collector_a"], attempt_ids=["D-77", with_night_call.pk],
                          received_at="2027-03-02T18:00:00+08:00"), token)
    assert response.status_code == 201, response.json()
    data = response.json()
    complaint = Complaint.objects.get(pk=data["id"])
    assert data["state"] == "received" and data["hold_placed"] is True and data["queue"] == "supervisor"
    assert data["reference"] == complaint.reference
    # Received Tuesday evening: acknowledge by the end of Thursday 4 March, Shanghai time.
    assert dt.datetime.fromisoformat(data["ack_due_at"]) == dt.datetime(2027, 3, 5, 0, 0, tzinfo=MORNING.tzinfo)
    assert complaint.source == "api" and complaint.assigned_to == supervisor
    assert list(complaint.attempts.all()) == [with_night_call]
    assert AuditEvent.objects.get(action=AuditAction.COMPLAINT_OPENED).actor_id == integration_user.pk
    assert "all day" not in str(response.json())


def test_a_complaint_about_the_borrower_as_a_whole_needs_no_loan(clock, post, token, cn_loan):
    response = post({"borrower_ref": cn_loan.borrower.borrower_ref, "channel": "regulator_referral",
                     "category": "other", "description": "Referred by the regulator."}, token)
    assert response.status_code == 201
    assert response.json()["queue"] == "compliance" and response.json()["hold_placed"] is False


def test_without_a_valid_token_it_is_a_401(clock, post, cn_loan):
    assert post(_body(cn_loan)).status_code == 401
    assert post(_body(cn_loan), "not-a-token").status_code == 401
    assert not Complaint.objects.exists()


@pytest.mark.parametrize(("change", "field"), [
    ({"category": "rudeness"}, "category"),
    ({"channel": "fax"}, "channel"),
    ({"description": ""}, "description"),
    ({"received_at": "2027-03-02T18:00:00"}, "received_at"),  # no offset
    ({"received_at": "2030-01-01T00:00:00+08:00"}, "received_at"),  # future
    ({"collectors": ["nobody"]}, "collectors[0]"),
    ({"attempt_ids": ["no-such-attempt"]}, "attempt_ids[0]"),
    ({"unexpected": 1}, "unexpected"),
])
def test_bad_input_is_a_422_naming_the_field_and_records_nothing(clock, post, token, cn_loan, change, field):
    response = post(_body(cn_loan, **change), token)
    assert response.status_code == 422, response.json()
    assert field in [item["field"] for item in response.json()["detail"]]
    assert not Complaint.objects.exists()


def test_another_borrowers_attempt_or_loan_is_refused(clock, post, token, cn_loan, other_loan):
    attempt, _ = attempt_record(
        external_id="D-OTHER", loan=other_loan, phone=phone_of(other_loan), channel="call", direction="outbound",
        started_at=MORNING - dt.timedelta(hours=1), outcome="no_answer", actor=None,
    )
    response = post(_body(cn_loan, attempt_ids=[attempt.pk]), token)
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "attempt_ids[0]"
    response = post(_body(cn_loan, loan_ref=other_loan.loan_ref), token)
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "loan_ref"
    assert not Complaint.objects.exists()


def test_an_unknown_borrower_or_loan_is_a_404(clock, post, token, cn_loan):
    response = post(_body(cn_loan, borrower_ref="B-NOPE"), token)
    assert response.status_code == 404 and response.json()["detail"][0]["field"] == "borrower_ref"
    response = post(_body(cn_loan, loan_ref="L-NOPE"), token)
    assert response.status_code == 404 and response.json()["detail"][0]["field"] == "loan_ref"
