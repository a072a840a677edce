"""Loans router of the integration API: the loan system upserts borrowers and loans and reports payments."""


from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from audit_app.models import AuditAction
from audit_app.services import audit_log
from collections_app.api import schemas as s
from collections_app.loans.services import loan_upsert, payment_record
from consent_app.models import Borrower, Consent, PhoneNumber, Restriction, ThirdPartyContact
from consent_app.services import (
    PhoneInput,
    ThirdPartyInput,
    borrower_upsert,
)

from ..api.auth import ApiRequest
from ..api.errors import ApiError
from ..api.lookups import _borrower, _check_geographic, _loan, _money
from ..models import (
    OPEN_COMPLAINT_STATES,
    OPEN_PLAN_STATES,
    Complaint,
    Installment,
    Loan,
    Payment,
    Promise,
    PromiseState,
    RepaymentPlan,
)
from ..permissions import api_borrowers_visible_to, api_loans_visible_to

router = Router()


def _phone_out(phone: PhoneNumber) -> dict[str, Any]:
    return {"id": phone.pk, "masked": phone.masked, "status": phone.status, "kind": phone.kind,
            "zones": list(phone.zones or [])}


def _numbers_out(phones: list[PhoneNumber], third_parties: list[ThirdPartyContact]) -> dict[str, Any]:
    """A borrower's own numbers and their third parties (without names) each with theirs, masked."""
    return {
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


def _borrower_out(borrower: Borrower, created: bool) -> dict[str, Any]:
    phones = list(PhoneNumber.objects.filter(borrower=borrower).order_by("id"))
    third_parties = list(borrower.third_parties.order_by("contact_ref"))
    return {"borrower_ref": borrower.borrower_ref, "created": created, **_numbers_out(phones, third_parties)}


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


# --- Reads ------------------------------------------------------------------------------------------------------


@router.get(
    "/borrowers/{borrower_ref}",
    operation_id="borrower_get",
    response={200: s.BorrowerReadOut, **s.ERRORS},
    tags=["borrowers"],
    summary="A borrower's numbers (masked), consents, restrictions in force and third parties (without names)",
)
def borrower_get(request: ApiRequest, borrower_ref: s.Ref) -> Status:
    """Never a name, a national id or a full number. The read is one `api.read` event in the audit trail naming
    the borrower and the numbers and contacts shown, by id and reference."""
    borrower = (
        api_borrowers_visible_to(request.auth).filter(borrower_ref=borrower_ref)
        .only("pk", "borrower_ref", "jurisdiction", "timezone").first()
    )
    if borrower is None:
        raise ApiError(404, "borrower_ref", _("No such borrower."))
    now = timezone.now()
    phones = list(
        PhoneNumber.objects.filter(borrower=borrower).order_by("id")
        .only("pk", "third_party_id", "e164", "status", "kind", "zones")
    )
    masked = {p.pk: p.masked for p in phones}
    third_parties = list(
        ThirdPartyContact.objects.filter(borrower=borrower).order_by("contact_ref")
        .only("pk", "contact_ref", "relation", "authorized")
    )
    consents = list(
        Consent.objects.filter(phone__borrower=borrower).order_by("-granted_at", "-id")
        .only("pk", "phone_id", "allows_call", "allows_sms", "basis", "granted_at", "expires_at", "withdrawn_at")
    )
    restrictions = list(
        Restriction.objects.in_force(now).filter(borrower=borrower).order_by("starts_at", "id")
        .values_list("pk", "loan__loan_ref", "kind", "starts_at", "ends_at")
    )
    loan_refs = list(Loan.objects.filter(borrower=borrower).order_by("loan_ref").values_list("loan_ref", flat=True))
    audit_log(
        action=AuditAction.API_READ, subject=borrower, actor=request.auth,
        data={"resource": "borrower", "borrower_ref": borrower.borrower_ref, "phone_ids": sorted(masked),
              "contact_refs": [tp.contact_ref for tp in third_parties]},
    )
    return Status(200, {
        "borrower_ref": borrower.borrower_ref,
        "jurisdiction": borrower.jurisdiction,
        "timezone": borrower.timezone,
        "loan_refs": loan_refs,
        "consents": [
            {"id": c.pk, "phone_id": c.phone_id, "phone": masked[c.phone_id], "channels": c.channels,
             "basis": c.basis, "granted_at": c.granted_at, "expires_at": c.expires_at,
             "withdrawn_at": c.withdrawn_at, "state": c.state_at(now)}
            for c in consents
        ],
        "restrictions": [
            {"id": pk, "loan_ref": loan_ref, "kind": kind, "starts_at": starts_at, "ends_at": ends_at}
            for pk, loan_ref, kind, starts_at, ends_at in restrictions
        ],
        **_numbers_out(phones, third_parties),
    })


@router.get(
    "/loans/{loan_ref}",
    operation_id="loan_get",
    response={200: s.LoanReadOut, **s.ERRORS},
    tags=["loans"],
    summary="A loan's status, balance, days past due, bucket, collector, open promises, plan and complaints",
)
def loan_get(request: ApiRequest, loan_ref: s.Ref) -> Status:
    """Days past due and the bucket as the desk shows them today. The read is one `api.read` event in the audit
    trail naming the loan."""
    loan = (
        api_loans_visible_to(request.auth).filter(loan_ref=loan_ref)
        .select_related("borrower", "assigned_collector")
        .only("pk", "loan_ref", "borrower_id", "borrower__borrower_ref", "principal", "balance", "currency",
              "due_date", "status", "assigned_collector__username")
        .first()
    )
    if loan is None:
        raise ApiError(404, "loan_ref", _("No such loan."))
    currency = loan.currency
    promises = list(
        Promise.objects.filter(loan=loan, state=PromiseState.PENDING).order_by("due_date", "id")
        .only("pk", "amount", "paid_amount", "due_date", "state", "created_at")
    )
    plan = (
        RepaymentPlan.objects.filter(loan=loan, state__in=OPEN_PLAN_STATES)
        .only("pk", "kind", "state", "agreed_total", "discount_percent", "created_at", "activated_at")
        .prefetch_related(Prefetch("installments", queryset=Installment.objects.order_by("number").only(
            "pk", "plan_id", "number", "due_date", "amount", "paid_amount", "state", "paid_at")))
        .first()
    )
    complaints = list(
        Complaint.objects.filter(Q(loan=loan) | Q(loan__isnull=True, borrower_id=loan.borrower_id))
        .filter(state__in=OPEN_COMPLAINT_STATES).order_by("received_at", "id")
        .values_list("pk", "category", "state", "received_at", "ack_due_at", "resolve_due_at", "acknowledged_at")
    )
    audit_log(
        action=AuditAction.API_READ, subject=loan, actor=request.auth,
        data={"resource": "loan", "loan_ref": loan.loan_ref},
    )
    collector = loan.assigned_collector
    return Status(200, {
        "loan_ref": loan.loan_ref, "borrower_ref": loan.borrower.borrower_ref, "status": loan.status,
        "principal": _money(loan.principal, currency), "balance": _money(loan.balance, currency),
        "currency": currency, "due_date": loan.due_date, "days_past_due": loan.dpd, "bucket": loan.bucket,
        "assigned_collector": collector.get_username() if collector is not None else None,
        "promises": [
            {"id": p.pk, "amount": _money(p.amount, currency), "paid_amount": _money(p.paid_amount, currency),
             "due_date": p.due_date, "state": p.state, "created_at": p.created_at}
            for p in promises
        ],
        "plan": None if plan is None else {
            "id": plan.pk, "kind": plan.kind, "state": plan.state,
            "agreed_total": _money(plan.agreed_total, currency), "discount_percent": str(plan.discount_percent),
            "created_at": plan.created_at, "activated_at": plan.activated_at,
            "installments": [
                {"number": i.number, "due_date": i.due_date, "amount": _money(i.amount, currency),
                 "paid_amount": _money(i.paid_amount, currency), "state": i.state, "paid_at": i.paid_at}
                for i in plan.installments.all()
            ],
        },
        "complaints": [
            {"reference": Complaint(pk=pk).reference, "category": category, "state": state,
             "received_at": received_at, "ack_due_at": ack_due_at, "resolve_due_at": resolve_due_at,
             "acknowledged_at": acknowledged_at}
            for pk, category, state, received_at, ack_due_at, resolve_due_at, acknowledged_at in complaints
        ],
    })
