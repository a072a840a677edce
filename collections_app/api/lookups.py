"""Lookups shared by the area routers: references to objects, with the API's 404/422 errors."""


from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _

from collections_app.api import schemas as s
from consent_app.models import Borrower, PhoneNumber
from consent_app.phones import blind_index, parse_number

from ..models import CURRENCY_DECIMALS, Loan
from .errors import ApiError


def _borrower(ref: str, field: str = "borrower_ref") -> Borrower:
    borrower = Borrower.objects.filter(borrower_ref=ref).first()
    if borrower is None:
        raise ApiError(404, field, _("No such borrower."))
    return borrower


def _loan(ref: str, field: str = "loan_ref") -> Loan:
    loan = Loan.objects.select_related("borrower").filter(loan_ref=ref).first()
    if loan is None:
        raise ApiError(404, field, _("No such loan."))
    return loan


def _phone_of(borrower: Borrower, raw: str, field: str = "phone") -> PhoneNumber:
    """One of the borrower's numbers (own or a third party's), found through the blind index."""
    try:
        parsed = parse_number(raw, borrower.region)
    except DjangoValidationError as exc:
        raise DjangoValidationError({field: exc.messages}) from exc
    phone = (
        PhoneNumber.objects.select_related("borrower", "third_party")
        .filter(borrower=borrower, blind_index=blind_index(parsed.e164))
        .first()
    )
    if phone is None:
        raise DjangoValidationError({field: _("Not a number of this borrower.")})
    return phone


def _check_geographic(phones: list[s.PhoneIn], default_region: str, prefix: str) -> None:
    """Refuse non-geographic numbers (+800, +808, ...): they have no region, the policy cannot place them in a
    time zone, and PhoneNumber.region holds a two-letter code only."""
    for i, phone in enumerate(phones):
        try:
            parsed = parse_number(phone.number, phone.region or default_region)
        except DjangoValidationError:
            continue  # the service reports it, with its own message and the same field name
        if len(parsed.region) != 2 or not parsed.region.isalpha():
            raise DjangoValidationError(
                {f"{prefix}phones[{i}].number": _("Numbers without a country are not supported.")}
            )


def _money(value: Decimal, currency: str) -> str:
    return str(Decimal(value).quantize(Decimal(1).scaleb(-CURRENCY_DECIMALS.get(currency, 2))))
