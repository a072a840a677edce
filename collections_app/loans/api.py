"""Loans router of the integration API: the loan system upserts borrowers and loans and reports payments."""


from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Router, Status

from collections_app.api import schemas as s
from collections_app.loans.services import loan_upsert, payment_record
from consent_app.models import Borrower, PhoneNumber
from consent_app.services import (
    PhoneInput,
    ThirdPartyInput,
    borrower_upsert,
)

from ..api.auth import ApiRequest
from ..api.errors import ApiError
from ..api.lookups import _borrower, _check_geographic, _loan, _money
from ..models import Loan, Payment

router = Router()


def _phone_out(phone: PhoneNumber) -> dict[str, Any]:
    return {"id": phone.pk, "masked": phone.masked, "status": phone.status, "kind": phone.kind,
            "zones": list(phone.zones or [])}


def _borrower_out(borrower: Borrower, created: bool) -> dict[str, Any]:
    phones = list(PhoneNumber.objects.filter(borrower=borrower).order_by("id"))
    third_parties = list(borrower.third_parties.order_by("contact_ref"))
    return {
        "borrower_ref": borrower.borrower_ref,
        "created": created,
        "phones": [_phone_out(p) for p in phones if p.third_party_id is None],
        "third_parties": [
            {
                "contact_ref": tp.contact_ref,
                "relation": tp.relation,
                "authorized": tp.authorized,
                "phones": [_phone_out(p) for p in phones if p.third_party_id == tp.pk],
            }
            for tp in third_parties
        ],
    }


def _loan_out(loan: Loan, created: bool) -> dict[str, Any]:
    return {
        "loan_ref": loan.loan_ref, "borrower_ref": loan.borrower.borrower_ref, "created": created,
        "principal": _money(loan.principal, loan.currency), "balance": _money(loan.balance, loan.currency),
        "currency": loan.currency, "due_date": loan.due_date, "status": loan.status,
    }


def _payment_out(payment: Payment) -> dict[str, Any]:
    loan = payment.loan
    return {
        "id": payment.pk, "external_id": payment.external_id, "loan_ref": loan.loan_ref,
        "amount": _money(payment.amount, loan.currency), "paid_at": payment.paid_at,
        "loan_balance": _money(loan.balance, loan.currency), "loan_status": loan.status,
    }


@router.put(
    "/borrowers/{borrower_ref}",
    operation_id="borrower_put",
    response={200: s.BorrowerOut, 201: s.BorrowerOut, **s.ERRORS},
    tags=["borrowers"],
    summary="Create or update a borrower with their numbers and third-party contacts",
)
def borrower_put(request: ApiRequest, borrower_ref: s.Ref, payload: s.BorrowerIn) -> Status:
    """Numbers are added, never removed (a number no longer used is marked, not deleted). Omitted optional
    fields (national_id, timezone) are cleared: PUT replaces. Omitted `third_parties` leaves them as they are."""
    jurisdiction_region = {"CN": "CN", "US": "US", "UK": "GB"}[payload.jurisdiction]
    _check_geographic(payload.phones, jurisdiction_region, "")
    for i, tp in enumerate(payload.third_parties or ()):
        _check_geographic(tp.phones, jurisdiction_region, f"third_parties[{i}].")
    with transaction.atomic():
        borrower, created = borrower_upsert(
            borrower_ref=borrower_ref,
            full_name=payload.full_name,
            national_id=payload.national_id,
            timezone_name=payload.timezone,
            jurisdiction=payload.jurisdiction,
            phones=[PhoneInput(number=p.number, region=p.region, kind=p.kind) for p in payload.phones],
            third_parties=None if payload.third_parties is None else [
                ThirdPartyInput(
                    contact_ref=tp.contact_ref, name=tp.name, relation=tp.relation, authorized=tp.authorized,
                    authorization_evidence=tp.authorization_evidence,
                    phones=tuple(PhoneInput(number=p.number, region=p.region, kind=p.kind) for p in tp.phones),
                )
                for tp in payload.third_parties
            ],
            actor=request.auth,
            reason="api",
        )
        return Status(201 if created else 200, _borrower_out(borrower, created))


@router.put(
    "/loans/{loan_ref}",
    operation_id="loan_put",
    response={200: s.LoanOut, 201: s.LoanOut, **s.ERRORS},
    tags=["loans"],
    summary="Create or update a loan",
)
def loan_put(request: ApiRequest, loan_ref: s.Ref, payload: s.LoanIn) -> Status:
    with transaction.atomic():
        borrower = _borrower(payload.borrower_ref)
        loan, created = loan_upsert(
            loan_ref=loan_ref, borrower=borrower, principal=payload.principal, balance=payload.balance,
            currency=payload.currency, due_date=payload.due_date, status=payload.status, actor=request.auth,
            reason="api",
        )
        return Status(201 if created else 200, _loan_out(loan, created))


@router.post(
    "/payments",
    operation_id="payment_create",
    response={200: s.PaymentOut, 201: s.PaymentOut, **s.ERRORS},
    tags=["payments"],
    summary="Record a payment (idempotent by external_id)",
)
def payment_post(request: ApiRequest, payload: s.PaymentIn) -> Status:
    with transaction.atomic():
        loan = _loan(payload.loan_ref)
        existing = Payment.objects.select_related("loan").filter(external_id=payload.external_id).first()
        if existing is not None and (
            existing.loan_id != loan.pk or existing.amount != payload.amount or existing.paid_at != payload.paid_at
        ):
            # payment_record returns the first payment for a repeat on the same loan whatever the amount; an id
            # reused for a different payment is a conflict the loan system must see.
            raise ApiError(409, "external_id", _("This payment id was already used for a different payment."))
        payment, created = payment_record(
            external_id=payload.external_id, loan=loan, amount=payload.amount, paid_at=payload.paid_at,
            actor=request.auth,
        )
        payment.loan.refresh_from_db(fields=["balance", "status"])
        return Status(201 if created else 200, _payment_out(payment))
