"""Every write to borrowers, numbers, consents and restrictions goes through here (STYLE.md §1): keyword-only,
atomic, and writing its audit event in the same transaction. Errors are ValidationErrors keyed by field that
never echo the personal data they refer to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.validators import canonical_timezone, is_in_future, is_in_range

from . import scopes
from .history import with_change_reason
from .models import (
    FREE_TEXT_MAX_LENGTH,
    REVEAL_REASON_MAX_LENGTH,
    Borrower,
    Consent,
    ConsentBasis,
    Jurisdiction,
    PhoneNumber,
    PhoneStatus,
    PiiAccess,
    Relation,
    Restriction,
    RestrictionKind,
    RevealPurpose,
    ThirdPartyContact,
    WithdrawalChannel,
)
from .phones import blind_index, parse_number


@dataclass(frozen=True)
class PhoneInput:
    number: str
    region: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class ThirdPartyInput:
    contact_ref: str
    name: str
    relation: str
    authorized: bool = False
    authorization_evidence: str = ""
    phones: tuple[PhoneInput, ...] = field(default_factory=tuple)


def _require_aware(value: datetime | None, field_name: str) -> None:
    if value is not None and timezone.is_naive(value):
        raise ValidationError({field_name: _("A time zone offset is required.")})
    if not is_in_range(value):
        raise ValidationError({field_name: _("The date must be between 1970 and 2199.")})


def check_text_length(value: str, *, field_name: str, limit: int = FREE_TEXT_MAX_LENGTH) -> None:
    """A reason or comment longer than `limit` is refused (never cut short: the person must see what is kept)."""
    if len(value) > limit:
        raise ValidationError({field_name: _("At most %(n)d characters.") % {"n": limit}})


def _full_clean(instance: Any, exclude: list[str] | None = None) -> None:
    instance.full_clean(exclude=exclude, validate_unique=False)


def _parse_phone(phone: PhoneInput, default_region: str, field_name: str):
    try:
        parsed = parse_number(phone.number, phone.region or default_region)
    except ValidationError as exc:
        raise ValidationError({field_name: exc.messages}) from exc
    if phone.kind and phone.kind not in {"mobile", "fixed", "other"}:
        raise ValidationError({field_name: _("Unknown number type.")})
    return parsed


@transaction.atomic
def phone_add(
    *, borrower: Borrower, phone: PhoneInput, third_party: ThirdPartyContact | None = None, actor: Any,
    field_name: str = "phone",
) -> tuple[PhoneNumber, bool]:
    """Add a number to a borrower (or to one of their third parties); an existing number is returned as is.
    Returns (number, created)."""
    parsed = _parse_phone(phone, borrower.region, field_name)
    index = blind_index(parsed.e164)
    existing = PhoneNumber.objects.filter(borrower=borrower, blind_index=index).first()
    if existing is not None:
        if (existing.third_party_id or None) != (third_party.pk if third_party else None):
            raise ValidationError({field_name: _("This number is already recorded for another person.")})
        return existing, False
    number = PhoneNumber(
        borrower=borrower,
        third_party=third_party,
        e164=parsed.e164,
        blind_index=index,
        region=parsed.region,
        kind=phone.kind or parsed.kind,
        zones=list(parsed.zones),
    )
    with_change_reason(number, "number added")
    number.save()
    audit_log(
        action=AuditAction.PHONE_ADDED, subject=number, actor=actor,
        data={"borrower_ref": borrower.borrower_ref, "owner": number.owner, "region": number.region},
    )
    return number, True


@transaction.atomic
def borrower_upsert(
    *,
    borrower_ref: str,
    full_name: str,
    jurisdiction: str,
    national_id: str = "",
    timezone_name: str = "",
    phones: list[PhoneInput] | tuple[PhoneInput, ...] = (),
    third_parties: list[ThirdPartyInput] | tuple[ThirdPartyInput, ...] | None = None,
    actor: Any,
    reason: str = "",
) -> tuple[Borrower, bool]:
    """Create or update a borrower by `borrower_ref`. Numbers are added, never removed (a number that is no
    longer used is marked, not deleted, so the contact history keeps its meaning). A legacy zone name is stored as
    the zone it stands for (`US/Eastern` as `America/New_York`). Two third parties with one `contact_ref` are
    refused, not merged. Returns (borrower, created)."""
    if jurisdiction not in Jurisdiction.values:
        raise ValidationError({"jurisdiction": _("Unknown jurisdiction.")})
    try:
        timezone_name = canonical_timezone(timezone_name or "")
    except ValidationError as exc:
        raise ValidationError({"timezone": exc.messages}) from exc
    seen_refs: set[str] = set()
    for i, tp in enumerate(third_parties or ()):
        if tp.contact_ref in seen_refs:
            raise ValidationError({f"third_parties[{i}].contact_ref": _("Another third party has this reference.")})
        seen_refs.add(tp.contact_ref)
    borrower = Borrower.objects.select_for_update().filter(borrower_ref=borrower_ref).first()
    created = borrower is None
    if borrower is None:
        borrower = Borrower(borrower_ref=borrower_ref)
    changed = created or (
        borrower.full_name != full_name
        or borrower.national_id != (national_id or "")
        or borrower.timezone != (timezone_name or "")
        or borrower.jurisdiction != jurisdiction
    )
    borrower.full_name = full_name
    borrower.national_id = national_id or ""
    borrower.timezone = timezone_name or ""
    borrower.jurisdiction = jurisdiction
    _full_clean(borrower, exclude=None if created else ["borrower_ref"])
    if changed:
        with_change_reason(borrower, reason or ("created" if created else "updated"))
        borrower.save()
        audit_log(
            action=AuditAction.BORROWER_CREATED if created else AuditAction.BORROWER_UPDATED,
            subject=borrower, actor=actor,
            data={"borrower_ref": borrower_ref, "jurisdiction": jurisdiction, "source": reason or "service"},
        )
    for i, phone in enumerate(phones):
        phone_add(borrower=borrower, phone=phone, actor=actor, field_name=f"phones[{i}].number")
    for i, tp in enumerate(third_parties or ()):
        third_party_upsert(borrower=borrower, data=tp, actor=actor, field_prefix=f"third_parties[{i}]")
    return borrower, created


@transaction.atomic
def third_party_upsert(
    *, borrower: Borrower, data: ThirdPartyInput, actor: Any, field_prefix: str = "third_party"
) -> ThirdPartyContact:
    if data.relation not in Relation.values:
        raise ValidationError({f"{field_prefix}.relation": _("Unknown relation.")})
    contact = ThirdPartyContact.objects.filter(borrower=borrower, contact_ref=data.contact_ref).first()
    created = contact is None
    if contact is None:
        contact = ThirdPartyContact(borrower=borrower, contact_ref=data.contact_ref)
    changed = created or (
        contact.full_name != data.name or contact.relation != data.relation or contact.authorized != data.authorized
        or contact.authorization_evidence != data.authorization_evidence
    )
    contact.full_name = data.name
    contact.relation = data.relation
    contact.authorized = data.authorized
    contact.authorization_evidence = data.authorization_evidence
    try:
        _full_clean(contact, exclude=["borrower"])
    except ValidationError as exc:
        raise ValidationError({f"{field_prefix}.{k}": v for k, v in exc.message_dict.items()}) from exc
    if changed:
        with_change_reason(contact, "third party saved")
        contact.save()
        audit_log(
            action=AuditAction.THIRD_PARTY_SAVED, subject=contact, actor=actor,
            data={"borrower_ref": borrower.borrower_ref, "relation": data.relation, "authorized": data.authorized},
        )
    for i, phone in enumerate(data.phones):
        phone_add(
            borrower=borrower, phone=phone, third_party=contact, actor=actor,
            field_name=f"{field_prefix}.phones[{i}].number",
        )
    return contact


@transaction.atomic
def phone_set_status(*, phone: PhoneNumber, status: str, actor: Any, reason: str) -> PhoneNumber:
    if status not in PhoneStatus.values:
        raise ValidationError({"status": _("Unknown number status.")})
    check_text_length(reason, field_name="status_reason")
    if phone.status == status:
        return phone
    old = phone.status
    phone.status = status
    # The reason may name people: it is kept encrypted on the number (and its history row), not in the change
    # reason or the audit event.
    phone.last_status_reason = reason
    with_change_reason(phone, "status changed")
    phone.save(update_fields=["status", "last_status_reason", "updated_at"])
    audit_log(action=AuditAction.PHONE_STATUS_CHANGED, subject=phone, actor=actor, data={"from": old, "to": status})
    return phone


@transaction.atomic
def consent_grant(
    *,
    phone: PhoneNumber,
    channels: list[str] | tuple[str, ...],
    basis: str,
    evidence_ref: str,
    granted_at: datetime,
    expires_at: datetime | None = None,
    actor: Any,
) -> Consent:
    """Record the borrower's consent to be contacted on one of their own numbers."""
    _require_aware(granted_at, "granted_at")
    _require_aware(expires_at, "expires_at")
    if phone.third_party_id is not None:
        raise ValidationError({"phone": _("Consent is given by the borrower for the borrower's own numbers.")})
    unknown = set(channels) - {"call", "sms"}
    if unknown or not channels:
        raise ValidationError({"channels": _("Channels must be one or more of: call, sms.")})
    if basis not in ConsentBasis.values:
        raise ValidationError({"basis": _("Unknown consent basis.")})
    if expires_at is not None and expires_at <= granted_at:
        raise ValidationError({"expires_at": _("The consent must expire after it was granted.")})
    if is_in_future(granted_at):
        raise ValidationError({"granted_at": _("A consent cannot be granted in the future.")})
    consent = Consent(
        phone=phone,
        allows_call="call" in channels,
        allows_sms="sms" in channels,
        basis=basis,
        evidence_ref=evidence_ref,
        granted_at=granted_at,
        expires_at=expires_at,
    )
    _full_clean(consent)
    with_change_reason(consent, "granted")
    consent.save()
    audit_log(
        action=AuditAction.CONSENT_GRANTED, subject=consent, actor=actor,
        data={"borrower_ref": phone.borrower.borrower_ref, "phone_id": phone.pk, "channels": consent.channels,
              "basis": basis},
    )
    return consent


