"""The integration API's reads: a borrower, a loan, the dialer's contactable list and the contact-attempt feed.
Numbers masked, never a name or a national id; lists paginated with signed cursors, in the same queries whatever
the page's size; every read on the audit trail."""

import datetime as dt
import itertools
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import api_token_create
from collections_app.complaints.services import complaint_open
from collections_app.models import ContactAttempt
from collections_app.permissions import INTEGRATION
from collections_app.plans.services import plan_propose, promise_create
from consent_app.services import consent_withdraw, restriction_lift
from tests import factories as f
from tests.queries import tables

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 3 March 2027, 10:00 in Shanghai: inside the CN contact window (08:00-22:00).
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)
CONSENTED = "+8613800138000"
UNCONSENTED = "+8613912345678"
THIRD_PARTY = "+8618612345678"
FULL_NAME = "王芳芳"
NATIONAL_ID = "110101199003074578"
CONTACT_NAME = "王敏敏"


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def api(client, integration_user, clock):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def borrower(clock, collector):
    """A CN borrower with a consented and an unconsented number, a named contact with a number, one loan."""
    borrower = f.BorrowerFactory(borrower_ref="B-READ", full_name=FULL_NAME, national_id=NATIONAL_ID)
    f.LoanFactory(loan_ref="L-READ", borrower=borrower, assigned_collector=collector,
                  due_date=dt.date(2027, 1, 15), balance=Decimal("6000.00"))
    consented = f.PhoneNumberFactory(borrower=borrower, e164=CONSENTED)
    f.ConsentFactory(phone=consented, allows_sms=False, granted_at=MORNING - dt.timedelta(days=60))
    f.PhoneNumberFactory(borrower=borrower, e164=UNCONSENTED)
    contact = f.ThirdPartyContactFactory(borrower=borrower, contact_ref="C-1", full_name=CONTACT_NAME)
    f.PhoneNumberFactory(borrower=borrower, third_party=contact, e164=THIRD_PARTY)
    return borrower


def _iso(instant):
    return instant.astimezone(dt.UTC).isoformat()


def _get(api, url, **params):
    response = api.get(url, params)
    return response


def _ok(api, url, **params):
    response = _get(api, url, **params)
    assert response.status_code == 200, response.content
    return response.json()


def _assert_no_personal_data(body):
    text = json.dumps(body, ensure_ascii=False)
    for secret in (CONSENTED, UNCONSENTED, THIRD_PARTY, CONSENTED[3:], UNCONSENTED[3:], THIRD_PARTY[3:],
                   FULL_NAME, NATIONAL_ID, CONTACT_NAME):
        assert secret not in text


# --- GET /borrowers/{borrower_ref} ------------------------------------------------------------------------------


def test_a_borrower_is_read_with_masked_numbers_consents_restrictions_and_contacts(api, borrower, integration_user):
    loan = borrower.loans.get()
    hold = f.RestrictionFactory(borrower=borrower, loan=loan, kind="dispute", starts_at=MORNING - dt.timedelta(days=1))
    lifted = f.RestrictionFactory(borrower=borrower, kind="temporary_hold", ends_at=MORNING + dt.timedelta(days=3))
    restriction_lift(restriction=lifted, reason="spoke to the borrower", actor=integration_user)
    unconsented = borrower.phones.filter(third_party__isnull=True).order_by("id").last()
    withdrawn = f.ConsentFactory(phone=unconsented, granted_at=MORNING - dt.timedelta(days=10))
    consent_withdraw(consent=withdrawn, via="app", withdrawn_at=MORNING - dt.timedelta(days=1),
                     actor=integration_user)

    body = _ok(api, "/api/v1/borrowers/B-READ")

    assert body["borrower_ref"] == "B-READ"
    assert (body["jurisdiction"], body["timezone"], body["loan_refs"]) == ("CN", "Asia/Shanghai", ["L-READ"])
    assert [p["masked"] for p in body["phones"]] == ["+86 138****8000", "+86 139****5678"]
    assert {c["phone"]: c["state"] for c in body["consents"]} == {
        "+86 138****8000": "active", "+86 139****5678": "withdrawn",
    }
    assert [c["channels"] for c in body["consents"] if c["state"] == "active"] == [["call"]]
    assert body["restrictions"] == [{
        "id": hold.pk, "loan_ref": "L-READ", "kind": "dispute", "starts_at": _iso(hold.starts_at),
        "ends_at": None,
    }]
    [contact] = body["third_parties"]
    assert (contact["contact_ref"], contact["relation"], contact["authorized"]) == ("C-1", "sibling", True)
    assert [p["masked"] for p in contact["phones"]] == ["+86 186****5678"]
    assert "name" not in contact and "full_name" not in body and "national_id" not in body
    _assert_no_personal_data(body)


