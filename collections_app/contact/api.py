"""Contact router of the integration API: consents, restrictions, the dialer's pre-check and its attempt reports."""


from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status
from pydantic import ValidationError as PydanticValidationError

from collections_app.api import schemas as s
from collections_app.contact.checks import CheckRequest, LoanNotFound
from collections_app.contact.selectors import decision_as_dict
from collections_app.contact.services import attempt_record, contact_check_batch, contact_check_by_ref
from collections_app.loans.services import collector_by_username
from consent_app.models import Consent, Restriction
from consent_app.services import (
    consent_grant,
    consent_withdraw,
    restriction_lift,
    restriction_place,
)

from ..api.auth import ApiRequest
from ..api.errors import ApiError, item_error
from ..api.lookups import _borrower, _loan, _phone_of
from ..models import ContactAttempt

router = Router()


def _consent_out(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.pk, "borrower_ref": consent.phone.borrower.borrower_ref, "phone": consent.phone.masked,
        "channels": consent.channels, "basis": consent.basis, "granted_at": consent.granted_at,
        "expires_at": consent.expires_at, "withdrawn_at": consent.withdrawn_at,
    }


def _restriction_out(restriction: Restriction) -> dict[str, Any]:
    # The free-text reason is not echoed: it may name people or numbers.
    return {
        "id": restriction.pk, "borrower_ref": restriction.borrower.borrower_ref,
        "loan_ref": restriction.loan.loan_ref if restriction.loan is not None else None, "kind": restriction.kind,
        "starts_at": restriction.starts_at, "ends_at": restriction.ends_at, "lifted_at": restriction.lifted_at,
        "active": restriction.is_active(),
    }


def _attempt_out(attempt: ContactAttempt) -> dict[str, Any]:
    return {
        "id": attempt.pk, "external_id": attempt.external_id, "compliant": attempt.compliant,
        "reasons": [{"code": r["code"], "rule": r.get("rule", ""), "until": r.get("until")} for r in attempt.reasons],
    }


@router.post(
    "/consents",
    operation_id="consent_create",
    response={201: s.ConsentOut, **s.ERRORS},
    tags=["consents"],
    summary="Record a borrower's consent to be contacted on one of their numbers",
)
def consent_post(request: ApiRequest, payload: s.ConsentIn) -> Status:
    with transaction.atomic():
        borrower = _borrower(payload.borrower_ref)
        phone = _phone_of(borrower, payload.phone)
        consent = consent_grant(
            phone=phone, channels=list(payload.channels), basis=payload.basis, evidence_ref=payload.evidence_ref,
            granted_at=payload.granted_at, expires_at=payload.expires_at, actor=request.auth,
        )
        return Status(201, _consent_out(consent))


@router.post(
    "/consents/{consent_id}/withdraw",
    operation_id="consent_withdraw",
    response={200: s.ConsentOut, **s.ERRORS},
    tags=["consents"],
    summary="Withdraw a consent (idempotent: a withdrawn consent keeps its first withdrawal time)",
)
def consent_withdraw_post(request: ApiRequest, consent_id: int, payload: s.ConsentWithdrawIn) -> Status:
    with transaction.atomic():
        consent = Consent.objects.select_related("phone__borrower").filter(pk=consent_id).first()
        if consent is None:
            raise ApiError(404, "consent_id", _("No such consent."))
        consent = consent_withdraw(
            consent=consent, via=payload.via, withdrawn_at=payload.withdrawn_at, actor=request.auth
        )
        return Status(200, _consent_out(consent))


@router.post(
    "/restrictions",
    operation_id="restriction_create",
    response={201: s.RestrictionOut, **s.ERRORS},
    tags=["restrictions"],
    summary="Place a restriction (cease, attorney, dispute, hold, ...) on a borrower or one loan",
)
def restriction_post(request: ApiRequest, payload: s.RestrictionIn) -> Status:
    with transaction.atomic():
        borrower = _borrower(payload.borrower_ref)
        loan = _loan(payload.loan_ref) if payload.loan_ref else None
        restriction = restriction_place(
            borrower=borrower, loan=loan, kind=payload.kind, starts_at=payload.starts_at, ends_at=payload.ends_at,
            reason=payload.reason, actor=request.auth,
        )
        return Status(201, _restriction_out(restriction))


