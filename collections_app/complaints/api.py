"""`POST /api/v1/complaints`: the loan system records a complaint the borrower made elsewhere (letter, e-mail,
a regulator's referral, the lender's own call centre).

Mounted on the integration API by `collections_app.api.v1` (`api.add_router("/complaints", router)`), so the API's
bearer authentication, JSON parser and error handlers apply.

`attempt_ids` accepts the dialer's `external_id` (a JSON string) or Collector Desk's attempt id (a JSON integer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import AfterValidator, Field, StrictInt, StringConstraints

from consent_app.models import Borrower

from ..api.auth import ApiRequest
from ..api.errors import ApiError
from ..api.schemas import ERRORS, In, Ref, Timestamp, id_in_range
from ..loans.services import collector_by_username
from ..models import ComplaintSource, ContactAttempt, Loan
from .services import complaint_open

ComplaintChannelCode = Literal["phone", "letter", "email", "in_person", "regulator_referral"]
ComplaintCategoryCode = Literal[
    "contact_frequency", "inconvenient_time", "third_party_disclosure", "threats_abuse", "privacy", "amount_dispute",
    "other",
]
# Django's username characters; the external id of an attempt is any text but NUL (PostgreSQL refuses it).
Username = Annotated[str, StringConstraints(min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]
AttemptKey = Annotated[StrictInt | ExternalId, AfterValidator(id_in_range)]

router = Router(tags=["complaints"])


class ComplaintIn(In):
    borrower_ref: Ref
    loan_ref: Ref | None = None
    channel: ComplaintChannelCode
    category: ComplaintCategoryCode
    description: str = Field(min_length=1, max_length=10_000, description="Personal data: stored encrypted.")
    received_at: Timestamp | None = Field(None, description="Default: now.")
    collectors: list[Username] = Field(default_factory=list, max_length=20, description="Collectors' usernames.")
    attempt_ids: list[AttemptKey] = Field(
        default_factory=list, max_length=200,
        description="Attempts concerned: the dialer's external_id (string) or the attempt id (integer).",
    )


class ComplaintOut(Schema):
    id: int
    reference: str
    state: str
    queue: str
    ack_due_at: datetime
    resolve_due_at: datetime
    hold_placed: bool


def _attempts(keys: list[int | str], borrower_id: int) -> list[ContactAttempt]:
    ids = [k for k in keys if isinstance(k, int)]
    external_ids = [k for k in keys if isinstance(k, str)]
    rows = ContactAttempt.objects.filter(pk__in=ids) | ContactAttempt.objects.filter(external_id__in=external_ids)
    by_id = {a.pk: a for a in rows}
    by_external = {a.external_id: a for a in by_id.values() if a.external_id}
    found = []
    for i, key in enumerate(keys):
        attempt = by_id.get(key) if isinstance(key, int) else by_external.get(key)
        # Another borrower's attempt is reported as unknown: the caller learns nothing about other accounts.
        if attempt is None or attempt.borrower_id != borrower_id:
            raise DjangoValidationError({f"attempt_ids[{i}]": _("No such contact attempt of this borrower.")})
        found.append(attempt)
    return list(dict.fromkeys(found))


@router.post("", response={201: ComplaintOut, **ERRORS}, summary="Record a borrower's complaint", url_name="complaints")
def complaint_post(request: ApiRequest, payload: ComplaintIn) -> Status:
    """Routes the complaint to the reviewing supervisor or compliance, sets its deadlines and, for the categories
    the jurisdiction's settings name, places a collection hold on the borrower (`hold_placed`)."""
    with transaction.atomic():
        borrower = Borrower.objects.filter(borrower_ref=payload.borrower_ref).first()
        if borrower is None:
            raise ApiError(404, "borrower_ref", _("No such borrower."))
        loan = None
        if payload.loan_ref:
            loan = Loan.objects.select_related("assigned_collector").filter(loan_ref=payload.loan_ref).first()
            if loan is None:
                raise ApiError(404, "loan_ref", _("No such loan."))
        collectors = []
        for i, username in enumerate(payload.collectors):
            try:
                collectors.append(collector_by_username(username))
            except DjangoValidationError as exc:
                raise DjangoValidationError({f"collectors[{i}]": exc.messages}) from exc
        complaint = complaint_open(
            borrower=borrower, loan=loan, channel=payload.channel, category=payload.category,
            description=payload.description, received_at=payload.received_at, collectors=collectors,
            attempts=_attempts(payload.attempt_ids, borrower.pk), actor=request.auth, source=ComplaintSource.API,
        )
        return Status(201, {
            "id": complaint.pk, "reference": complaint.reference, "state": complaint.state, "queue": complaint.queue,
            "ack_due_at": complaint.ack_due_at, "resolve_due_at": complaint.resolve_due_at,
            "hold_placed": complaint.hold_restriction_id is not None,
        })