EVIDENCE_REF_MAX_LENGTH = 64
_EVIDENCE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$")


def validate_evidence_reference(value: str) -> None:
    """The reference of what proves a request (a letter's or a recording's id, a ticket number): letters, digits
    and . _ : / # - only. It is written into the audit event, which never holds free text or a phone number: a
    sentence, or a reference made of a number's digits alone, is refused (the message does not repeat it)."""
    value = value or ""
    if len(value) > EVIDENCE_REF_MAX_LENGTH:
        raise ValidationError(_("At most %(n)d characters.") % {"n": EVIDENCE_REF_MAX_LENGTH}, code="max_length")
    if not _EVIDENCE_REF.match(value):
        raise ValidationError(_("A reference: letters, digits and . _ : / # - only (e.g. LETTER-2026-0042)."),
                              code="invalid")
    if not any(c.isalpha() for c in value) and sum(c.isdigit() for c in value) >= 6:
        raise ValidationError(_("This looks like a phone number: give the reference of the letter, recording or "
                                "ticket instead."), code="phone_like")


@transaction.atomic
def consent_withdraw(
    *, consent: Consent, via: str, actor: Any, withdrawn_at: datetime | None = None, channels: tuple[str, ...] = (),
    evidence_ref: str = "",
) -> Consent:
    """Withdraw a consent (PIPL art. 15: always possible, and easy). Withdrawing is idempotent: a consent
    already withdrawn keeps its first withdrawal time. `channels` withdraws only those channels (e.g. the
    borrower said "do not call me" but SMS stays); empty withdraws all. `evidence_ref`, when given, names what
    proves the request (compliance officers give one in admin) and is kept in the audit event."""
    _require_aware(withdrawn_at, "withdrawn_at")
    if via not in WithdrawalChannel.values:
        raise ValidationError({"via": _("Unknown withdrawal channel.")})
    if evidence_ref:
        try:
            validate_evidence_reference(evidence_ref)
        except ValidationError as exc:
            raise ValidationError({"evidence_ref": exc.messages}) from exc
    unknown = set(channels) - {"call", "sms"}
    if unknown:
        raise ValidationError({"channels": _("Channels must be one or more of: call, sms.")})
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        return consent
    if withdrawn_at is not None and withdrawn_at < consent.granted_at:
        raise ValidationError({"withdrawn_at": _("A consent cannot be withdrawn before it was granted.")})
    # Without a date the withdrawal is now; never before the grant, even when the grant's time ran a little
    # ahead of our clock (clock skew): withdrawing must always be possible.
    at = withdrawn_at or max(timezone.now(), consent.granted_at)
    if is_in_future(at):
        raise ValidationError({"withdrawn_at": _("A withdrawal cannot be dated in the future.")})
    remaining = [c for c in consent.channels if c not in channels] if channels else []
    consent.withdrawn_at = at
    consent.withdrawn_via = via
    with_change_reason(consent, f"withdrawn via {via}")
    consent.save(update_fields=["withdrawn_at", "withdrawn_via"])
    if remaining:
        # A partial withdrawal closes this consent and keeps the other channels under a new one with the same
        # evidence, so the record of what was consented when stays exact.
        kept = Consent(
            phone=consent.phone, allows_call="call" in remaining, allows_sms="sms" in remaining,
            basis=consent.basis, evidence_ref=consent.evidence_ref, granted_at=consent.granted_at,
            expires_at=consent.expires_at,
        )
        _full_clean(kept)
        with_change_reason(kept, f"kept {', '.join(remaining)} after partial withdrawal of consent #{consent.pk}")
        kept.save()
    audit_log(
        action=AuditAction.CONSENT_WITHDRAWN, subject=consent, actor=actor,
        data={"via": via, "withdrawn_at": at, "channels": list(channels) or consent.channels,
              "kept_channels": remaining, "replacement_consent_id": kept.pk if remaining else None,
              "evidence_ref": evidence_ref or None},
    )
    return consent


