"""The integration API, v1 (DESIGN.md "Integration API"): the loan system, the dialer and the SMS gateway.

Views parse, authorize (bearer token of an Integration user), call services and render. Every write endpoint
runs in one transaction, so a failure in a later step rolls back the earlier ones, and passes the token's user
as the actor, so the audit trail names the integration. Errors share one body,
`{"detail": [{"field": "phones[1].number", "message": "..."}]}`, and never echo the personal data they are
about (no numbers, names or ids).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import NinjaAPI, Status
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.models import Borrower, Consent, PhoneNumber, Restriction
from consent_app.phones import blind_index, parse_number
from consent_app.services import (
    PhoneInput,
    ThirdPartyInput,
    borrower_upsert,
    consent_grant,
    consent_withdraw,
    restriction_lift,
    restriction_place,
)

from . import api_schemas as s
from .models import CURRENCY_DECIMALS, ApiToken, ContactAttempt, Loan, Payment
from .permissions import is_integration
from .selectors import PolicyMissing, decision_as_dict
from .services import attempt_record, collector_by_username, contact_check, loan_upsert, payment_record

# --- Tokens -----------------------------------------------------------------------------------------------------

TOKEN_PREFIX_LENGTH = 8
# last_used_at is informative (which tokens are still in use): one write a minute per token is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: Any, name: str = "", actor: Any = None) -> tuple[ApiToken, str]:
    """Create a bearer token for an Integration user. Returns (row, token): the token itself is stored nowhere
    (only its SHA-256), so the caller must show it now or never."""
    if not is_integration(user):
        raise DjangoValidationError({"username": _("API tokens are only for users in the Integration group.")})
    if len(name) > 100:
        raise DjangoValidationError({"name": _("At most 100 characters.")})
    token = secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user, name=name, prefix=token[:TOKEN_PREFIX_LENGTH], token_hash=hash_token(token)
    )
    audit_log(
        action=AuditAction.API_TOKEN_CREATED, subject=row, actor=actor,
        data={"user_id": user.pk, "username": user.get_username(), "name": name},
    )
    return row, token


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if not token or len(token) > 256:
            return None
        # Looking up by the hash is the constant-time comparison: the secret itself is never compared.
        row = (
            ApiToken.objects.select_related("user")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True)
            .first()
        )
        if row is None or not row.user.is_active:
            return None
        if not is_integration(row.user):
            raise AuthorizationError(message=_("This token's user is not in the Integration group."))
        now = timezone.now()
        if row.last_used_at is None or row.last_used_at < now - LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=row.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
            ).update(last_used_at=now)
        # simple_history reads request.user: history rows then name the integration, as the audit events do.
        request.user = row.user
        request.api_token = row  # type: ignore[attr-defined]
        return row.user


class DecimalJsonParser(Parser):
    """JSON numbers become Decimal, never float: 100.005 must stay three decimals (and be refused)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_float=Decimal)


class _Encoder(NinjaJSONEncoder):
    def default(self, o: Any) -> Any:
        # Full precision and an explicit offset ("+00:00"), the same form as the decision's timestamps
        # (DjangoJSONEncoder would cut microseconds and write "Z").
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


class _Renderer(JSONRenderer):
    encoder_class = _Encoder


api = NinjaAPI(
    title="Collector Desk integration API",
    version="1",
    description="For the loan system, the dialer and the SMS gateway. See docs/api.md.",
    auth=ApiTokenAuth(),
    parser=DecimalJsonParser(),
    renderer=_Renderer(),
    urls_namespace="api-v1",
)


# --- Errors -----------------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A 4xx with one field and one message (unknown reference, conflict)."""

    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


def _error_response(request: HttpRequest, status: int, items: list[dict[str, Any]]) -> HttpResponse:
    return api.create_response(request, {"detail": items}, status=status)