@router.post(
    "/restrictions/{restriction_id}/lift",
    operation_id="restriction_lift",
    response={200: s.RestrictionOut, **s.ERRORS},
    tags=["restrictions"],
    summary="Lift a restriction (idempotent; kept for the record)",
)
def restriction_lift_post(
    request: ApiRequest, restriction_id: int, payload: s.RestrictionLiftIn | None = None
) -> Status:
    with transaction.atomic():
        restriction = Restriction.objects.select_related("borrower", "loan").filter(pk=restriction_id).first()
        if restriction is None:
            raise ApiError(404, "restriction_id", _("No such restriction."))
        restriction = restriction_lift(
            restriction=restriction, reason=payload.reason if payload else "", actor=request.auth
        )
        return Status(200, _restriction_out(restriction))


@router.post(
    "/contact-checks",
    operation_id="contact_check",
    response={200: s.ContactCheckOut, **s.ERRORS},
    tags=["contact"],
    summary="May this number be contacted about this loan on this channel now (or at `at`)?",
)
def contact_check_post(request: ApiRequest, payload: s.ContactCheckIn) -> Status:
    check = CheckRequest(payload.loan_ref, payload.phone, payload.channel, payload.at or timezone.now())
    decision = contact_check_by_ref(check=check, actor=request.auth)
    return Status(200, decision_as_dict(decision))


@router.post(
    "/contact-checks/batch",
    operation_id="contact_check_batch",
    response={200: s.ContactCheckBatchOut, **s.ERRORS},
    tags=["contact"],
    summary="Up to 1,000 pre-checks at once: one decision or error per item, in the same order",
)
def contact_check_batch_post(request: ApiRequest, payload: s.ContactCheckBatchIn) -> Status:
    """Items without a time are judged at one instant, the batch's."""
    now = timezone.now()
    results: list[dict[str, Any]] = [{} for _item in payload.items]
    checks = []
    for i, raw in enumerate(payload.items):
        try:
            item = s.ContactCheckIn.model_validate(raw)
        except PydanticValidationError as exc:
            results[i] = {"decision": None, "error": item_error(exc)}
            continue
        checks.append(CheckRequest(item.loan_ref, item.phone, item.channel, item.at or now, item=i))
    for result in contact_check_batch(checks=checks, actor=request.auth):
        results[result.check.item] = (
            {"decision": decision_as_dict(result.decision), "error": None} if result.decision is not None
            else {"decision": None, "error": item_error(result.error or LoanNotFound())}
        )
    return Status(200, {"results": results})


@router.post(
    "/contact-attempts",
    operation_id="contact_attempt_create",
    response={200: s.ContactAttemptOut, 201: s.ContactAttemptOut, **s.ERRORS},
    tags=["contact"],
    summary="Report a contact the dialer made (idempotent by external_id)",
)
def contact_attempt_post(request: ApiRequest, payload: s.ContactAttemptIn) -> Status:
    """A contact that broke the policy is still recorded, flagged `compliant: false` with its reasons."""
    with transaction.atomic():
        loan = _loan(payload.loan_ref)
        existing = ContactAttempt.objects.filter(external_id=payload.external_id).first()
        if existing is not None and existing.loan_id != loan.pk:
            raise ApiError(409, "external_id", _("This attempt id was already used for another loan."))
        phone = _phone_of(loan.borrower, payload.phone)
        collector = collector_by_username(payload.collector) if payload.collector else None
        attempt, created = attempt_record(
            external_id=payload.external_id, loan=loan, phone=phone, channel=payload.channel,
            direction=payload.direction, started_at=payload.started_at, outcome=payload.outcome,
            party=payload.party or "", opt_out=payload.opt_out, collector=collector,
            duration_s=payload.duration_s, recording_ref=payload.recording_ref, actor=request.auth,
        )
        return Status(201 if created else 200, _attempt_out(attempt))