def test_a_borrower_read_is_one_audit_event_naming_what_was_read(api, borrower, integration_user):
    _ok(api, "/api/v1/borrowers/B-READ")
    event = AuditEvent.objects.get(action=AuditAction.API_READ)
    assert event.actor_id == integration_user.pk
    assert event.subject_id == str(borrower.pk)
    assert event.data["borrower_ref"] == "B-READ"
    assert event.data["phone_ids"] == sorted(borrower.phones.values_list("pk", flat=True))
    assert event.data["contact_refs"] == ["C-1"]
    _assert_no_personal_data(event.data)


def test_an_unknown_borrower_is_a_404_that_does_not_echo_the_reference(api, borrower):
    response = _get(api, "/api/v1/borrowers/B-NOBODY-110101199003074578")
    assert response.status_code == 404
    assert response.json() == {"detail": [{"field": "borrower_ref", "message": "No such borrower."}]}
    assert not AuditEvent.objects.filter(action=AuditAction.API_READ).exists()


# Queries of a borrower read, whatever the numbers, consents, restrictions and contacts:
BORROWER_READ_QUERIES = [
    "collections_app_apitoken",  # the token, its user and the user's role groups
    "consent_app_borrower",  # the borrower (no encrypted column read)
    "consent_app_phonenumber",  # every number, the borrower's and the contacts'
    "consent_app_thirdpartycontact",  # the contacts, without their names
    "consent_app_consent",  # the consents on those numbers
    "consent_app_restriction",  # the restrictions in force, with their loans' references
    "collections_app_loan",  # the borrower's loan references
    "INSERT audit_app_auditevent",  # the read on the audit trail
]


@pytest.mark.parametrize("n", [1, 12])
def test_a_borrower_read_takes_the_same_queries_whatever_its_size(api, clock, n):
    borrower = f.BorrowerFactory(borrower_ref="B-SIZE")
    for i in range(n):
        f.LoanFactory(borrower=borrower)
        phone = f.PhoneNumberFactory(borrower=borrower, e164=f.cn_mobile(100 + i))
        f.ConsentFactory(phone=phone)
        contact = f.ThirdPartyContactFactory(borrower=borrower)
        f.PhoneNumberFactory(borrower=borrower, third_party=contact, e164=f.cn_mobile(200 + i))
        f.RestrictionFactory(borrower=borrower)
    _ok(api, "/api/v1/borrowers/B-SIZE")  # the token's last use recorded (once a minute)
    with CaptureQueriesContext(connection) as queries:
        body = _ok(api, "/api/v1/borrowers/B-SIZE")
    assert (len(body["phones"]), len(body["third_parties"]), len(body["restrictions"])) == (n, n, n)
    assert tables(queries) == BORROWER_READ_QUERIES


# --- GET /loans/{loan_ref} --------------------------------------------------------------------------------------


def test_a_loan_is_read_with_its_collector_promise_and_complaints(api, borrower, collector):
    loan = borrower.loans.get()
    promise = promise_create(loan=loan, amount="500", promise_date=dt.date(2027, 3, 10), actor=collector)
    complaint = complaint_open(borrower=borrower, loan=loan, channel="phone", category="inconvenient_time",
                               description=f"{FULL_NAME} says calls at work", actor=collector)

    body = _ok(api, "/api/v1/loans/L-READ")

    assert {k: body[k] for k in ("loan_ref", "borrower_ref", "status", "principal", "balance", "currency",
                                 "due_date", "days_past_due", "bucket", "assigned_collector")} == {
        "loan_ref": "L-READ", "borrower_ref": "B-READ", "status": "active", "principal": "10000.00",
        "balance": "6000.00", "currency": "CNY", "due_date": "2027-01-15", "days_past_due": 47,
        "bucket": loan.bucket, "assigned_collector": collector.username,
    }
    assert body["promises"] == [{
        "id": promise.pk, "amount": "500.00", "paid_amount": "0.00", "due_date": "2027-03-10", "state": "pending",
        "created_at": _iso(promise.created_at),
    }]
    assert body["plan"] is None
    [summary] = body["complaints"]
    assert (summary["reference"], summary["category"], summary["state"]) == (
        complaint.reference, "inconvenient_time", complaint.state)
    assert summary["ack_due_at"] == _iso(complaint.ack_due_at)
    assert summary["resolve_due_at"] == _iso(complaint.resolve_due_at)
    _assert_no_personal_data(body)
    event = AuditEvent.objects.get(action=AuditAction.API_READ)
    assert event.data == {"resource": "loan", "loan_ref": "L-READ"}


