"""The dialer's pre-check, one and many: `POST /api/v1/contact-checks` in four queries whatever the borrower's
history, and `POST /api/v1/contact-checks/batch` (up to 1,000 items, one decision or error per item, in order) in
the same four whatever the number of items."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import api_token_create
from collections_app.contact.checks import CheckRequest, CheckTarget, LoanNotFound, check_snapshots, check_targets
from collections_app.contact.selectors import LoanRow, _number_fact, contact_snapshot
from collections_app.contact.services import contact_check_batch
from collections_app.contact.versions import current_generation
from collections_app.models import ContactAttempt, Loan
from consent_app.models import InconvenientTime
from tests import factories as f
from tests.queries import tables

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 3 March 2027: 10:00 in Shanghai is inside the CN window (08:00-22:00), 23:00 is outside.
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)
NIGHT = dt.datetime(2027, 3, 3, 23, 0, tzinfo=SHANGHAI)
CONSENTED = "+8613800138000"
UNCONSENTED = "+8613912345678"
BATCH = "/api/v1/contact-checks/batch"
# The queries of one pre-check, single or batch, whatever the items and the histories:
PRE_CHECK_QUERIES = [
    "collections_app_apitoken",  # the token, its user and the user's role groups
    "collections_app_loan",  # the loans with their borrowers, the numbers asked about and the policy generation
    "consent_app_consent",  # one UNION ALL: consents, restrictions, inconvenient times, attempts
    "INSERT audit_app_auditevent",  # the check on the compliance record
]


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
    """A CN borrower with one consented and one unconsented mobile number."""
    borrower = f.BorrowerFactory(borrower_ref="B-CN", jurisdiction="CN", timezone="Asia/Shanghai")
    loan = f.LoanFactory(loan_ref="L-CN", borrower=borrower, assigned_collector=collector,
                         due_date=dt.date(2027, 1, 15))
    consented = f.PhoneNumberFactory(borrower=borrower, e164=CONSENTED)
    f.ConsentFactory(phone=consented, allows_sms=False, granted_at=MORNING - dt.timedelta(days=60))
    f.PhoneNumberFactory(borrower=borrower, e164=UNCONSENTED)
    return loan


def _post(api, url, body):
    return api.post(url, json.dumps(body), content_type="application/json")


def _item(**overrides):
    return {"loan_ref": "L-CN", "phone": CONSENTED, "channel": "call", **overrides}


def _batch(api, items):
    response = _post(api, BATCH, {"items": items})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _codes(decision):
    return [r["code"] for r in decision["reasons"]]


def _phone(loan, e164):
    return next(p for p in loan.borrower.phones.all() if p.e164 == e164)


def _attempts(loan, phone, times, **extra):
    for when in times:
        ContactAttempt.objects.create(
            loan=loan, phone=phone, borrower_id=loan.borrower_id, channel="call", direction="outbound",
            started_at=when, outcome="no_answer", compliant=True, reasons=[], source="dialer", **extra,
        )


def _portfolio(n, *, history=0, third_parties=False):
    """n CN loans, each with a consented number (and a third party's, when asked) and `history` earlier calls."""
    items = []
    for i in range(n):
        loan = f.LoanFactory(loan_ref=f"L-P{i}", due_date=dt.date(2027, 1, 15))
        phone = f.PhoneNumberFactory(borrower=loan.borrower, e164=f.cn_mobile(1000 + i))
        f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=60))
        f.RestrictionFactory(borrower=loan.borrower, kind="temporary_hold", starts_at=MORNING - dt.timedelta(days=9),
                             ends_at=MORNING - dt.timedelta(days=8))
        _attempts(loan, phone, [MORNING - dt.timedelta(days=1, minutes=k) for k in range(history)])
        items.append(_item(loan_ref=loan.loan_ref, phone=phone.e164))
        if third_parties:
            contact = f.ThirdPartyContactFactory(borrower=loan.borrower)
            theirs = f.PhoneNumberFactory(borrower=loan.borrower, third_party=contact, e164=f.cn_mobile(5000 + i))
            _attempts(loan, theirs, [MORNING - dt.timedelta(days=40)])
            items.append(_item(loan_ref=loan.loan_ref, phone=theirs.e164))
    return items


