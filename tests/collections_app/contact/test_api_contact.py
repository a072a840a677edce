"""Integration API: the dialer's pre-check (contact-checks) and its attempt reports (contact-attempts)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import api_token_create
from collections_app.models import ContactAttempt, ContactPolicyVersion
from consent_app.models import Consent
from tests import factories as f

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 3 March 2027: 10:00 in Shanghai is inside the CN window (08:00-22:00), 23:00 is outside.
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)
NIGHT = dt.datetime(2027, 3, 3, 23, 0, tzinfo=SHANGHAI)
CONSENTED = "+8613800138000"
UNCONSENTED = "+8613912345678"


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def cn_loan(clock, collector):
    """A CN borrower (Asia/Shanghai) with one consented and one unconsented mobile number."""
    borrower = f.BorrowerFactory(borrower_ref="B-CN", jurisdiction="CN", timezone="Asia/Shanghai")
    loan = f.LoanFactory(loan_ref="L-CN", borrower=borrower, assigned_collector=collector,
                         due_date=dt.date(2027, 1, 15))
    consented = f.PhoneNumberFactory(borrower=borrower, e164=CONSENTED)
    f.ConsentFactory(phone=consented, allows_sms=False, granted_at=MORNING - dt.timedelta(days=60))
    f.PhoneNumberFactory(borrower=borrower, e164=UNCONSENTED)
    return loan


def _post(api, url, body):
    return api.post(url, body, content_type="application/json")


def _check(api, **overrides):
    return _post(api, "/api/v1/contact-checks", {"loan_ref": "L-CN", "phone": CONSENTED, "channel": "call",
                                                  **overrides})


def _attempt(api, **overrides):
    body = {"external_id": "DIAL-1", "loan_ref": "L-CN", "phone": CONSENTED, "channel": "call",
            "direction": "outbound", "started_at": (MORNING - dt.timedelta(minutes=5)).isoformat(),
            "outcome": "no_answer", **overrides}
    return _post(api, "/api/v1/contact-attempts", body)


def _codes(body):
    return [r["code"] for r in body["reasons"]]


def _fields(response):
    return [item["field"] for item in response.json()["detail"]]


# --- contact-checks ---------------------------------------------------------------------------------------------


def test_a_consented_number_inside_the_hours_may_be_called(api, cn_loan):
    response = _check(api)
    assert response.status_code == 200
    body = response.json()
    assert body["allowed"] is True
    assert body["reasons"] == []
    assert body["next_allowed_at"] is None
    assert body["policy"] == {"code": "CN", "version": 1}
    assert body["local_times"]["Asia/Shanghai"] == "2027-03-03T10:00:00+08:00"


def test_a_number_in_another_format_is_found_through_the_blind_index(api, cn_loan):
    assert _check(api, phone="138-0013-8000").json()["allowed"] is True


def test_an_unconsented_number_is_refused_with_no_consent_and_no_next_time(api, cn_loan):
    body = _check(api, phone=UNCONSENTED).json()
    assert body["allowed"] is False
    assert _codes(body) == ["NO_CONSENT"]
    assert body["reasons"][0]["message"]
    assert "1033" in body["reasons"][0]["rule"]  # the legal source travels with the reason
    assert body["next_allowed_at"] is None


def test_sms_on_a_call_only_consent_is_refused(api, cn_loan):
    assert _codes(_check(api, channel="sms").json()) == ["NO_CONSENT"]


def test_at_23_00_local_the_next_allowed_time_is_08_00_next_day(api, cn_loan, clock):
    clock.move_to(NIGHT)
    body = _check(api).json()
    assert body["allowed"] is False
    assert _codes(body) == ["OUTSIDE_CONTACT_HOURS"]
    next_at = dt.datetime.fromisoformat(body["next_allowed_at"])
    assert next_at == dt.datetime(2027, 3, 4, 8, 0, tzinfo=SHANGHAI)


def test_the_check_can_be_asked_for_another_instant(api, cn_loan):
    body = _check(api, at=NIGHT.isoformat()).json()
    assert _codes(body) == ["OUTSIDE_CONTACT_HOURS"]


def test_the_check_is_audited_with_the_integration_user(api, cn_loan, integration_user):
    _check(api)
    event = AuditEvent.objects.get(action=AuditAction.CONTACT_CHECKED)
    assert event.actor_id == integration_user.pk
    assert event.data["allowed"] is True
    assert CONSENTED not in str(event.data)


@pytest.mark.parametrize(("overrides", "status", "field"), [
    ({"channel": "fax"}, 422, "channel"),
    ({"phone": "12"}, 422, "phone"),
    ({"phone": "+8615012345678"}, 422, "phone"),
    ({"at": "2027-03-03T10:00:00"}, 422, "at"),
    ({"loan_ref": "L-404"}, 404, "loan_ref"),
])
def test_bad_check_input(api, cn_loan, overrides, status, field):
    response = _check(api, **overrides)
    assert response.status_code == status
    assert _fields(response) == [field]
    assert "15012345678" not in response.content.decode()


def test_a_check_without_a_policy_in_force_is_409(api, cn_loan):
    ContactPolicyVersion.objects.filter(policy__jurisdiction="CN").delete()
    response = _check(api)
    assert response.status_code == 409
    assert _fields(response) == [None]


def test_an_instant_far_from_now_is_422(api, cn_loan):
    response = _check(api, at="9999-12-31T23:00:00+00:00")
    assert response.status_code == 422
    assert response.json()["detail"] == [{"field": "at", "message": "Must be between 1970 and 2199"}]


# --- contact-attempts -------------------------------------------------------------------------------------------


def test_a_compliant_call_is_recorded(api, cn_loan, collector, integration_user):
    response = _attempt(api, collector=collector.username, duration_s=42, recording_ref="rec-1")
    assert response.status_code == 201
    body = response.json()
    assert body["compliant"] is True
    assert body["reasons"] == []
    attempt = ContactAttempt.objects.get(pk=body["id"])
    assert attempt.source == "dialer"
    assert attempt.collector == collector
    assert attempt.duration_s == 42
    event = AuditEvent.objects.get(action=AuditAction.CONTACT_ATTEMPT_RECORDED)
    assert event.actor_id == integration_user.pk


def test_the_same_external_id_returns_the_first_attempt_and_creates_nothing(api, cn_loan):
    first = _attempt(api)
    again = _attempt(api, outcome="conversation")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert ContactAttempt.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.CONTACT_ATTEMPT_RECORDED).count() == 1


def test_the_same_external_id_for_another_loan_is_409(api, cn_loan):
    f.LoanFactory(loan_ref="L-CN-2", borrower=cn_loan.borrower)
    _attempt(api)
    response = _attempt(api, loan_ref="L-CN-2")
    assert response.status_code == 409
    assert _fields(response) == ["external_id"]


def test_a_call_at_23_00_local_is_recorded_non_compliant_with_its_reasons(api, cn_loan, clock):
    clock.move_to(NIGHT + dt.timedelta(minutes=10))
    response = _attempt(api, started_at=NIGHT.isoformat())
    assert response.status_code == 201
    body = response.json()
    assert body["compliant"] is False
    assert _codes(body) == ["OUTSIDE_CONTACT_HOURS"]
    assert body["reasons"][0]["rule"]
    attempt = ContactAttempt.objects.get()
    assert attempt.compliant is False
    assert [r["code"] for r in attempt.reasons] == ["OUTSIDE_CONTACT_HOURS"]


def test_a_call_to_an_unconsented_number_is_recorded_non_compliant(api, cn_loan):
    body = _attempt(api, phone=UNCONSENTED).json()
    assert body["compliant"] is False
    assert _codes(body) == ["NO_CONSENT"]


def test_an_opt_out_by_the_borrower_withdraws_the_call_consent(api, cn_loan):
    response = _attempt(api, outcome="conversation", party="debtor", opt_out=True)
    assert response.status_code == 201
    consent = Consent.objects.get(phone__blind_index=cn_loan.borrower.phones.order_by("id").first().blind_index)
    assert consent.withdrawn_at is not None
    assert consent.withdrawn_via == "opt_out"
    assert _codes(_check(api).json()) == ["CONSENT_WITHDRAWN"]


def test_a_wrong_number_outcome_marks_the_number(api, cn_loan):
    _attempt(api, outcome="wrong_number")
    phone = cn_loan.borrower.phones.order_by("id").first()
    assert phone.status == "wrong_number"
    assert _codes(_check(api).json()) == ["WRONG_NUMBER"]


def test_a_start_in_the_future_is_422(api, cn_loan):
    response = _attempt(api, started_at=(MORNING + dt.timedelta(minutes=10)).isoformat())
    assert response.status_code == 422
    assert _fields(response) == ["started_at"]
    assert not ContactAttempt.objects.exists()


@pytest.mark.parametrize(("overrides", "status", "field"), [
    ({"outcome": "hung_up"}, 422, "outcome"),
    ({"channel": "pager"}, 422, "channel"),
    ({"direction": "sideways"}, 422, "direction"),
    ({"party": "neighbour", "outcome": "conversation"}, 422, "party"),
    ({"started_at": "2027-03-03T09:55:00"}, 422, "started_at"),
    ({"phone": "+44 20 7946 0958"}, 422, "phone"),
    ({"phone": "nope"}, 422, "phone"),
    ({"duration_s": -1}, 422, "duration_s"),
    ({"collector": "nobody"}, 422, "collector"),
    ({"loan_ref": "L-404"}, 404, "loan_ref"),
    ({"external_id": ""}, 422, "external_id"),
])
def test_bad_attempt_input_writes_nothing(api, cn_loan, overrides, status, field):
    response = _attempt(api, **overrides)
    assert response.status_code == status
    assert _fields(response) == [field]
    assert not ContactAttempt.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.CONTACT_ATTEMPT_RECORDED).exists()


def test_a_collector_username_of_a_non_collector_is_422(api, cn_loan, integration_user):
    response = _attempt(api, collector=integration_user.username)
    assert response.status_code == 422
    assert _fields(response) == ["collector"]