def test_a_loan_shows_its_open_plan_with_the_installments(api, borrower, collector):
    loan = borrower.loans.get()
    schedule = [(dt.date(2027, 3, 10), Decimal("2000")), (dt.date(2027, 4, 10), Decimal("2000")),
                (dt.date(2027, 5, 10), Decimal("2000"))]
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule, actor=collector)

    body = _ok(api, "/api/v1/loans/L-READ")

    assert body["plan"]["id"] == plan.pk
    assert (body["plan"]["kind"], body["plan"]["state"], body["plan"]["agreed_total"]) == (
        "installments", plan.state, "6000.00")
    assert [(i["number"], i["due_date"], i["amount"], i["state"]) for i in body["plan"]["installments"]] == [
        (1, "2027-03-10", "2000.00", "pending"), (2, "2027-04-10", "2000.00", "pending"),
        (3, "2027-05-10", "2000.00", "pending"),
    ]


def test_an_unassigned_paid_loan_reads_as_such(api, borrower):
    f.LoanFactory(loan_ref="L-PAID", borrower=borrower, status="paid", balance=Decimal("0"))
    body = _ok(api, "/api/v1/loans/L-PAID")
    assert (body["status"], body["days_past_due"], body["assigned_collector"]) == ("paid", 0, None)


# Queries of a loan read, whatever its promises, installments and complaints:
LOAN_READ_QUERIES = [
    "collections_app_apitoken",  # the token, its user and the user's role groups
    "collections_app_loan",  # the loan with its borrower's reference and its collector's username
    "collections_app_promise",  # the pending promises
    "collections_app_repaymentplan",  # the open plan
    "collections_app_installment",  # its installments
    "collections_app_complaint",  # the open complaints of the loan and of the borrower
    "INSERT audit_app_auditevent",  # the read on the audit trail
]


@pytest.mark.parametrize("n", [1, 12])
def test_a_loan_read_takes_the_same_queries_whatever_its_size(api, borrower, collector, n):
    loan = borrower.loans.get()
    promise_create(loan=loan, amount="500", promise_date=dt.date(2027, 3, 10), actor=collector)
    schedule = [(dt.date(2027, 3, 10) + dt.timedelta(days=30 * i), Decimal("6000") / n) for i in range(n)]
    # Twelve installments are beyond a collector's limits: the plan waits for approval, open all the same.
    plan_propose(loan=loan, kind="installments", schedule=schedule, actor=collector, reason="paid monthly")
    for _i in range(n):
        complaint_open(borrower=borrower, loan=loan, channel="phone", category="other", description="calls",
                       actor=collector)
    _ok(api, "/api/v1/loans/L-READ")  # the token's last use recorded (once a minute)
    with CaptureQueriesContext(connection) as queries:
        body = _ok(api, "/api/v1/loans/L-READ")
    assert (len(body["plan"]["installments"]), len(body["complaints"])) == (n, n)
    assert tables(queries) == LOAN_READ_QUERIES


def test_an_unknown_loan_is_a_404(api, borrower):
    response = _get(api, "/api/v1/loans/L-NOBODY")
    assert response.status_code == 404
    assert response.json() == {"detail": [{"field": "loan_ref", "message": "No such loan."}]}


# --- GET /contactable -------------------------------------------------------------------------------------------