def _field_from_loc(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """("body", "payload", "phones", 1, "number") -> "phones[1].number"; ("path", "loan_ref") -> "loan_ref"."""
    parts = list(loc)
    if parts and parts[0] in ("body", "path", "query"):
        source = parts.pop(0)
        if source == "body" and parts and parts[0] == "payload":
            parts.pop(0)
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


_PYDANTIC_MESSAGES = {
    "missing": gettext_noop("This field is required."),
    "extra_forbidden": gettext_noop("Unknown field."),
    "timezone_aware": gettext_noop("An ISO 8601 timestamp with a time zone offset is required."),
    "string_pattern_mismatch": gettext_noop(
        "Use 1 to 64 letters, digits and . _ : - (starting with a letter or digit)."
    ),
}


def _on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    # Built from the error type and pydantic's message only: ninja already dropped the input, never echo it.
    items = []
    for error in exc.errors:
        known = _PYDANTIC_MESSAGES.get(error.get("type", ""))
        message = _(known) if known else str(error.get("msg") or "Invalid value.").removeprefix("Value error, ")
        message = message[:1].upper() + message[1:]
        items.append({"field": _field_from_loc(error.get("loc", ())), "message": message})
    return _error_response(request, 422, items)


def _safe_message(error: DjangoValidationError) -> str:
    # Django's own field messages may interpolate the submitted value ("Value 'x' is not a valid choice."):
    # render those generically, since the value may be personal data.
    params = error.params or {}
    if "value" in params:
        return _("Invalid value.")
    return str(error.message % params if params else error.message)


def _on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    items: list[dict[str, Any]] = []
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                items.append({"field": None if field == "__all__" else field, "message": _safe_message(error)})
    else:
        items = [{"field": None, "message": _safe_message(error)} for error in exc.error_list]
    return _error_response(request, 422, items)


def _on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error_response(request, exc.status, [{"field": exc.field, "message": exc.message}])


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        response = _error_response(request, 401, [{"field": None, "message": _("A valid bearer token is required.")}])
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    field = "body" if exc.status_code == 400 else None
    return _error_response(request, exc.status_code, [{"field": field, "message": str(exc)}])


def _on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error_response(request, 404, [{"field": None, "message": _("Not found.")}])


def _on_policy_missing(request: HttpRequest, exc: PolicyMissing) -> HttpResponse:
    # The server lacks a policy for that jurisdiction and instant: not the client's input, hence 409.
    return _error_response(request, 409, [{"field": None, "message": str(exc)}])


def _on_integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # Two requests raced to create the same record (same ref or external id): the other one won. Retrying
    # returns the record it wrote.
    return _error_response(
        request, 409, [{"field": None, "message": _("A concurrent request wrote the same record; retry.")}]
    )


def _on_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    return _error_response(request, 422, [{"field": None, "message": _("A value is out of range.")}])


api.add_exception_handler(NinjaValidationError, _on_schema_error)
api.add_exception_handler(DjangoValidationError, _on_django_validation_error)
api.add_exception_handler(ApiError, _on_api_error)
api.add_exception_handler(HttpError, _on_http_error)
api.add_exception_handler(Http404, _on_404)
api.add_exception_handler(PolicyMissing, _on_policy_missing)
api.add_exception_handler(IntegrityError, _on_integrity_error)
api.add_exception_handler(DataError, _on_data_error)


# --- Lookups ----------------------------------------------------------------------------------------------------


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


# --- Renderers --------------------------------------------------------------------------------------------------


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
        "loan_ref": restriction.loan.loan_ref if restriction.loan_id else None, "kind": restriction.kind,
        "starts_at": restriction.starts_at, "ends_at": restriction.ends_at, "lifted_at": restriction.lifted_at,
        "active": restriction.is_active(),
    }


def _payment_out(payment: Payment) -> dict[str, Any]:
    loan = payment.loan
    return {
        "id": payment.pk, "external_id": payment.external_id, "loan_ref": loan.loan_ref,
        "amount": _money(payment.amount, loan.currency), "paid_at": payment.paid_at,
        "loan_balance": _money(loan.balance, loan.currency), "loan_status": loan.status,
    }


def _attempt_out(attempt: ContactAttempt) -> dict[str, Any]:
    return {
        "id": attempt.pk, "external_id": attempt.external_id, "compliant": attempt.compliant,
        "reasons": [{"code": r["code"], "rule": r.get("rule", ""), "until": r.get("until")} for r in attempt.reasons],
    }


# --- Endpoints --------------------------------------------------------------------------------------------------


@api.put(
    "/borrowers/{borrower_ref}",
    operation_id="borrower_put",
    response={200: s.BorrowerOut, 201: s.BorrowerOut, **s.ERRORS},
    tags=["borrowers"],
    summary="Create or update a borrower with their numbers and third-party contacts",
)
def borrower_put(request: HttpRequest, borrower_ref: s.Ref, payload: s.BorrowerIn) -> Status:
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


@api.put(
    "/loans/{loan_ref}",
    operation_id="loan_put",
    response={200: s.LoanOut, 201: s.LoanOut, **s.ERRORS},
    tags=["loans"],
    summary="Create or update a loan",
)
def loan_put(request: HttpRequest, loan_ref: s.Ref, payload: s.LoanIn) -> Status:
    with transaction.atomic():
        borrower = _borrower(payload.borrower_ref)
        loan, created = loan_upsert(
            loan_ref=loan_ref, borrower=borrower, principal=payload.principal, balance=payload.balance,
            currency=payload.currency, due_date=payload.due_date, status=payload.status, actor=request.auth,
            reason="api",
        )
        return Status(201 if created else 200, _loan_out(loan, created))


