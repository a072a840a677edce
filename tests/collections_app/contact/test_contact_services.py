"""Contact services over the real database: the snapshot, reservations, outcomes and recorded verdicts."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit_app.models import AuditEvent
from collections_app.contact.selectors import contact_snapshot
from collections_app.contact.services import (
    attempt_complete,
    attempt_record,
    contact_check,
    contact_start,
    policy_version_create,
    policy_version_data,
)
from collections_app.models import ContactAttempt, ContactPolicy, ContactPolicyVersion
from consent_app.models import Consent
from tests import factories as f

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 3 March 2027, 10:00 in Shanghai: inside the CN window.
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def cn_loan(collector):
    with time_machine.travel(MORNING - dt.timedelta(days=60), tick=False):
        loan = f.LoanFactory(assigned_collector=collector, due_date=dt.date(2027, 1, 15))
        phone = f.PhoneNumberFactory(borrower=loan.borrower)
        f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=60))
    return loan


def _phone(loan):
    return loan.borrower.phones.select_related("third_party").get()


def _make_attempts(loan, phone, n):
    ContactAttempt.objects.bulk_create(
        ContactAttempt(
            loan=loan, phone=phone, borrower=loan.borrower, channel="call", direction="outbound",
            started_at=MORNING - dt.timedelta(minutes=5 * (i + 1)), outcome="no_answer", compliant=True,
        )
        for i in range(n)
    )


@pytest.mark.parametrize("history", [0, 10, 1000])
def test_the_snapshot_takes_the_same_number_of_queries_whatever_the_history(cn_loan, history):
    phone = _phone(cn_loan)
    _make_attempts(cn_loan, phone, history)
    # The incident pauses come from the process's copy of the policy generation the version query reads; the first
    # decision after a change of the generation (here: the fixtures' policy) reads them once.
    contact_snapshot(loan=cn_loan, phone=phone, at=MORNING)
    with CaptureQueriesContext(connection) as queries:
        snapshot, _version = contact_snapshot(loan=cn_loan, phone=phone, at=MORNING)
    # 1 policy version in force (with the generation), 2 consents, 3 restrictions, 4 inconvenient times,
    # 5 attempt history.
    assert len(queries) == 5
    assert len(snapshot.attempts) == history


@time_machine.travel(MORNING, tick=False)
def test_a_started_call_counts_at_once_so_the_seventh_is_refused(cn_loan, collector):
    phone = _phone(cn_loan)
    for _ in range(5):
        attempt, decision = contact_start(loan=cn_loan, phone=phone, channel="call", collector=collector)
        assert decision.allowed and attempt is not None and attempt.in_progress
        attempt_complete(attempt=attempt, outcome="no_answer", actor=collector)
    sixth, decision = contact_start(loan=cn_loan, phone=phone, channel="call", collector=collector)
    assert decision.allowed and sixth is not None and sixth.in_progress
    # While the sixth is still ringing it already counts: the day's limit is reached.
    assert [r.code for r in contact_check(loan=cn_loan, phone=phone, channel="call").reasons] == [
        "DAILY_ATTEMPT_LIMIT"]
    attempt_complete(attempt=sixth, outcome="no_answer", actor=collector)
    attempt, decision = contact_start(loan=cn_loan, phone=phone, channel="call", collector=collector)
    assert attempt is None
    assert [r.code for r in decision.reasons] == ["DAILY_ATTEMPT_LIMIT"]
    assert ContactAttempt.objects.filter(loan=cn_loan).count() == 6


@time_machine.travel(MORNING, tick=False)
def test_a_wrong_number_outcome_marks_the_number(cn_loan, collector):
    phone = _phone(cn_loan)
    attempt, _ = contact_start(loan=cn_loan, phone=phone, channel="call", collector=collector)
    attempt_complete(attempt=attempt, outcome="wrong_number", actor=collector)
    phone.refresh_from_db()
    assert phone.status == "wrong_number"
    assert [r.code for r in contact_check(loan=cn_loan, phone=phone, channel="call").reasons] == ["WRONG_NUMBER"]


@time_machine.travel(MORNING, tick=False)
def test_a_borrowers_opt_out_withdraws_the_call_consent_and_keeps_sms(cn_loan, collector):
    phone = _phone(cn_loan)
    attempt, _ = contact_start(loan=cn_loan, phone=phone, channel="call", collector=collector)
    attempt_complete(attempt=attempt, outcome="conversation", opt_out=True, actor=collector)
    assert contact_check(loan=cn_loan, phone=phone, channel="call").reasons[0].code == "CONSENT_WITHDRAWN"
    active = [c for c in Consent.objects.filter(phone=phone) if c.state_at() == "active"]
    assert [c.channels for c in active] == [["sms"]]


@time_machine.travel(MORNING, tick=False)
def test_a_third_partys_opt_out_marks_their_number_opted_out(cn_loan, collector):
    contact = f.ThirdPartyContactFactory(borrower=cn_loan.borrower)
    tp_phone = f.PhoneNumberFactory(borrower=cn_loan.borrower, third_party=contact)
    attempt_record(
        external_id="X-1", loan=cn_loan, phone=tp_phone, channel="call", direction="outbound",
        started_at=MORNING - dt.timedelta(minutes=5), outcome="conversation", opt_out=True, actor=None,
    )
    tp_phone.refresh_from_db()
    assert tp_phone.status == "opted_out"


@time_machine.travel(MORNING, tick=False)
def test_completing_an_attempt_twice_is_refused(cn_loan, collector):
    attempt, _ = contact_start(loan=cn_loan, phone=_phone(cn_loan), channel="call", collector=collector)
    attempt_complete(attempt=attempt, outcome="no_answer", actor=collector)
    with pytest.raises(ValidationError):
        attempt_complete(attempt=attempt, outcome="conversation", actor=collector)


@time_machine.travel(MORNING, tick=False)
def test_a_reported_night_call_is_recorded_as_non_compliant_with_its_reasons(cn_loan):
    night = dt.datetime(2027, 3, 2, 23, 30, tzinfo=SHANGHAI)
    attempt, created = attempt_record(
        external_id="D-1", loan=cn_loan, phone=_phone(cn_loan), channel="call", direction="outbound",
        started_at=night, outcome="no_answer", actor=None,
    )
    assert created and attempt.compliant is False
    assert [r["code"] for r in attempt.reasons] == ["OUTSIDE_CONTACT_HOURS"]
    again, created_again = attempt_record(
        external_id="D-1", loan=cn_loan, phone=_phone(cn_loan), channel="call", direction="outbound",
        started_at=night, outcome="no_answer", actor=None,
    )
    assert again.pk == attempt.pk and not created_again
    assert ContactAttempt.objects.count() == 1


@time_machine.travel(MORNING, tick=False)
def test_a_reported_attempt_is_judged_against_the_history_before_it(cn_loan):
    phone = _phone(cn_loan)
    for i in range(7):
        attempt, _ = attempt_record(
            external_id=f"D-{i}", loan=cn_loan, phone=phone, channel="call", direction="outbound",
            started_at=MORNING - dt.timedelta(minutes=60 - i), outcome="no_answer", actor=None,
        )
        # The first six are within the CN cap of 6 per number per day; the seventh breaks it.
        assert attempt.compliant is (i < 6)
    assert attempt.reasons[0]["code"] == "DAILY_ATTEMPT_LIMIT"


@time_machine.travel(MORNING, tick=False)
def test_a_future_attempt_is_refused(cn_loan):
    with pytest.raises(ValidationError) as exc:
        attempt_record(
            external_id="F-1", loan=cn_loan, phone=_phone(cn_loan), channel="call", direction="outbound",
            started_at=MORNING + dt.timedelta(hours=1), outcome="no_answer", actor=None,
        )
    assert "started_at" in exc.value.message_dict


@time_machine.travel(MORNING, tick=False)
def test_a_number_of_another_borrower_is_refused(cn_loan, collector):
    stranger = f.PhoneNumberFactory()
    with pytest.raises(ValidationError):
        contact_start(loan=cn_loan, phone=stranger, channel="call", collector=collector)


def test_a_new_policy_version_applies_from_its_effective_time_and_the_old_one_stays(cn_loan, compliance):
    cn = ContactPolicy.objects.get(code="CN")
    v1 = ContactPolicyVersion.objects.get(policy=cn, version=1)
    data = policy_version_data(v1) | {"daily_attempt_cap": 2}
    v2 = policy_version_create(policy_obj=cn, data=data, actor=compliance, change_note="Stricter firm cap",
                               effective_from=MORNING - dt.timedelta(days=1))
    assert v2.version == 2
    v1.refresh_from_db()
    assert v1.daily_attempt_cap == 6
    assert AuditEvent.objects.filter(action="policy.version_created", subject_id=str(v2.pk)).exists()
    phone = _phone(cn_loan)
    _make_attempts(cn_loan, phone, 2)
    decision = contact_check(loan=cn_loan, phone=phone, channel="call", at=MORNING)
    assert decision.policy_version == 2
    assert decision.reasons[0].code == "DAILY_ATTEMPT_LIMIT"
    before = contact_check(loan=cn_loan, phone=phone, channel="call", at=MORNING - dt.timedelta(days=2))
    assert before.policy_version == 1


def test_a_policy_version_cannot_be_edited_in_place():
    version = ContactPolicyVersion.objects.get(policy__code="US", version=1)
    version.daily_attempt_cap = 99
    with pytest.raises(ValueError):
        version.save()


@pytest.mark.parametrize(
    "change",
    [{"windows": [["08:00", "21:00"]] * 6}, {"windows": [["8am", "21:00"]] * 7}, {"default_timezone": "Mars/Base"},
     {"channels_allowed": ["fax"]}, {"rolling_window_days": 0}],
)
def test_a_malformed_policy_version_is_refused(compliance, change):
    cn = ContactPolicy.objects.get(code="CN")
    data = policy_version_data(cn.versions.get(version=1)) | change
    with pytest.raises(ValidationError):
        policy_version_create(policy_obj=cn, data=data, actor=compliance, change_note="bad")
    assert cn.versions.count() == 1


def test_compliance_publishes_a_new_version_in_admin_starting_from_the_latest(client, compliance):
    cn = ContactPolicy.objects.get(code="CN")
    client.force_login(compliance)
    form = client.get(f"/admin/collections_app/contactpolicyversion/add/?policy={cn.pk}")
    assert form.status_code == 200
    assert "Asia/Shanghai" in form.content.decode()
    v1 = cn.versions.get(version=1)
    import json

    post = {"policy": cn.pk, "effective_from_0": "2027-01-01", "effective_from_1": "00:00:00",
            "change_note": "Firm cap of 5", "rolling_window_days": 7, "unreachable_after_days": 3,
            "unreachable_min_attempts": 3}
    for key, value in policy_version_data(v1).items():
        if key in ("windows", "channels_allowed", "sources"):
            post[key] = json.dumps(value)
        elif isinstance(value, bool):
            if value:
                post[key] = "on"
        elif value is not None:
            post[key] = value
    post["daily_attempt_cap"] = 5
    response = client.post("/admin/collections_app/contactpolicyversion/add/", post)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert cn.versions.get(version=2).daily_attempt_cap == 5
    change = client.get(f"/admin/collections_app/contactpolicyversion/{cn.versions.get(version=2).pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()


@time_machine.travel(MORNING, tick=False)
def test_an_unknown_channel_is_a_clear_error_not_a_crash(cn_loan):
    with pytest.raises(ValidationError) as exc:
        contact_check(loan=cn_loan, phone=_phone(cn_loan), channel="fax")
    assert "channel" in exc.value.message_dict


@time_machine.travel(MORNING, tick=False)
def test_an_attempt_id_reused_for_another_loan_is_refused(cn_loan):
    other = f.LoanFactory(borrower=cn_loan.borrower)
    attempt_record(external_id="R-1", loan=cn_loan, phone=_phone(cn_loan), channel="call", direction="outbound",
                   started_at=MORNING - dt.timedelta(minutes=3), outcome="no_answer", actor=None)
    with pytest.raises(ValidationError) as exc:
        attempt_record(external_id="R-1", loan=other, phone=_phone(cn_loan), channel="call", direction="outbound",
                       started_at=MORNING - dt.timedelta(minutes=3), outcome="no_answer", actor=None)
    assert "external_id" in exc.value.message_dict


@time_machine.travel(MORNING, tick=False)
def test_an_overlong_recording_reference_is_refused_before_the_database(cn_loan):
    with pytest.raises(ValidationError) as exc:
        attempt_record(external_id="R-2", loan=cn_loan, phone=_phone(cn_loan), channel="call",
                       direction="outbound", started_at=MORNING - dt.timedelta(minutes=3), outcome="no_answer",
                       recording_ref="x" * 201, actor=None)
    assert "recording_ref" in exc.value.message_dict
    assert not ContactAttempt.objects.exists()


def test_a_restriction_ending_in_the_far_future_is_refused(cn_loan, compliance):
    from consent_app.services import restriction_place

    with pytest.raises(ValidationError) as exc:
        restriction_place(borrower=cn_loan.borrower, kind="temporary_hold", starts_at=MORNING,
                          ends_at=dt.datetime(9999, 1, 1, tzinfo=dt.UTC), reason="typo", actor=compliance)
    assert "ends_at" in exc.value.message_dict


def test_a_number_without_a_country_is_refused():
    from consent_app.phones import parse_number

    with pytest.raises(ValidationError):
        parse_number("+80012345678")