def _check(api, loan_ref, phone, channel="call"):
    response = api.post("/api/v1/contact-checks", json.dumps(
        {"loan_ref": loan_ref, "phone": phone, "channel": channel}), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_contactable_list_gives_each_number_the_pre_checks_decision(api, borrower):
    body = _ok(api, "/api/v1/contactable", channel="call", at=MORNING.isoformat())

    assert body["channel"] == "call"
    assert body["next_cursor"] is None
    rows = {r["phone"]: r for r in body["results"]}
    assert set(rows) == {"+86 138****8000", "+86 139****5678", "+86 186****5678"}
    assert rows["+86 138****8000"]["decision"]["allowed"] is True
    assert [r["code"] for r in rows["+86 139****5678"]["decision"]["reasons"]] == ["NO_CONSENT"]
    assert rows["+86 186****5678"]["owner"] == "third_party"
    for number, masked in ((CONSENTED, "+86 138****8000"), (UNCONSENTED, "+86 139****5678"),
                           (THIRD_PARTY, "+86 186****5678")):
        assert rows[masked]["decision"] == _check(api, "L-READ", number)
        assert (rows[masked]["loan_ref"], rows[masked]["borrower_ref"], rows[masked]["error"]) == (
            "L-READ", "B-READ", None)
    _assert_no_personal_data(body)


def test_the_contactable_list_judges_the_instant_and_channel_asked(api, borrower):
    night = dt.datetime(2027, 3, 3, 23, 0, tzinfo=SHANGHAI)
    body = _ok(api, "/api/v1/contactable", channel="call", at=night.isoformat())
    consented = next(r for r in body["results"] if r["phone"] == "+86 138****8000")
    assert [r["code"] for r in consented["decision"]["reasons"]] == ["OUTSIDE_CONTACT_HOURS"]
    sms = _ok(api, "/api/v1/contactable", channel="sms", at=MORNING.isoformat())
    consented = next(r for r in sms["results"] if r["phone"] == "+86 138****8000")
    assert "NO_CONSENT" in [r["code"] for r in consented["decision"]["reasons"]]  # consent covers calls only


def test_only_active_collectible_loans_are_listed(api, borrower, collector):
    f.LoanFactory(loan_ref="L-PAID", borrower=borrower, status="paid", balance=Decimal("0"))
    f.LoanFactory(loan_ref="L-NOT-DUE", borrower=borrower, due_date=dt.date(2027, 4, 1))
    body = _ok(api, "/api/v1/contactable", channel="call")
    assert {r["loan_ref"] for r in body["results"]} == {"L-READ"}


def test_the_contactable_list_narrows_to_a_collectors_loans(api, borrower, collector, other_collector):
    theirs = f.LoanFactory(loan_ref="L-THEIRS", assigned_collector=other_collector, due_date=dt.date(2027, 1, 1))
    f.PhoneNumberFactory(borrower=theirs.borrower, e164=f.cn_mobile(7))
    mine = _ok(api, "/api/v1/contactable", channel="call", collector=collector.username)
    assert {r["loan_ref"] for r in mine["results"]} == {"L-READ"}
    other = _ok(api, "/api/v1/contactable", channel="call", collector=other_collector.username)
    assert {r["loan_ref"] for r in other["results"]} == {"L-THEIRS"}
    response = _get(api, "/api/v1/contactable", channel="call", collector="nobody")
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "collector"


def _portfolio(n):
    """`n` overdue CN loans, each with a consented number and an unconsented one."""
    for i in range(n):
        loan = f.LoanFactory(loan_ref=f"L-P{i:04d}", due_date=dt.date(2027, 1, 15))
        phone = f.PhoneNumberFactory(borrower=loan.borrower, e164=f.cn_mobile(1000 + 2 * i))
        f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=60))
        f.PhoneNumberFactory(borrower=loan.borrower, e164=f.cn_mobile(1001 + 2 * i))
        ContactAttempt.objects.create(
            loan=loan, phone=phone, borrower=loan.borrower, channel="call", outcome="no_answer",
            started_at=MORNING - dt.timedelta(days=1), compliant=True,
        )


