"""Request and response bodies of the integration API (v1).

Field names are a public contract (dialer and loan-system vendors integrate against them): never rename one,
only add optional fields. Request bodies refuse unknown fields: a misspelt optional field such as `opt_out`
must fail loudly rather than silently drop a borrower's request to stop calls.

Responses never carry a full phone number, a name or a national id: numbers are masked.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    StringConstraints,
    field_validator,
)

from collections_app.contact.checks import BATCH_CHECK_LIMIT
from collections_app.contact.scrub import SCRUB_PAGE_LIMIT
from consent_app.models import FREE_TEXT_MAX_LENGTH
from consent_app.validators import EARLIEST_YEAR, LATEST_YEAR, is_in_range

# Same rule as consent_app.models.ref_validator, checked before any query touches the database.
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"

# The choices below mirror the model choices (tests/collections_app/api/test_api_auth.py keeps them in step);
# Literal types make them enums in the OpenAPI document, which is what the vendors read.
JurisdictionCode = Literal["CN", "US", "UK"]
PhoneKindCode = Literal["mobile", "fixed", "other"]
RelationCode = Literal["spouse", "parent", "sibling", "relative", "friend", "colleague", "employer", "other"]
ChannelCode = Literal["call", "sms"]
ConsentBasisCode = Literal["written", "electronic", "recorded_call"]
WithdrawalChannelCode = Literal["phone", "sms", "letter", "email", "in_person", "app", "opt_out", "api"]
RestrictionKindCode = Literal[
    "cease_communication", "attorney", "dispute", "bankruptcy", "deceased", "complaint_hold", "temporary_hold"
]
CurrencyCode = Literal["CNY", "USD", "GBP"]
LoanStatusCode = Literal["active", "paid", "settled", "closed", "written_off"]
DirectionCode = Literal["outbound", "inbound"]
OutcomeCode = Literal["not_connected", "no_answer", "voicemail", "conversation", "wrong_number"]
PartyCode = Literal["debtor", "third_party"]


def _timestamp_text(value: Any) -> Any:
    # ISO 8601 text only: a bare number would be read as a Unix time, which the contract does not promise.
    if isinstance(value, str | datetime):
        return value
    raise ValueError("an ISO 8601 timestamp with a time zone offset is required")


def _in_range(value: Any) -> Any:
    # The one range of dates and instants (consent_app.validators), checked before any service sees the value.
    if not is_in_range(value):
        raise ValueError(f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


# The largest primary key the database holds (BigAutoField, DEFAULT_AUTO_FIELD: a signed 64-bit integer on
# PostgreSQL and SQLite alike). A larger id cannot name a row, and the database refuses it with an error.
MAX_ID = 2**63 - 1


def id_in_range(value: Any) -> Any:
    """A validator for an id sent in a body (`Annotated[int, AfterValidator(id_in_range)]`): refuse an integer
    outside 1..MAX_ID before any query. The OpenAPI document keeps saying "integer"."""
    if isinstance(value, int) and not 1 <= value <= MAX_ID:
        raise ValueError(f"must be between 1 and {MAX_ID}")
    return value


Ref = Annotated[str, StringConstraints(pattern=REF_PATTERN)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text), AfterValidator(_in_range)]
Day = Annotated[date, AfterValidator(_in_range)]
# A JSON number or a string; the API parses JSON numbers as Decimal (never float), so "100.005" keeps its
# three decimals and is refused rather than rounded.
Amount = Decimal
PhoneText = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class In(Schema):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL: refuse it here instead of failing in the database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


# --- Errors -----------------------------------------------------------------------------------------------------


class ErrorItem(Schema):
    field: str | None = Field(description='The offending field, e.g. "phones[1].number"; null when general.')
    message: str


class ErrorOut(Schema):
    detail: list[ErrorItem]


# Every status an operation can answer besides its success (docs/api.md "Errors"), so the OpenAPI document lists it.
ERRORS: dict[int, Any] = {
    400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut
}


# --- Borrowers --------------------------------------------------------------------------------------------------


class PhoneIn(In):
    number: PhoneText = Field(description="Any common format; +country code or a national number.")
    region: str | None = Field(None, max_length=2, description="ISO 3166 region hint for national numbers (GB).")
    kind: PhoneKindCode | None = None


class ThirdPartyIn(In):
    contact_ref: Ref
    name: str = Field(max_length=200)
    relation: RelationCode
    authorized: bool = False
    authorization_evidence: str = Field("", max_length=200)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)


class BorrowerIn(In):
    full_name: str = Field(max_length=200)
    national_id: str = Field("", max_length=64)
    timezone: str = Field("", max_length=64, description="IANA zone of the borrower's address.")
    jurisdiction: JurisdictionCode
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    third_parties: list[ThirdPartyIn] | None = Field(None, max_length=50)


class PhoneOut(Schema):
    id: int
    masked: str
    status: str
    kind: str
    zones: list[str]


class ThirdPartyOut(Schema):
    contact_ref: str
    relation: str
    authorized: bool
    phones: list[PhoneOut]


class BorrowerOut(Schema):
    borrower_ref: str
    created: bool
    phones: list[PhoneOut]
    third_parties: list[ThirdPartyOut]


# --- Loans ------------------------------------------------------------------------------------------------------


class LoanIn(In):
    borrower_ref: Ref
    principal: Amount
    balance: Amount
    currency: CurrencyCode
    due_date: Day
    status: LoanStatusCode


class LoanOut(Schema):
    loan_ref: str
    borrower_ref: str
    created: bool
    principal: str
    balance: str
    currency: str
    due_date: date
    status: str


# --- Consents ---------------------------------------------------------------------------------------------------


class ConsentIn(In):
    borrower_ref: Ref
    phone: PhoneText = Field(description="One of the borrower's own numbers, in any common format.")
    channels: list[ChannelCode] = Field(min_length=1, max_length=2)
    basis: ConsentBasisCode
    evidence_ref: str = Field(min_length=1, max_length=200)
    granted_at: Timestamp
    expires_at: Timestamp | None = None


class ConsentWithdrawIn(In):
    withdrawn_at: Timestamp | None = None
    via: WithdrawalChannelCode


class ConsentOut(Schema):
    id: int
    borrower_ref: str
    phone: str = Field(description="Masked number.")
    channels: list[str]
    basis: str
    granted_at: datetime
    expires_at: datetime | None
    withdrawn_at: datetime | None


# --- Restrictions -----------------------------------------------------------------------------------------------


class RestrictionIn(In):
    borrower_ref: Ref
    loan_ref: Ref | None = None
    kind: RestrictionKindCode
    starts_at: Timestamp
    ends_at: Timestamp | None = None
    reason: str = Field(min_length=1, max_length=FREE_TEXT_MAX_LENGTH)


class RestrictionLiftIn(In):
    reason: str = Field("", max_length=FREE_TEXT_MAX_LENGTH)


class RestrictionOut(Schema):
    id: int
    borrower_ref: str
    loan_ref: str | None
    kind: str
    starts_at: datetime
    ends_at: datetime | None
    lifted_at: datetime | None
    active: bool


# --- Payments ---------------------------------------------------------------------------------------------------


class PaymentIn(In):
    external_id: Ref
    loan_ref: Ref
    amount: Amount
    paid_at: Timestamp


class PaymentOut(Schema):
    id: int
    external_id: str
    loan_ref: str
    amount: str
    paid_at: datetime
    loan_balance: str
    loan_status: str


# --- Contact checks and attempts --------------------------------------------------------------------------------


class ContactCheckIn(In):
    loan_ref: Ref
    phone: PhoneText
    channel: ChannelCode
    at: Timestamp | None = Field(None, description="The instant to judge; default now.")


class ReasonOut(Schema):
    code: str
    message: str
    rule: str
    until: str | None


class PolicyOut(Schema):
    code: str
    version: int


class ContactCheckOut(Schema):
    allowed: bool
    reasons: list[ReasonOut]
    next_allowed_at: str | None
    local_times: dict[str, str]
    policy: PolicyOut


class ContactCheckBatchIn(In):
    # Each item is checked against ContactCheckIn on its own (contact/api.py), so that one bad item gets its own
    # error instead of failing the batch: the body takes any JSON values there, and the document describes them as
    # ContactCheckIn.
    items: list[SkipValidation[ContactCheckIn]] = Field(
        min_length=1, max_length=BATCH_CHECK_LIMIT,
        description="1 to 1,000 pre-checks, each as the body of POST /contact-checks.",
    )


class ItemErrorOut(ErrorOut):
    status: int = Field(description="What the single pre-check would answer for this item alone: 404 unknown "
                                    "loan, 409 no policy in force, 422 invalid item or number.")


class ContactCheckBatchResultOut(Schema):
    decision: ContactCheckOut | None = Field(description="The decision; null when the item has an error.")
    error: ItemErrorOut | None = Field(description="Why the item has no decision; null when it has one.")


class ContactCheckBatchOut(Schema):
    results: list[ContactCheckBatchResultOut] = Field(description="One per item, in the order of the items.")


class ContactAttemptIn(In):
    external_id: str = Field(min_length=1, max_length=64)
    loan_ref: Ref
    phone: PhoneText
    channel: ChannelCode
    direction: DirectionCode
    started_at: Timestamp
    outcome: OutcomeCode
    party: PartyCode | None = None
    opt_out: bool = False
    collector: str | None = Field(None, max_length=150, description="The collector's username.")
    duration_s: int | None = Field(None, ge=0, le=86_400)
    recording_ref: str = Field("", max_length=200)


class StoredReasonOut(Schema):
    code: str
    rule: str
    until: str | None


class ContactAttemptOut(Schema):
    id: int
    external_id: str
    compliant: bool
    reasons: list[StoredReasonOut]


# --- Reads ------------------------------------------------------------------------------------------------------

# The most rows one page of a list holds (GET /contactable, GET /contact-attempts): the scrub's own bound, so the
# API refuses a larger page with a 422 before the service would; the default is smaller.
PAGE_LIMIT = SCRUB_PAGE_LIMIT
PAGE_DEFAULT = 100


class ConsentStateOut(Schema):
    id: int
    phone_id: int
    phone: str = Field(description="Masked number.")
    channels: list[str]
    basis: str
    granted_at: datetime
    expires_at: datetime | None
    withdrawn_at: datetime | None
    state: Literal["active", "withdrawn", "expired", "pending"] = Field(description="The consent's state now.")


class RestrictionInForceOut(Schema):
    id: int
    loan_ref: str | None = Field(description="null: the restriction covers every loan of the borrower.")
    kind: str
    starts_at: datetime
    ends_at: datetime | None


class BorrowerReadOut(Schema):
    borrower_ref: str
    jurisdiction: str
    timezone: str
    loan_refs: list[str]
    phones: list[PhoneOut] = Field(description="The borrower's own numbers, masked.")
    consents: list[ConsentStateOut] = Field(description="Every consent on the borrower's numbers, newest first.")
    restrictions: list[RestrictionInForceOut] = Field(description="The restrictions in force now.")
    third_parties: list[ThirdPartyOut] = Field(description="Named contacts, without their names; numbers masked.")


class PromiseOut(Schema):
    id: int
    amount: str
    paid_amount: str
    due_date: date
    state: str
    created_at: datetime


class InstallmentOut(Schema):
    number: int
    due_date: date
    amount: str
    paid_amount: str
    state: str
    paid_at: datetime | None


class PlanOut(Schema):
    id: int
    kind: str
    state: str
    agreed_total: str
    discount_percent: str
    created_at: datetime
    activated_at: datetime | None
    installments: list[InstallmentOut]


class ComplaintSummaryOut(Schema):
    reference: str
    category: str
    state: str
    received_at: datetime
    ack_due_at: datetime = Field(description="Acknowledge by.")
    resolve_due_at: datetime = Field(description="Resolve by.")
    acknowledged_at: datetime | None


class LoanReadOut(Schema):
    loan_ref: str
    borrower_ref: str
    status: str
    principal: str
    balance: str
    currency: str
    due_date: date
    days_past_due: int
    bucket: str
    assigned_collector: str | None = Field(description="The assigned collector's username; null when unassigned.")
    promises: list[PromiseOut] = Field(description="Pending promises to pay.")
    plan: PlanOut | None = Field(description="The open repayment plan (proposed, pending approval or active).")
    complaints: list[ComplaintSummaryOut] = Field(description="Open complaints about this loan or the borrower.")


class ContactableRowOut(Schema):
    loan_ref: str
    borrower_ref: str
    phone_id: int
    phone: str = Field(description="Masked number.")
    owner: Literal["debtor", "third_party"]
    decision: ContactCheckOut | None = Field(description="The pre-check's decision; null when `error` is set.")
    error: ItemErrorOut | None = Field(description="409 when no contact policy is in force; else null.")


class ContactableOut(Schema):
    channel: str
    at: datetime
    results: list[ContactableRowOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ContactAttemptReadOut(Schema):
    id: int
    external_id: str | None
    loan_ref: str
    phone_id: int
    phone: str = Field(description="Masked number.")
    channel: str
    direction: str
    source: str
    outcome: str | None = Field(description="null while the attempt is in progress.")
    party: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_s: int | None
    compliant: bool
    reasons: list[StoredReasonOut]


class ContactAttemptsOut(Schema):
    results: list[ContactAttemptReadOut]
    next_cursor: str = Field(description="Pass as `since` for the attempts after these (the same cursor when none).")
    has_more: bool = Field(description="More attempts follow now: ask again at once with `next_cursor`.")
