"""Bad input on the loans side: negative zero amounts (API, importer's parser), two third parties sharing one
reference, zones that are not places (API), and a collector id beyond the database's range in the loan admin."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit_app.models import AuditEvent
from collections_app.amounts import parse_amount
from collections_app.api.auth import api_token_create
from collections_app.models import Loan
from consent_app.models import Borrower, ThirdPartyContact
from tests import factories as f

pytestmark = pytest.mark.django_db

MOBILE = "+8613800138000"
SISTER = "+8618612345678"


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def _put_borrower(api, ref="B-100", **overrides):
    body = {"full_name": "Wang Fang", "timezone": "Asia/Shanghai", "jurisdiction": "CN",
            "phones": [{"number": MOBILE}], **overrides}
    return api.put(f"/api/v1/borrowers/{ref}", body, content_type="application/json")


def _details(response):
    return [(item["field"], item["message"]) for item in response.json()["detail"]]


# --- Amounts ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-0", "-0.00", Decimal("-0"), Decimal("-0E+2"), "-0.01"])
def test_a_negative_zero_is_refused_like_a_negative_amount(value):
    with pytest.raises(ValidationError) as exc:
        parse_amount(value, currency="CNY", field_name="balance")
    assert exc.value.message_dict == {"balance": ["The amount must be positive."]}


@pytest.mark.parametrize("value", ["0", "0.00", Decimal("0")])
def test_zero_is_still_an_amount_where_zero_is_allowed(value):
    assert parse_amount(value, currency="CNY", field_name="balance") == 0


@pytest.mark.parametrize("balance", ["-0", "-0.00", -0.0])
def test_the_api_refuses_a_negative_zero_balance(api, balance):
    assert _put_borrower(api).status_code == 201
    response = api.put("/api/v1/loans/L-100", {
        "borrower_ref": "B-100", "principal": "10000.00", "balance": balance, "currency": "CNY",
        "due_date": "2027-01-15", "status": "active",
    }, content_type="application/json")
    assert response.status_code == 422
    assert _details(response) == [("balance", "The amount must be positive.")]
    assert not Loan.objects.exists()


# --- Third parties ----------------------------------------------------------------------------------------------


def test_two_third_parties_with_one_reference_are_refused_not_merged(api):
    response = _put_borrower(api, third_parties=[
        {"contact_ref": "C-1", "name": "Wang Li", "relation": "sibling", "phones": [{"number": SISTER}]},
        {"contact_ref": "C-1", "name": "Zhang Wei", "relation": "friend", "phones": []},
    ])
    assert response.status_code == 422
    assert _details(response) == [("third_parties[1].contact_ref", "Another third party has this reference.")]
    assert "Zhang Wei" not in response.content.decode()
    assert not Borrower.objects.exists() and not ThirdPartyContact.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="borrower").exists()


def test_two_third_parties_with_their_own_references_are_kept(api):
    response = _put_borrower(api, third_parties=[
        {"contact_ref": "C-1", "name": "Wang Li", "relation": "sibling", "phones": []},
        {"contact_ref": "C-2", "name": "Zhang Wei", "relation": "friend", "phones": []},
    ])
    assert response.status_code == 201
    assert set(ThirdPartyContact.objects.values_list("contact_ref", flat=True)) == {"C-1", "C-2"}


# --- Zones ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "stored"), [
    ("US/Eastern", "America/New_York"), ("PRC", "Asia/Shanghai"), ("Asia/Calcutta", "Asia/Kolkata"),
    ("America/New_York", "America/New_York"), ("", ""),
])
def test_the_api_stores_a_legacy_zone_name_as_its_zone(api, sent, stored):
    assert _put_borrower(api, timezone=sent, jurisdiction="US", phones=[]).status_code == 201
    assert Borrower.objects.get().timezone == stored


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "Etc/GMT+5", "GMT", "EST5EDT", "EST", "Factory", "localtime"])
def test_the_api_refuses_a_zone_that_is_not_a_place(api, zone):
    response = _put_borrower(api, timezone=zone)
    assert response.status_code == 422
    assert _details(response) == [
        ("timezone", "Not the time zone of a place: use an IANA name such as Asia/Shanghai.")]
    assert not Borrower.objects.exists()


def test_an_unknown_zone_is_refused_without_repeating_it(api):
    response = _put_borrower(api, timezone="Mars/Olympus_Mons")
    assert _details(response) == [("timezone", "Unknown time zone: use an IANA name such as Asia/Shanghai.")]


# --- Loan admin -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["99999999999999999999", "9223372036854775808"])
def test_the_loan_admin_filters_a_collector_id_beyond_the_range_to_nothing(client, compliance, collector, value):
    f.LoanFactory(assigned_collector=collector)
    client.force_login(compliance)
    response = client.get(reverse("admin:collections_app_loan_changelist"), {"collector": value})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    mine = client.get(reverse("admin:collections_app_loan_changelist"), {"collector": str(collector.pk)})
    assert mine.context["cl"].result_count == 1