def test_the_contactable_pages_cover_every_pair_exactly_once(api, clock):
    _portfolio(7)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"channel": "call", "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = _ok(api, "/api/v1/contactable", **params)
        seen += [(r["loan_ref"], r["phone_id"]) for r in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 5  # 14 pairs, 3 a page
    assert len(seen) == len(set(seen)) == 14
    assert seen == sorted(seen)


@pytest.mark.parametrize("cursor", ["x", "WzEsMl0:bad", "WzEsMl0"])
def test_a_tampered_cursor_is_a_422(api, clock, cursor):
    _portfolio(2)
    response = _get(api, "/api/v1/contactable", channel="call", cursor=cursor)
    assert response.status_code == 422
    assert response.json() == {"detail": [{"field": "cursor", "message": "Not a valid cursor."}]}


def test_a_cursor_is_signed_and_bound_to_its_list(api, clock):
    _portfolio(2)
    cursor = _ok(api, "/api/v1/contactable", channel="call", limit=1)["next_cursor"]
    value, _sep, signature = cursor.rpartition(":")
    forged = value[:-1] + ("A" if value[-1] != "A" else "B") + ":" + signature
    assert _get(api, "/api/v1/contactable", channel="call", cursor=forged).status_code == 422
    response = _get(api, "/api/v1/contact-attempts", since=cursor)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "since"


def test_a_page_larger_than_the_limit_is_refused(api, clock):
    response = _get(api, "/api/v1/contactable", channel="call", limit=501)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "limit"
    assert _get(api, "/api/v1/contactable", channel="fax").status_code == 422
    assert _get(api, "/api/v1/contactable", channel="call", at="2027-03-03T10:00:00").status_code == 422


def test_a_contactable_page_is_one_audit_event_listing_ids_never_numbers(api, borrower, integration_user):
    body = _ok(api, "/api/v1/contactable", channel="call")
    event = AuditEvent.objects.get(action=AuditAction.CONTACT_BATCH_CHECKED)
    assert event.actor_id == integration_user.pk
    assert event.data["source"] == "api.contactable"
    assert [(c["loan_id"], c["phone_id"], c["allowed"]) for c in event.data["checks"]] == [
        (borrower.loans.get().pk, r["phone_id"], r["decision"]["allowed"]) for r in body["results"]
    ]
    _assert_no_personal_data(event.data)


# Queries of one page of the contactable list, whatever its size:
CONTACTABLE_QUERIES = [
    "collections_app_apitoken",  # the token, its user and the user's role groups
    "collections_app_loan",  # the page's (loan, number) pairs with the policy generation
    "consent_app_consent",  # one UNION ALL: consents, restrictions, inconvenient times, attempts
    "INSERT audit_app_auditevent",  # the page's decisions on the compliance record
]


@pytest.mark.parametrize("n", [1, 60])
def test_a_contactable_page_takes_four_queries_whatever_its_size(api, clock, n):
    _portfolio(n)
    # The token's last use recorded (once a minute), the policy versions loaded into the process.
    _ok(api, "/api/v1/contactable", channel="call", limit=1)
    with CaptureQueriesContext(connection) as queries:
        body = _ok(api, "/api/v1/contactable", channel="call", limit=500)
    assert len(body["results"]) == 2 * n
    assert all(r["decision"] is not None for r in body["results"])
    assert tables(queries) == CONTACTABLE_QUERIES


# --- GET /contact-attempts --------------------------------------------------------------------------------------


_EXTERNAL_IDS = itertools.count()


def _attempts(borrower, n):
    loan = borrower.loans.get()
    phone = borrower.phones.filter(third_party__isnull=True).order_by("id").first()  # the consented number
    return [
        ContactAttempt.objects.create(
            loan=loan, phone=phone, borrower=borrower, channel="call", outcome="no_answer", source="dialer",
            started_at=MORNING - dt.timedelta(hours=n - i), ended_at=MORNING - dt.timedelta(hours=n - i, seconds=-30),
            compliant=i % 2 == 0, external_id=f"dialer-{next(_EXTERNAL_IDS)}",
            reasons=[] if i % 2 == 0 else [{"code": "OUTSIDE_CONTACT_HOURS", "rule": "CBA", "until": None}],
        )
        for i in range(n)
    ]


def test_the_attempt_feed_lists_attempts_in_id_order_with_masked_numbers(api, borrower):
    first, second = _attempts(borrower, 2)
    body = _ok(api, "/api/v1/contact-attempts")
    assert [a["id"] for a in body["results"]] == [first.pk, second.pk]
    assert body["results"][1] == {
        "id": second.pk, "external_id": second.external_id, "loan_ref": "L-READ", "phone_id": second.phone_id,
        "phone": "+86 138****8000", "channel": "call", "direction": "outbound", "source": "dialer",
        "outcome": "no_answer", "party": None, "started_at": _iso(second.started_at),
        "ended_at": _iso(second.ended_at), "duration_s": None, "compliant": False,
        "reasons": [{"code": "OUTSIDE_CONTACT_HOURS", "rule": "CBA", "until": None}],
    }
    assert body["has_more"] is False
    _assert_no_personal_data(body)
    event = AuditEvent.objects.get(action=AuditAction.API_READ)
    assert event.data == {"resource": "contact_attempts", "attempt_ids": [first.pk, second.pk]}


def test_the_attempt_feed_pages_cover_every_attempt_exactly_once_and_then_wait(api, borrower):
    created = _attempts(borrower, 7)
    seen, since = [], None
    while True:
        body = _ok(api, "/api/v1/contact-attempts", limit=3, **({"since": since} if since else {}))
        seen += [a["id"] for a in body["results"]]
        since = body["next_cursor"]
        if not body["has_more"]:
            break
    assert seen == [a.pk for a in created]
    # Polling again with the last cursor: nothing new, the same cursor back; then a new attempt, and only it.
    empty = _ok(api, "/api/v1/contact-attempts", since=since)
    assert (empty["results"], empty["next_cursor"], empty["has_more"]) == ([], since, False)
    [new] = _attempts(borrower, 1)
    assert [a["id"] for a in _ok(api, "/api/v1/contact-attempts", since=since)["results"]] == [new.pk]


def test_a_tampered_attempt_cursor_is_a_422(api, borrower):
    _attempts(borrower, 2)
    since = _ok(api, "/api/v1/contact-attempts", limit=1)["next_cursor"]
    response = _get(api, "/api/v1/contact-attempts", since=since + "0")
    assert response.status_code == 422
    assert response.json() == {"detail": [{"field": "since", "message": "Not a valid cursor."}]}


ATTEMPT_FEED_QUERIES = [
    "collections_app_apitoken",  # the token, its user and the user's role groups
    "collections_app_contactattempt",  # the page with the loans' references and the numbers
    "INSERT audit_app_auditevent",  # the read on the audit trail
]


@pytest.mark.parametrize("n", [1, 40])
def test_an_attempt_page_takes_three_queries_whatever_its_size(api, borrower, n):
    _attempts(borrower, n)
    _ok(api, "/api/v1/contact-attempts", limit=1)  # the token's last use recorded (once a minute)
    with CaptureQueriesContext(connection) as queries:
        body = _ok(api, "/api/v1/contact-attempts", limit=500)
    assert len(body["results"]) == n
    assert tables(queries) == ATTEMPT_FEED_QUERIES


# --- Every read -------------------------------------------------------------------------------------------------

READS = [
    ("/api/v1/borrowers/B-READ", {}),
    ("/api/v1/loans/L-READ", {}),
    ("/api/v1/contactable", {"channel": "call"}),
    ("/api/v1/contact-attempts", {}),
]


@pytest.mark.parametrize(("url", "params"), READS)
def test_a_token_whose_user_left_the_integration_group_is_refused(api, borrower, integration_user, url, params):
    assert _get(api, url, **params).status_code == 200
    integration_user.groups.remove(Group.objects.get(name=INTEGRATION))
    response = _get(api, url, **params)
    assert response.status_code == 403
    _assert_no_personal_data(response.json())


@pytest.mark.parametrize(("url", "params"), READS)
def test_a_read_without_a_token_is_a_401(client, borrower, url, params):
    response = client.get(url, params)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_the_openapi_document_describes_the_reads(client):
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    for path in ("/api/v1/borrowers/{borrower_ref}", "/api/v1/loans/{loan_ref}", "/api/v1/contactable",
                 "/api/v1/contact-attempts"):
        operation = paths[path]["get"]
        assert {"200", "401", "403", "422"} <= set(operation["responses"])
    contactable = {p["name"]: p for p in paths["/api/v1/contactable"]["get"]["parameters"]}
    assert set(contactable) == {"channel", "at", "collector", "cursor", "limit"}
    assert contactable["channel"]["required"] is True
    assert contactable["limit"]["schema"]["maximum"] == 500
    feed = {p["name"] for p in paths["/api/v1/contact-attempts"]["get"]["parameters"]}
    assert feed == {"since", "limit"}
