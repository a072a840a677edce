"""Integration API: borrowers (with numbers and third parties) and loans, upserted by reference."""

import pytest

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import api_token_create
from collections_app.models import Loan
from consent_app.models import Borrower, PhoneNumber, ThirdPartyContact
from tests import factories as f

pytestmark = pytest.mark.django_db

MOBILE = "+8613800138000"
MOBILE_2 = "+8613912345678"
SISTER = "+8618612345678"
NATIONAL_ID = "110101199003074578"


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def _borrower_body(**overrides):
    body = {
        "full_name": "Wang Fang",
        "national_id": NATIONAL_ID,
        "timezone": "Asia/Shanghai",
        "jurisdiction": "CN",
        "phones": [{"number": MOBILE}, {"number": "139 1234 5678", "kind": "mobile"}],
    }
    return {**body, **overrides}


def _put_borrower(api, ref="B-100", **overrides):
    return api.put(f"/api/v1/borrowers/{ref}", _borrower_body(**overrides), content_type="application/json")


def _put_loan(api, ref="L-100", **overrides):
    body = {"borrower_ref": "B-100", "principal": "10000.00", "balance": "6000.00", "currency": "CNY",
            "due_date": "2027-01-15", "status": "active", **overrides}
    return api.put(f"/api/v1/loans/{ref}", body, content_type="application/json")


def _fields(response):
    return [item["field"] for item in response.json()["detail"]]


# --- Borrowers --------------------------------------------------------------------------------------------------


def test_a_new_borrower_is_created_with_masked_numbers(api):
    response = _put_borrower(api)
    assert response.status_code == 201
    body = response.json()
    assert body["borrower_ref"] == "B-100"
    assert body["created"] is True
    assert [p["masked"] for p in body["phones"]] == ["+86 138****8000", "+86 139****5678"]
    assert body["phones"][0]["status"] == "active"
    assert body["phones"][0]["kind"] == "mobile"
    assert body["phones"][0]["zones"] == ["Asia/Shanghai"]
    assert body["third_parties"] == []
    borrower = Borrower.objects.get(borrower_ref="B-100")
    assert borrower.full_name == "Wang Fang"
    assert borrower.national_id == NATIONAL_ID
    assert sorted(p.e164 for p in borrower.phones.all()) == [MOBILE, MOBILE_2]


def test_the_response_never_echoes_numbers_names_or_national_ids(api):
    text = _put_borrower(api).content.decode()
    for secret in (MOBILE, "13800138000", MOBILE_2, "Wang Fang", NATIONAL_ID):
        assert secret not in text


def test_putting_the_same_borrower_again_updates_it_without_duplicating_numbers(api):
    _put_borrower(api)
    response = _put_borrower(api, full_name="Wang Fang-Li", phones=[{"number": "0086 138 0013 8000"}])
    assert response.status_code == 200
    assert response.json()["created"] is False
    assert len(response.json()["phones"]) == 2  # numbers are added, never removed
    assert Borrower.objects.get().full_name == "Wang Fang-Li"
    assert PhoneNumber.objects.count() == 2


def test_third_parties_are_saved_with_their_numbers(api):
    response = _put_borrower(api, third_parties=[{
        "contact_ref": "C-1", "name": "Wang Min", "relation": "sibling", "authorized": True,
        "phones": [{"number": SISTER}],
    }])
    assert response.status_code == 201
    (tp,) = response.json()["third_parties"]
    assert tp["contact_ref"] == "C-1"
    assert tp["relation"] == "sibling"
    assert tp["authorized"] is True
    assert [p["masked"] for p in tp["phones"]] == ["+86 186****5678"]
    assert "Wang Min" not in response.content.decode()
    assert len(response.json()["phones"]) == 2  # the borrower's own numbers only
    contact = ThirdPartyContact.objects.get()
    assert contact.phones.get().e164 == SISTER


def test_the_write_is_audited_with_the_integration_user_as_actor(api, integration_user):
    _put_borrower(api)
    events = AuditEvent.objects.filter(action__in=[AuditAction.BORROWER_CREATED, AuditAction.PHONE_ADDED])
    assert events.count() == 3
    assert {e.actor_id for e in events} == {integration_user.pk}
    assert Borrower.objects.get().history.first().history_user == integration_user


def test_a_bad_number_is_422_naming_the_field_without_echoing_it(api):
    response = _put_borrower(api, phones=[{"number": "12345"}])
    assert response.status_code == 422
    assert _fields(response) == ["phones[0].number"]
    assert "12345" not in response.content.decode()


def test_a_good_first_number_and_a_bad_second_one_write_nothing(api):
    response = _put_borrower(api, phones=[{"number": MOBILE}, {"number": "+86 138 0013"}])
    assert response.status_code == 422
    assert _fields(response) == ["phones[1].number"]
    assert not Borrower.objects.exists()
    assert not PhoneNumber.objects.exists()
    assert not AuditEvent.objects.exclude(action=AuditAction.API_TOKEN_CREATED).exists()