# A temporary hold is a pause ("not before payday"): open-ended, it would stop collection for good without the
# legal basis of a cease or a dispute. The admin's form says the same before it calls restriction_place.
TEMPORARY_HOLD_NEEDS_END = gettext_lazy("A temporary hold needs an end.")


@transaction.atomic
def restriction_place(
    *,
    borrower: Borrower,
    kind: str,
    starts_at: datetime,
    reason: str,
    actor: Any,
    ends_at: datetime | None = None,
    loan: Any = None,
) -> Restriction:
    _require_aware(starts_at, "starts_at")
    _require_aware(ends_at, "ends_at")
    if kind not in RestrictionKind.values:
        raise ValidationError({"kind": _("Unknown restriction kind.")})
    if ends_at is not None and ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    if kind == RestrictionKind.TEMPORARY_HOLD and ends_at is None:
        raise ValidationError({"ends_at": TEMPORARY_HOLD_NEEDS_END})
    if loan is not None and loan.borrower_id != borrower.pk:
        raise ValidationError({"loan_ref": _("The loan belongs to another borrower.")})
    if not reason.strip():
        raise ValidationError({"reason": _("A reason is required.")})
    check_text_length(reason, field_name="reason")
    restriction = Restriction(
        borrower=borrower, loan=loan, kind=kind, starts_at=starts_at, ends_at=ends_at, reason=reason,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _full_clean(restriction, exclude=["created_by"])
    with_change_reason(restriction, "placed")
    restriction.save()
    audit_log(
        action=AuditAction.RESTRICTION_PLACED, subject=restriction, actor=actor,
        data={"borrower_ref": borrower.borrower_ref, "kind": kind, "loan_ref": loan.loan_ref if loan else None,
              "starts_at": starts_at, "ends_at": ends_at},
    )
    return restriction


@transaction.atomic
def restriction_lift(
    *, restriction: Restriction, actor: Any, reason: str = "", at: datetime | None = None
) -> Restriction:
    """Lift a restriction (kept for the record, never deleted). Lifting twice changes nothing.

    A person may lift only what the `consent_app.lift_restriction` permission grants them for this restriction
    (collections_app.permissions decides: by kind and team); jobs (no actor) and the Integration API's users act
    for the system of record. Refused: PermissionDenied, and nothing changes."""
    _require_aware(at, "at")
    check_text_length(reason, field_name="reason")
    restriction = Restriction.objects.select_for_update().get(pk=restriction.pk)
    if getattr(actor, "is_authenticated", False) and not actor.has_perm("consent_app.lift_restriction", restriction):
        raise PermissionDenied(_("You may not lift this restriction."))
    if restriction.lifted_at is not None:
        return restriction
    restriction.lifted_at = at or timezone.now()
    restriction.lift_reason = reason
    with_change_reason(restriction, "lifted")
    restriction.save(update_fields=["lifted_at", "lift_reason"])
    audit_log(
        action=AuditAction.RESTRICTION_LIFTED, subject=restriction, actor=actor,
        data={"kind": restriction.kind, "borrower_ref": restriction.borrower.borrower_ref},
    )
    return restriction


# The borrower's fields admin shows masked until they are revealed (`borrower_reveal`).
BORROWER_REVEALABLE_FIELDS = ("full_name", "national_id")


@transaction.atomic
def borrower_reveal(*, borrower: Borrower, field: str, purpose: str, actor: Any) -> str:
    """Return the borrower's full name or national id, and record who read it and why (a PII_REVEALED event on the
    borrower naming the field and the purpose's code). Only for a reader whose scope holds the borrower; the
    national id for whoever the `consent_app.see_national_id` permission grants (compliance officers)."""
    if field not in BORROWER_REVEALABLE_FIELDS:
        raise ValidationError({"field": _("This field is not revealed here.")})
    if purpose not in RevealPurpose.values:
        raise ValidationError({"purpose": _("Say why you need it.")})
    if not getattr(actor, "is_authenticated", False) or not scopes.visible_to(
        actor, Borrower.objects.filter(pk=borrower.pk)
    ).exists():
        raise PermissionDenied(_("You may not read this borrower's data."))
    if field == "national_id" and not actor.has_perm("consent_app.see_national_id"):
        raise PermissionDenied(_("You may not read this borrower's national id."))
    audit_log(
        action=AuditAction.PII_REVEALED, subject=borrower, actor=actor,
        data={"borrower_ref": borrower.borrower_ref, "field": field, "reason": purpose},
    )
    return str(getattr(borrower, field))


@transaction.atomic
def third_party_reveal(*, contact: ThirdPartyContact, purpose: str, actor: Any) -> str:
    """Return a third-party contact's full name, and record who read it and why (a PII_REVEALED event on the
    contact naming the field and the purpose's code), as `borrower_reveal` does for the borrower's: only for a
    reader whose scope holds the contact's borrower."""
    if purpose not in RevealPurpose.values:
        raise ValidationError({"purpose": _("Say why you need it.")})
    if not getattr(actor, "is_authenticated", False) or not scopes.visible_to(
        actor, Borrower.objects.filter(pk=contact.borrower_id)
    ).exists():
        raise PermissionDenied(_("You may not read this borrower's data."))
    audit_log(
        action=AuditAction.PII_REVEALED, subject=contact, actor=actor,
        data={"borrower_ref": contact.borrower.borrower_ref, "field": "third_party.full_name", "reason": purpose},
    )
    return contact.full_name


@transaction.atomic
def phone_reveal(*, phone: PhoneNumber, actor: Any, reason: str) -> str:
    """Return the full number and record who read it and why (personal-data access log): the reason, which may
    name people, is kept encrypted on a `PiiAccess` row, and the audit event refers to that row."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you need the full number.")})
    check_text_length(reason, field_name="reason", limit=REVEAL_REASON_MAX_LENGTH)
    access = PiiAccess.objects.create(
        phone=phone, actor=actor if getattr(actor, "is_authenticated", False) else None, reason=reason
    )
    audit_log(
        action=AuditAction.PII_REVEALED, subject=phone, actor=actor,
        data={"borrower_ref": phone.borrower.borrower_ref, "field": "e164", "access_id": access.pk},
    )
    return phone.e164
