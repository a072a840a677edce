"""Contact router of the integration API: consents, restrictions, the dialer's pre-check and its attempt reports."""


from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from pydantic import ValidationError as PydanticValidationError

from audit_app.models import AuditAction
from audit_app.services import audit_log
from collections_app.api import schemas as s
from collections_app.api.cursors import cursor_decode, cursor_encode
from collections_app.contact.checks import CheckRequest, LoanNotFound
from collections_app.contact.scrub import contact_scrub
from collections_app.contact.selectors import decision_as_dict
from collections_app.contact.services import attempt_record, contact_check_batch, contact_check_by_ref
from collections_app.loans.services import collector_by_username
from consent_app.models import Consent, Restriction
from consent_app.phones import mask
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
from ..permissions import api_attempts_visible_to

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


def _stored_reasons(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"code": r["code"], "rule": r.get("rule", ""), "until": r.get("until")} for r in reasons]


def _attempt_out(attempt: ContactAttempt) -> dict[str, Any]:
    return {
        "id": attempt.pk, "external_id": attempt.external_id, "compliant": attempt.compliant,
        "reasons": _stored_reasons(attempt.reasons),
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


# --- Reads ------------------------------------------------------------------------------------------------------


@router.get(
    "/contactable",
    operation_id="contactable_list",
    response={200: s.ContactableOut, **s.ERRORS},
    tags=["contact"],
    summary="The dialer's list scrub: every number of the active loans, each with its pre-check decision at `at`",
)
def contactable_get(
    request: ApiRequest,
    channel: s.ChannelCode,
    at: s.Timestamp | None = None,
    collector: str | None = Query(None, min_length=1, max_length=150, description="A collector's username."),
    cursor: str | None = Query(None, max_length=200, description="`next_cursor` of the previous page."),
    limit: int = Query(s.PAGE_DEFAULT, ge=1, le=s.PAGE_LIMIT),
) -> Status:
    """Pairs of (loan, number) in a stable order, paginated. Each decision is the one `POST /contact-checks` would
    answer for that loan, number, channel and instant; a page costs the same queries whatever its size."""
    at = at or timezone.now()
    after = cursor_decode("contactable", cursor, field="cursor", length=2) if cursor is not None else None
    assigned = collector_by_username(collector) if collector is not None else None
    results, more = contact_scrub(
        channel=channel, at=at, actor=request.auth, collector=assigned,
        after=(after[0], after[1]) if after else None, limit=limit,
    )
    last = results[-1].row.target if results else None
    return Status(200, {
        "channel": channel, "at": at,
        "results": [
            {"loan_ref": r.row.loan_ref, "borrower_ref": r.row.borrower_ref, "phone_id": r.row.target.number.number_id,
             "phone": r.row.masked, "owner": r.row.target.number.owner.value,
             "decision": decision_as_dict(r.decision) if r.decision is not None else None,
             "error": item_error(r.error) if r.error is not None else None}
            for r in results
        ],
        "next_cursor": cursor_encode("contactable", (last.loan.pk, last.number.number_id))
        if more and last is not None else None,
    })


_ATTEMPT_FIELDS = (
    "pk", "external_id", "loan__loan_ref", "phone_id", "phone__e164", "channel", "direction", "source", "outcome",
    "party", "started_at", "ended_at", "duration_s", "compliant", "reasons",
)


@router.get(
    "/contact-attempts",
    operation_id="contact_attempt_list",
    response={200: s.ContactAttemptsOut, **s.ERRORS},
    tags=["contact"],
    summary="Contact attempts (desk and dialer) in the order they were recorded, after a cursor",
)
def contact_attempts_get(
    request: ApiRequest,
    since: str | None = Query(None, max_length=200, description="`next_cursor` of the previous answer."),
    limit: int = Query(s.PAGE_DEFAULT, ge=1, le=s.PAGE_LIMIT),
) -> Status:
    """A feed for systems that poll: keep the last `next_cursor` and ask again with it. Numbers masked. One
    `api.read` event in the audit trail per answer, naming the attempts by id."""
    after = cursor_decode("contact-attempts", since, field="since", length=1)[0] if since is not None else 0
    rows = list(
        api_attempts_visible_to(request.auth).filter(pk__gt=after).order_by("pk")
        .values_list(*_ATTEMPT_FIELDS)[: limit + 1]
    )
    page = rows[:limit]
    results = [
        {"id": pk, "external_id": external_id, "loan_ref": loan_ref, "phone_id": phone_id, "phone": mask(e164),
         "channel": channel, "direction": direction, "source": source, "outcome": outcome or None,
         "party": party or None, "started_at": started_at, "ended_at": ended_at, "duration_s": duration_s,
         "compliant": compliant, "reasons": _stored_reasons(reasons)}
        for (pk, external_id, loan_ref, phone_id, e164, channel, direction, source, outcome, party, started_at,
             ended_at, duration_s, compliant, reasons) in page
    ]
    if results:
        audit_log(
            action=AuditAction.API_READ, actor=request.auth,
            data={"resource": "contact_attempts", "attempt_ids": [r["id"] for r in results]},
        )
    last = results[-1]["id"] if results else after
    return Status(200, {
        "results": results, "next_cursor": cursor_encode("contact-attempts", (last,)), "has_more": len(rows) > limit,
    })
