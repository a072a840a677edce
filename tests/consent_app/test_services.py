"""Service validation: bad input is refused with a ValidationError keyed by field, never echoing the personal data,
and changes nothing (borrower_upsert, phone_add, loan_upsert, payment_record)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit_app.models import AuditEvent
from collections_app.loans.services import loan_upsert, payment_record
from collections_app.models import Loan, Payment
from consent_app.models import Borrower, PhoneNumber
from consent_app.services import PhoneInput, borrower_upsert, phone_add
from tests import factories as f

pytestmark = pytest.mark.django_db


def _errors(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc.value.message_dict


def _upsert(actor, **overrides):
    data = {"borrower_ref": "B-SVC-1", "full_name": "Zhang San", "jurisdiction": "CN", "actor": actor}
    return borrower_upsert(**(data | overrides))


# --- Borrowers and numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["12345", "+86 123", "not a number", "+1 000 000 0000"])
def test_an_invalid_number_is_refused_and_nothing_is_saved(compliance, typed):
    with pytest.raises(ValidationError) as exc:
        _upsert(compliance, phones=[PhoneInput(number=typed)])
    errors = _errors(exc)
    assert list(errors) == ["phones[0].number"]
    assert typed not in " ".join(errors["phones[0].number"])
    assert not Borrower.objects.filter(borrower_ref="B-SVC-1").exists()
    assert not AuditEvent.objects.exists()


def test_an_unknown_time_zone_is_refused(compliance):
    with pytest.raises(ValidationError) as exc:
        _upsert(compliance, timezone_name="Mars/Olympus")
    assert list(_errors(exc)) == ["timezone"]
    assert not Borrower.objects.exists()


def test_an_unknown_jurisdiction_is_refused(compliance):
    with pytest.raises(ValidationError) as exc:
        _upsert(compliance, jurisdiction="FR")
    assert list(_errors(exc)) == ["jurisdiction"]


def test_a_malformed_borrower_ref_is_refused(compliance):
    with pytest.raises(ValidationError) as exc:
        _upsert(compliance, borrower_ref="bad ref!")
    assert "borrower_ref" in _errors(exc)


def test_the_same_borrower_ref_updates_instead_of_duplicating(compliance):
    first, created = _upsert(compliance, phones=[PhoneInput(number="13800138000")])
    again, created_again = _upsert(compliance, phones=[PhoneInput(number="+86 138 0013 8000")])
    assert created and not created_again
    assert again.pk == first.pk
    assert Borrower.objects.count() == 1
    assert PhoneNumber.objects.filter(borrower=first).count() == 1  # same number, other format: not duplicated


def test_a_borrowers_number_cannot_also_be_a_third_partys(compliance):
    borrower, _ = _upsert(compliance, phones=[PhoneInput(number="13800138000")])
    contact = f.ThirdPartyContactFactory(borrower=borrower)
    with pytest.raises(ValidationError) as exc:
        phone_add(borrower=borrower, third_party=contact, phone=PhoneInput(number="0086-138-0013-8000"),
                  actor=compliance)
    assert list(_errors(exc)) == ["phone"]


def test_an_unknown_number_type_is_refused(compliance):
    borrower, _ = _upsert(compliance)
    with pytest.raises(ValidationError) as exc:
        phone_add(borrower=borrower, phone=PhoneInput(number="13800138000", kind="pager"), actor=compliance)
    assert list(_errors(exc)) == ["phone"]


# --- Loans and payments ------------------------------------------------------------------------------------------


def _loan(actor, borrower, **overrides):
    data = {
        "loan_ref": "L-SVC-1", "borrower": borrower, "principal": "1000.00", "balance": "800.00",
        "currency": "CNY", "due_date": timezone.localdate() - dt.timedelta(days=10), "actor": actor,
    }
    return loan_upsert(**(data | overrides))


@pytest.mark.parametrize("field", ["principal", "balance"])
@pytest.mark.parametrize("amount", ["-1", "-0.01", "abc", "NaN", "1.001"])
def test_a_loan_with_a_bad_amount_is_refused(compliance, field, amount):
    borrower = f.BorrowerFactory()
    with pytest.raises(ValidationError) as exc:
        _loan(compliance, borrower, **{field: amount})
    assert list(_errors(exc)) == [field]
    assert not Loan.objects.exists()


def test_a_loan_with_an_unknown_currency_is_refused(compliance):
    with pytest.raises(ValidationError) as exc:
        _loan(compliance, f.BorrowerFactory(), currency="EUR")
    assert list(_errors(exc)) == ["currency"]


def test_a_loan_ref_of_another_borrower_is_refused(compliance):
    loan, _ = _loan(compliance, f.BorrowerFactory())
    with pytest.raises(ValidationError) as exc:
        _loan(compliance, f.BorrowerFactory(), balance="10.00")
    assert list(_errors(exc)) == ["borrower_ref"]
    loan.refresh_from_db()
    assert loan.balance == Decimal("800.00")


def test_a_malformed_loan_ref_is_refused(compliance):
    with pytest.raises(ValidationError) as exc:
        _loan(compliance, f.BorrowerFactory(), loan_ref="no spaces allowed")
    assert "loan_ref" in _errors(exc)


@pytest.mark.parametrize("amount", ["-5", "0", "0.00", "1.999"])
def test_a_payment_with_a_bad_amount_is_refused(compliance, amount):
    loan = f.LoanFactory()
    with pytest.raises(ValidationError) as exc:
        payment_record(external_id="P-SVC-1", loan=loan, amount=amount, paid_at=timezone.now(), actor=compliance)
    assert list(_errors(exc)) == ["amount"]
    assert not Payment.objects.exists()
    loan.refresh_from_db()
    assert loan.balance == Decimal("6000.00")


def test_a_payment_id_used_for_another_loan_is_refused(compliance):
    first, other = f.LoanFactory(), f.LoanFactory()
    payment_record(external_id="P-SVC-1", loan=first, amount="10.00", paid_at=timezone.now(), actor=compliance)
    with pytest.raises(ValidationError) as exc:
        payment_record(external_id="P-SVC-1", loan=other, amount="10.00", paid_at=timezone.now(), actor=compliance)
    assert list(_errors(exc)) == ["external_id"]
    other.refresh_from_db()
    assert other.balance == Decimal("6000.00")


def test_a_repeated_payment_is_recorded_once(compliance):
    loan = f.LoanFactory()
    paid_at = timezone.now()
    _, created = payment_record(external_id="P-SVC-1", loan=loan, amount="10.00", paid_at=paid_at,
                                actor=compliance)
    _, created_again = payment_record(external_id="P-SVC-1", loan=loan, amount="10.00", paid_at=paid_at,
                                      actor=compliance)
    assert created and not created_again
    loan.refresh_from_db()
    assert loan.balance == Decimal("5990.00")


def test_a_payment_id_reused_with_another_amount_is_refused(compliance):
    loan = f.LoanFactory()
    paid_at = timezone.now()
    payment_record(external_id="P-SVC-2", loan=loan, amount="10.00", paid_at=paid_at, actor=compliance)
    with pytest.raises(ValidationError) as exc:
        payment_record(external_id="P-SVC-2", loan=loan, amount="99.00", paid_at=paid_at, actor=compliance)
    assert list(_errors(exc)) == ["external_id"]
    loan.refresh_from_db()
    assert loan.balance == Decimal("5990.00")


def test_a_payment_without_a_time_zone_or_in_the_future_is_refused(compliance):
    loan = f.LoanFactory()
    with pytest.raises(ValidationError) as exc:
        payment_record(external_id="P-1", loan=loan, amount="1", paid_at=dt.datetime(2026, 1, 1), actor=compliance)
    assert list(_errors(exc)) == ["paid_at"]
    with pytest.raises(ValidationError) as exc:
        payment_record(external_id="P-2", loan=loan, amount="1", paid_at=timezone.now() + dt.timedelta(days=1),
                       actor=compliance)
    assert list(_errors(exc)) == ["paid_at"]


def test_saving_an_unchanged_third_party_writes_no_history(compliance):
    from consent_app.models import ThirdPartyContact
    from consent_app.services import ThirdPartyInput, third_party_upsert

    borrower = f.BorrowerFactory()
    data = ThirdPartyInput(contact_ref="C-1", name="联系人", relation="sibling", authorized=True)
    contact = third_party_upsert(borrower=borrower, data=data, actor=compliance)
    third_party_upsert(borrower=borrower, data=data, actor=compliance)
    assert ThirdPartyContact.history.filter(id=contact.pk).count() == 1