# --- One pre-check -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("history", [0, 40])
def test_a_pre_check_takes_four_queries_whatever_the_borrowers_history(api, clock, history):
    [item] = _portfolio(1, history=history)
    _post(api, "/api/v1/contact-checks", item)  # the token's last use is written once a minute, not per check
    with CaptureQueriesContext(connection) as queries:
        response = _post(api, "/api/v1/contact-checks", item)
    assert response.status_code == 200
    assert tables(queries) == PRE_CHECK_QUERIES


def test_a_pre_check_on_a_third_partys_number_takes_four_queries_too(api, clock):
    item = _portfolio(1, third_parties=True)[1]
    _post(api, "/api/v1/contact-checks", item)
    with CaptureQueriesContext(connection) as queries:
        assert _post(api, "/api/v1/contact-checks", item).status_code == 200
    assert tables(queries) == PRE_CHECK_QUERIES


def test_the_snapshot_of_a_pre_check_is_the_one_the_desk_decides_on(cn_loan, clock):
    """Same facts, read two ways: the pre-check's one UNION ALL and the desk's queries."""
    loan = Loan.objects.select_related("borrower").get(pk=cn_loan.pk)
    phones = {p.e164: p for p in loan.borrower.phones.select_related("third_party")}
    own = phones[CONSENTED]
    contact = f.ThirdPartyContactFactory(borrower=loan.borrower, authorized=True)
    theirs = f.PhoneNumberFactory(borrower=loan.borrower, third_party=contact)
    f.ConsentFactory(phone=own, granted_at=MORNING - dt.timedelta(days=90),
                     withdrawn_at=MORNING - dt.timedelta(days=80))
    f.RestrictionFactory(borrower=loan.borrower, loan=loan, kind="dispute", starts_at=MORNING - dt.timedelta(days=5),
                         lifted_at=MORNING - dt.timedelta(days=1))
    f.RestrictionFactory(borrower=loan.borrower, kind="temporary_hold", starts_at=MORNING + dt.timedelta(hours=2),
                         ends_at=MORNING + dt.timedelta(days=2))
    InconvenientTime.objects.create(borrower=loan.borrower, weekdays="024", start=dt.time(12), end=dt.time(14))
    other_loan = f.LoanFactory(borrower=loan.borrower)
    _attempts(loan, own, [MORNING - dt.timedelta(hours=h) for h in (1, 3, 30, 200, 400)])
    _attempts(other_loan, own, [MORNING - dt.timedelta(hours=2)])
    _attempts(loan, theirs, [MORNING - dt.timedelta(days=d) for d in (2, 60, 400)])
    _attempts(loan, own, [MORNING + dt.timedelta(hours=1)])  # after the instant: not history
    for phone in (own, theirs):
        phone = type(phone).objects.select_related("third_party").get(pk=phone.pk)
        desk, _version = contact_snapshot(loan=loan, phone=phone, at=MORNING)
        [(check, _v)] = check_snapshots(
            [CheckTarget(LoanRow.of(loan), _number_fact(phone), MORNING)], current_generation()
        )
        assert check.policy == desk.policy
        assert (check.loan, check.number, check.borrower_timezone) == (desk.loan, desk.number, desk.borrower_timezone)
        for facts in ("consents", "restrictions", "inconvenient_times"):
            assert sorted(map(repr, getattr(check, facts))) == sorted(map(repr, getattr(desk, facts))), facts
        assert check.attempts == desk.attempts  # newest first, the same ones
        assert len(check.attempts) >= 4


# --- A batch -----------------------------------------------------------------------------------------------------