def test_a_bad_third_party_number_rolls_back_the_borrower_and_its_numbers(api):
    response = _put_borrower(api, third_parties=[{
        "contact_ref": "C-1", "name": "Wang Min", "relation": "sibling", "phones": [{"number": "999"}],
    }])
    assert response.status_code == 422
    assert _fields(response) == ["third_parties[0].phones[0].number"]
    assert not Borrower.objects.exists()
    assert not PhoneNumber.objects.exists()


def test_a_failed_update_leaves_the_borrower_as_it_was(api):
    _put_borrower(api)
    response = _put_borrower(api, full_name="Changed", phones=[{"number": "+8615012345678"}, {"number": "1"}])
    assert response.status_code == 422
    assert Borrower.objects.get().full_name == "Wang Fang"
    assert PhoneNumber.objects.count() == 2


def test_an_unknown_zone_is_422(api):
    response = _put_borrower(api, timezone="Asia/Atlantis")
    assert response.status_code == 422
    assert _fields(response) == ["timezone"]


def test_an_unknown_jurisdiction_is_422(api):
    response = _put_borrower(api, jurisdiction="FR")
    assert response.status_code == 422
    assert _fields(response) == ["jurisdiction"]


def test_an_unknown_relation_is_422_naming_the_nested_field(api):
    response = _put_borrower(api, third_parties=[{
        "contact_ref": "C-1", "name": "X", "relation": "neighbour", "phones": [],
    }])
    assert response.status_code == 422
    assert _fields(response) == ["third_parties[0].relation"]


def test_a_number_without_a_country_is_422(api):
    response = _put_borrower(api, phones=[{"number": "+800 1234 5678"}])
    assert response.status_code == 422
    assert _fields(response) == ["phones[0].number"]
    assert not Borrower.objects.exists()


def test_a_number_recorded_for_a_third_party_cannot_be_the_borrowers(api):
    _put_borrower(api, third_parties=[{
        "contact_ref": "C-1", "name": "Wang Min", "relation": "sibling", "phones": [{"number": SISTER}],
    }])
    response = _put_borrower(api, phones=[{"number": SISTER}])
    assert response.status_code == 422
    assert _fields(response) == ["phones[0].number"]


def test_a_nul_character_is_422(api):
    response = _put_borrower(api, full_name="Wang\x00Fang")
    assert response.status_code == 422
    assert _fields(response) == ["full_name"]


# --- Loans ------------------------------------------------------------------------------------------------------


def test_a_loan_is_created_then_updated(api, integration_user):
    _put_borrower(api)
    response = _put_loan(api, principal=10000, balance="6000")
    assert response.status_code == 201
    assert response.json() == {
        "loan_ref": "L-100", "borrower_ref": "B-100", "created": True, "principal": "10000.00",
        "balance": "6000.00", "currency": "CNY", "due_date": "2027-01-15", "status": "active",
    }
    response = _put_loan(api, balance=5999.5)
    assert response.status_code == 200
    assert response.json()["created"] is False
    assert response.json()["balance"] == "5999.50"
    loan = Loan.objects.get()
    assert str(loan.balance) == "5999.50"
    assert set(AuditEvent.objects.filter(subject_type="collections_app.loan").values_list("actor_id", flat=True)) == {
        integration_user.pk
    }


def test_putting_an_unchanged_loan_is_200(api):
    _put_borrower(api)
    _put_loan(api)
    response = _put_loan(api)
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.LOAN_UPDATED).count() == 0


@pytest.mark.parametrize("amount", ["100.005", 100.005])
def test_an_amount_with_three_decimals_is_422(api, amount):
    _put_borrower(api)
    response = _put_loan(api, principal=amount)
    assert response.status_code == 422
    assert _fields(response) == ["principal"]
    assert not Loan.objects.exists()


@pytest.mark.parametrize(("field", "value"), [
    ("currency", "EUR"), ("status", "lost"), ("due_date", "15/01/2027"), ("due_date", "9999-12-31"),
    ("balance", "-1"), ("balance", "abc"),
])
def test_bad_loan_fields_are_422(api, field, value):
    _put_borrower(api)
    response = _put_loan(api, **{field: value})
    assert response.status_code == 422
    assert _fields(response) == [field]


def test_a_loan_of_an_unknown_borrower_is_404(api):
    response = _put_loan(api, borrower_ref="B-NOPE")
    assert response.status_code == 404
    assert _fields(response) == ["borrower_ref"]
    assert "B-NOPE" not in response.content.decode()


def test_a_loan_cannot_move_to_another_borrower(api):
    _put_borrower(api)
    f.BorrowerFactory(borrower_ref="B-200")
    _put_loan(api)
    response = _put_loan(api, borrower_ref="B-200")
    assert response.status_code == 422
    assert _fields(response) == ["borrower_ref"]
    assert Loan.objects.get().borrower.borrower_ref == "B-100"