@api.post(
    "/consents",
    operation_id="consent_create",
    response={201: s.ConsentOut, **s.ERRORS},
    tags=["consents"],
    summary="Record a borrower's consent to be contacted on one of their numbers",
)
def consent_post(request: HttpRequest, payload: s.ConsentIn) -> Status:
    with transaction.atomic():
        borrower = _borrower(payload.borrower_ref)
        phone = _phone_of(borrower, payload.phone)
        consent = consent_grant(
            phone=phone, channels=payload.channels, basis=payload.basis, evidence_ref=payload.evidence_ref,
            granted_at=payload.granted_at, expires_at=payload.expires_at, actor=request.auth,
        )
        return Status(201, _consent_out(consent))


@api.post(
    "/consents/{consent_id}/withdraw",
    operation_id="consent_withdraw",
    response={200: s.ConsentOut, **s.ERRORS},
    tags=["consents"],
    summary="Withdraw a consent (idempotent: a withdrawn consent keeps its first withdrawal time)",
)
def consent_withdraw_post(request: HttpRequest, consent_id: int, payload: s.ConsentWithdrawIn) -> Status:
    with transaction.atomic():
        consent = Consent.objects.select_related("phone__borrower").filter(pk=consent_id).first()
        if consent is None:
            raise ApiError(404, "consent_id", _("No such consent."))
        consent = consent_withdraw(
            consent=consent, via=payload.via, withdrawn_at=payload.withdrawn_at, actor=request.auth
        )
        return Status(200, _consent_out(consent))


@api.post(
    "/restrictions",
    operation_id="restriction_create",
    response={201: s.RestrictionOut, **s.ERRORS},
    tags=["restrictions"],
    summary="Place a restriction (cease, attorney, dispute, hold, ...) on a borrower or one loan",
)
def restriction_post(request: HttpRequest, payload: s.RestrictionIn) -> Status:
    with transaction.atomic():
        borrower = _borrower(payload.borrower_ref)
        loan = _loan(payload.loan_ref) if payload.loan_ref else None
        restriction = restriction_place(
            borrower=borrower, loan=loan, kind=payload.kind, starts_at=payload.starts_at, ends_at=payload.ends_at,
            reason=payload.reason, actor=request.auth,
        )
        return Status(201, _restriction_out(restriction))


@api.post(
    "/restrictions/{restriction_id}/lift",
    operation_id="restriction_lift",
    response={200: s.RestrictionOut, **s.ERRORS},
    tags=["restrictions"],
    summary="Lift a restriction (idempotent; kept for the record)",
)
def restriction_lift_post(
    request: HttpRequest, restriction_id: int, payload: s.RestrictionLiftIn | None = None
) -> Status:
    with transaction.atomic():
        restriction = Restriction.objects.select_related("borrower", "loan").filter(pk=restriction_id).first()
        if restriction is None:
            raise ApiError(404, "restriction_id", _("No such restriction."))
        restriction = restriction_lift(
            restriction=restriction, reason=payload.reason if payload else "", actor=request.auth
        )
        return Status(200, _restriction_out(restriction))


@api.post(
    "/payments",
    operation_id="payment_create",
    response={200: s.PaymentOut, 201: s.PaymentOut, **s.ERRORS},
    tags=["payments"],
    summary="Record a payment (idempotent by external_id)",
)
def payment_post(request: HttpRequest, payload: s.PaymentIn) -> Status:
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


@api.post(
    "/contact-checks",
    operation_id="contact_check",
    response={200: s.ContactCheckOut, **s.ERRORS},
    tags=["contact"],
    summary="May this number be contacted about this loan on this channel now (or at `at`)?",
)
def contact_check_post(request: HttpRequest, payload: s.ContactCheckIn) -> Status:
    with transaction.atomic():
        loan = _loan(payload.loan_ref)
        phone = _phone_of(loan.borrower, payload.phone)
        at = payload.at or timezone.now()
        decision = contact_check(loan=loan, phone=phone, channel=payload.channel, at=at)
        body = decision_as_dict(decision)
        # The dialer's pre-check is part of the compliance record: who asked, about what, and the verdict.
        audit_log(
            action=AuditAction.CONTACT_CHECKED, subject=loan, actor=request.auth,
            data={"loan_ref": loan.loan_ref, "phone_id": phone.pk, "channel": payload.channel, "at": at,
                  "allowed": decision.allowed, "reasons": [r["code"] for r in body["reasons"]], "source": "api"},
        )
        return Status(200, body)


@api.post(
    "/contact-attempts",
    operation_id="contact_attempt_create",
    response={200: s.ContactAttemptOut, 201: s.ContactAttemptOut, **s.ERRORS},
    tags=["contact"],
    summary="Report a contact the dialer made (idempotent by external_id)",
)
def contact_attempt_post(request: HttpRequest, payload: s.ContactAttemptIn) -> Status:
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


# Complaint intake (issue area "complaints") lives with its area; mounted here so it shares auth and errors.
from .complaints.api import router as complaints_router  # noqa: E402

api.add_router("/complaints", complaints_router)