def test_a_batch_answers_each_item_in_order_with_a_decision_or_its_error(api, cn_loan, clock):
    results = _batch(api, [
        _item(),
        _item(phone=UNCONSENTED),
        _item(loan_ref="L-404"),
        _item(phone="+8615012345678"),  # a valid number, not this borrower's
        _item(phone="12"),
        _item(channel="fax"),
        _item(at="2027-03-03T10:00:00"),  # no offset
        "not an object",
        _item(opt_out=True),
        _item(at=NIGHT.isoformat()),
        _item(channel="sms"),
    ])
    assert len(results) == 11
    decisions = [r["decision"] for r in results]
    errors = [r["error"] for r in results]
    assert decisions[0]["allowed"] is True and errors[0] is None
    assert _codes(decisions[1]) == ["NO_CONSENT"]
    assert errors[2] == {"status": 404, "detail": [{"field": "loan_ref", "message": "No such loan."}]}
    assert errors[3] == {"status": 422, "detail": [{"field": "phone", "message": "Not a number of this borrower."}]}
    assert errors[4]["status"] == 422 and [d["field"] for d in errors[4]["detail"]] == ["phone"]
    assert errors[5]["status"] == 422 and [d["field"] for d in errors[5]["detail"]] == ["channel"]
    assert errors[6]["status"] == 422 and [d["field"] for d in errors[6]["detail"]] == ["at"]
    assert errors[7]["status"] == 422 and [d["field"] for d in errors[7]["detail"]] == [None]
    assert errors[8] == {"status": 422, "detail": [{"field": "opt_out", "message": "Unknown field."}]}
    assert _codes(decisions[9]) == ["OUTSIDE_CONTACT_HOURS"]
    assert decisions[9]["next_allowed_at"] == "2027-03-04T00:00:00+00:00"
    assert _codes(decisions[10]) == ["NO_CONSENT"]  # the consent covers calls only
    for decision, error in zip(decisions, errors, strict=True):
        assert (decision is None) != (error is None)
    assert "15012345678" not in json.dumps(results)


def test_each_item_gets_the_answer_the_single_pre_check_gives(api, cn_loan, clock):
    items = [_item(), _item(phone=UNCONSENTED), _item(at=NIGHT.isoformat()), _item(loan_ref="L-404"),
             _item(phone="138-0013-8000"), _item(channel="sms", phone=UNCONSENTED)]
    results = _batch(api, items)
    for item, result in zip(items, results, strict=True):
        single = _post(api, "/api/v1/contact-checks", item)
        if single.status_code == 200:
            assert result == {"decision": single.json(), "error": None}
        else:
            assert result == {"decision": None, "error": {"status": single.status_code, **single.json()}}


def test_each_item_is_judged_on_the_history_before_its_own_instant(api, cn_loan, clock):
    phone = _phone(cn_loan, CONSENTED)
    # Six calls this morning between 08:30 and 09:20: the day's cap (6) is reached at 09:20.
    _attempts(cn_loan, phone, [MORNING - dt.timedelta(minutes=90 - 10 * k) for k in range(6)])
    at_nine = (MORNING - dt.timedelta(hours=1)).isoformat()
    results = _batch(api, [_item(), _item(at=at_nine)])
    assert _codes(results[0]["decision"]) == ["DAILY_ATTEMPT_LIMIT"]
    assert results[1]["decision"]["allowed"] is True  # at 09:00 three of the calls had not happened yet


def test_a_third_partys_whole_history_counts_in_a_batch(api, cn_loan, clock):
    from collections_app.contact.services import policy_version_create, policy_version_data
    from collections_app.models import ContactPolicy

    cn = ContactPolicy.objects.get(code="CN")
    policy_version_create(policy_obj=cn, data=policy_version_data(cn.versions.get()) | {
        "third_party_max_contacts": 1, "third_party_only_when_borrower_unreachable": False,
    }, actor=None, change_note="One contact per third party", effective_from=MORNING - dt.timedelta(days=1))
    contact = f.ThirdPartyContactFactory(borrower=cn_loan.borrower, authorized=True)
    theirs = f.PhoneNumberFactory(borrower=cn_loan.borrower, third_party=contact, e164="+8618612345678")
    other_loan = f.LoanFactory(borrower=cn_loan.borrower)
    _attempts(other_loan, theirs, [MORNING - dt.timedelta(days=300)])  # long before any lookback
    results = _batch(api, [_item(phone="+8618612345678"), _item()])
    assert _codes(results[0]["decision"]) == ["THIRD_PARTY_LIMIT"]
    assert results[1]["decision"]["allowed"] is True


@pytest.mark.parametrize("n", [1, 200])
def test_a_batch_takes_four_queries_whatever_its_size(api, clock, n):
    items = _portfolio(n, history=3, third_parties=True)[:n]
    _batch(api, items[:1])
    with CaptureQueriesContext(connection) as queries:
        results = _batch(api, items)
    assert len(results) == n
    assert all(r["error"] is None for r in results)
    assert tables(queries) == PRE_CHECK_QUERIES


def test_a_batch_of_only_bad_items_reads_no_loan(api, clock):
    _batch(api, ["x"])
    with CaptureQueriesContext(connection) as queries:
        results = _batch(api, ["x", {"loan_ref": "-bad"}])
    assert [r["error"]["status"] for r in results] == [422, 422]
    assert tables(queries) == ["collections_app_apitoken", "INSERT audit_app_auditevent"]


def test_a_batch_is_one_audit_event_listing_ids_never_numbers(api, cn_loan, clock, integration_user):
    _batch(api, [_item(), _item(phone=UNCONSENTED), _item(loan_ref="L-404"), _item(phone="+8615012345678"),
                 _item(channel="fax")])
    event = AuditEvent.objects.get(action=AuditAction.CONTACT_BATCH_CHECKED)
    assert not AuditEvent.objects.filter(action=AuditAction.CONTACT_CHECKED).exists()
    assert event.actor_id == integration_user.pk
    phones = {p.e164: p.pk for p in cn_loan.borrower.phones.all()}
    checks = event.data["checks"]
    assert [c["item"] for c in checks] == [0, 1, 2, 3]  # item 4 failed its schema: it was not checked
    assert checks[0] == {"item": 0, "loan_id": cn_loan.pk, "phone_id": phones[CONSENTED], "channel": "call",
                         "at": "2027-03-03T02:00:00Z", "allowed": True, "reasons": []}
    assert checks[1]["phone_id"] == phones[UNCONSENTED] and checks[1]["reasons"] == ["NO_CONSENT"]
    assert checks[2] == {"item": 2, "loan_id": None, "phone_id": None, "refused": "loan_ref"}
    assert checks[3] == {"item": 3, "loan_id": cn_loan.pk, "phone_id": None, "refused": "phone"}
    text = json.dumps(event.data)
    for number in (CONSENTED, UNCONSENTED, "15012345678", "13800138000"):
        assert number not in text


def test_more_than_a_thousand_items_is_a_422_in_the_error_body(api, cn_loan, clock):
    response = _post(api, BATCH, {"items": [_item()] * 1001})
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["detail"]] == ["items"]
    assert not AuditEvent.objects.filter(action=AuditAction.CONTACT_BATCH_CHECKED).exists()


def test_a_thousand_items_are_answered(api, cn_loan, clock):
    results = _batch(api, [_item(), _item(phone=UNCONSENTED)] * 500)
    assert len(results) == 1000
    assert [r["decision"]["allowed"] for r in results[:4]] == [True, False, True, False]


@pytest.mark.parametrize("body", [{"items": []}, {}, {"items": "L-CN"}, {"items": [_item()], "extra": 1}])
def test_a_malformed_batch_is_a_422_in_the_error_body(api, cn_loan, clock, body):
    response = _post(api, BATCH, body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] in ("items", "extra")


def test_a_loan_outside_the_scope_is_not_found_for_that_item(cn_loan, clock, collector, integration_user):
    """The batch looks loans up through the same scope as the single pre-check (permissions.api_loans_visible_to):
    an Integration user's is every loan; a token's user outside the group has none."""
    checks = [CheckRequest("L-CN", CONSENTED, "call", MORNING, item=0)]
    [mine] = contact_check_batch(checks=checks, actor=integration_user)
    assert mine.decision is not None and mine.decision.allowed
    [outside] = contact_check_batch(checks=checks, actor=collector)
    assert outside.decision is None and isinstance(outside.error, LoanNotFound)
    found, _generation = check_targets(checks, scope=lambda loans: loans.exclude(pk=cn_loan.pk))
    assert isinstance(found[0].error, LoanNotFound)


def test_a_batch_without_a_policy_in_force_answers_409_for_its_items(api, cn_loan, clock):
    from collections_app.models import ContactPolicyVersion

    us_loan = f.LoanFactory(loan_ref="L-US", borrower__jurisdiction="US", borrower__timezone="America/New_York")
    f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=us_loan.borrower, e164="+12025550143", region="US"))
    ContactPolicyVersion.objects.filter(policy__jurisdiction="CN").delete()
    results = _batch(api, [_item(), _item(loan_ref="L-US", phone="+12025550143")])
    assert results[0]["error"]["status"] == 409
    assert results[1]["decision"]["policy"]["code"] == "US"


def test_the_openapi_document_describes_the_batch(client):
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/contact-checks/batch"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    schemas = document["components"]["schemas"]
    batch_in = schemas[body["$ref"].rsplit("/", 1)[1]]
    items = batch_in["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 1000)
    assert items["items"]["title"] == "ContactCheckIn"  # each item described as the single pre-check's body
    assert set(items["items"]["required"]) == {"loan_ref", "phone", "channel"}
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    result = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "results" in schemas[result]["properties"]
