"""Validating one CSV record into an ImportRow, without writing anything.

The checks are the models' own: the ref pattern of `ref_validator`, the fields' maximum lengths, the time-zone
validator, the currencies' decimals (`parse_amount`), the number parser of `consent_app.phones` and the
grant-time tolerance of `consent_grant`. New objects are written in bulk, without the services, so every rule a
service would apply to them is checked here first; the database constraints are the backstop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.db.models import Field, Model
from django.utils.translation import gettext as _

from collections_app.amounts import parse_amount
from collections_app.models import CURRENCY_DECIMALS, LoanStatus
from consent_app.models import JURISDICTION_REGIONS, Borrower, Consent, ConsentBasis, Jurisdiction, ref_validator
from consent_app.phones import ParsedNumber, blind_index, parse_number
from consent_app.validators import canonical_timezone, is_in_future, validate_in_range

from .reader import Header
from .rows import PHONE_SUFFIXES, ROW, ConsentRow, ImportRow, PhoneRow, Rejected, RowError

_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")  # the sign is let through for parse_amount's own message
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REF = re.compile(ref_validator.regex)  # the models' ref pattern, compiled once
_REGION_ALIASES = {"UK": "GB"}  # the jurisdiction is spelt UK, the ISO 3166 region code is GB
# The choices' values, once: `TextChoices.values` builds a new list at each use, three times a row.
_JURISDICTIONS = frozenset(Jurisdiction.values)
_STATUSES = frozenset(LoanStatus.values)
_BASES = frozenset(ConsentBasis.values)

Report = Callable[[str, str], None]  # (column, reason)



def _max_length(model: type[Model], name: str) -> int:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.max_length is not None
    return field.max_length


FULL_NAME_MAX = _max_length(Borrower, "full_name")
NATIONAL_ID_MAX = _max_length(Borrower, "national_id")
EVIDENCE_MAX = _max_length(Consent, "evidence_ref")


class RowValidator:
    """Turns the records of one file (its header given) into ImportRows or Rejected rows with every error of
    the row. `collector_for(username)` finds the collector a row assigns, None when there is none."""

    def __init__(self, header: Header, *, collector_for: Callable[[str], Any]) -> None:
        self._names = header.names
        self._slots = header.slots
        self._collector_for = collector_for

    def parse(self, values: list[str], line: int) -> ImportRow | Rejected:
        if len(values) != len(self._names):
            return Rejected(line, [RowError(
                line, ROW,
                _("Expected %(n)d fields, found %(m)d.") % {"n": len(self._names), "m": len(values)},
            )])
        raw = dict(zip(self._names, (v.strip() for v in values), strict=True))
        errors: list[RowError] = []

        def error(column: str, reason: str) -> None:
            errors.append(RowError(line, column, reason))

        for column, value in raw.items():
            if "\x00" in value:
                # The database cannot store NUL (PostgreSQL text), and the API refuses it too. The rest of the
                # value is still checked, so that the row's other errors are reported with this one.
                error(column, _("Must not contain NUL characters."))
                raw[column] = value.replace("\x00", "")

        def get(column: str) -> str:
            return raw.get(column, "")

        borrower_ref = get("borrower_ref")
        _check_ref(borrower_ref, "borrower_ref", error)
        full_name = get("full_name")
        if not full_name:
            error("full_name", _("Required."))
        elif len(full_name) > FULL_NAME_MAX:
            error("full_name", _too_long(FULL_NAME_MAX))
        national_id = get("national_id")
        if len(national_id) > NATIONAL_ID_MAX:
            error("national_id", _too_long(NATIONAL_ID_MAX))
        zone = get("timezone")
        try:
            zone = canonical_timezone(zone)  # a legacy name (US/Eastern) is stored as its zone
        except ValidationError as exc:
            error("timezone", " ".join(exc.messages))
        jurisdiction = get("jurisdiction").upper()
        if jurisdiction not in _JURISDICTIONS:
            error("jurisdiction", _("Required: one of %(values)s.") % {"values": ", ".join(Jurisdiction.values)})
            jurisdiction = ""

        phones = self._parse_phones(get, jurisdiction, error)

        loan_ref = get("loan_ref")
        _check_ref(loan_ref, "loan_ref", error)
        currency = get("currency").upper()
        amounts: dict[str, Decimal] = {}
        if currency not in CURRENCY_DECIMALS:
            error("currency", _("Required: one of %(values)s.") % {"values": ", ".join(CURRENCY_DECIMALS)})
        else:
            for column in ("principal", "balance"):
                if not get(column):
                    error(column, _("Required."))
                    continue
                if not _AMOUNT.match(get(column)):
                    error(column, _("Not an amount: digits with '.' for decimals, e.g. 1234.50."))
                    continue
                try:
                    amounts[column] = parse_amount(get(column), currency=currency, field_name=column)
                except ValidationError as exc:
                    for message in exc.message_dict.get(column, exc.messages):
                        error(column, message)
        due_date = _parse_date(get("due_date"), "due_date", error, required=True)
        status = get("status").lower() or LoanStatus.ACTIVE
        if status not in _STATUSES:
            error("status", _("One of %(values)s (empty: active).") % {"values": ", ".join(LoanStatus.values)})
        collector = None
        if get("collector"):
            collector = self._collector_for(get("collector"))
            if collector is None:
                error("collector", _("No collector with this username."))

        if errors:
            return Rejected(line, errors)
        assert due_date is not None
        return ImportRow(
            line=line, borrower_ref=borrower_ref, full_name=full_name, national_id=national_id, timezone=zone,
            jurisdiction=jurisdiction, phones=tuple(phones), loan_ref=loan_ref, principal=amounts["principal"],
            balance=amounts["balance"], currency=currency, due_date=due_date, status=status, collector=collector,
            fingerprint=hash((full_name, national_id, zone, jurisdiction)),
            pii=tuple(v for v in (full_name, national_id, *(p.parsed.e164 for p in phones),
                                  *(get(f"phone_{s}") for s in self._slots)) if v),
        )

    def _parse_phones(self, get: Callable[[str], str], jurisdiction: str, error: Report) -> list[PhoneRow]:
        phones: list[PhoneRow] = []
        seen: dict[str, str] = {}
        for slot in self._slots:
            column = f"phone_{slot}"
            number = get(column)
            region_column = f"{column}_region"
            region = get(region_column).upper()
            region = _REGION_ALIASES.get(region, region)
            consent = _parse_consent(get, column, error)  # its errors are reported whatever the number's
            if region and region not in phonenumbers.SUPPORTED_REGIONS:
                error(region_column, _("Unknown region: use an ISO 3166 code such as CN, US or GB."))
                continue
            if not number:
                if region or consent is not None or any(get(f"{column}{s}") for s in PHONE_SUFFIXES[2:]):
                    error(column, _("Required when the other %(col)s columns are filled.") % {"col": column})
                continue
            hint = region or JURISDICTION_REGIONS.get(jurisdiction)
            if hint is None and not number.startswith(("+", "00")):
                continue  # no region to read it in: the jurisdiction error already explains the row
            try:
                parsed = parse_number(number, hint)
            except ValidationError as exc:
                error(column, exc.messages[0])  # parse_number never echoes the number
                continue
            if len(parsed.region) != 2:
                # +800 and other non-geographic numbers: no region, no time zone, no contact-hour rule.
                error(column, _("Not a number of a country or region."))
                continue
            if region and parsed.region != region:
                error(column, _("The number does not belong to the region in %(col)s.") % {"col": region_column})
                continue
            if parsed.e164 in seen:
                error(column, _("Same number as %(col)s.") % {"col": seen[parsed.e164]})
                continue
            seen[parsed.e164] = column
            phones.append(PhoneRow(column=column, parsed=parsed, index=blind_index(parsed.e164),
                                   last_four=_last_four(parsed), consent=consent))
        return phones


def _last_four(parsed: ParsedNumber) -> str:
    """`consent_app.phones.last_four` of the number without parsing it a second time: its E.164 form is "+",
    the country code of its region, then its national significant number."""
    national = parsed.e164[1 + len(str(phonenumbers.country_code_for_region(parsed.region))):]
    return national[-4:] if len(national) > 7 else ""


def _parse_consent(get: Callable[[str], str], column: str, report: Report) -> ConsentRow | None:
    """The consent given with number `column`, None when there is none (or it has errors, reported)."""
    failed: list[str] = []

    def error(col: str, reason: str) -> None:
        failed.append(col)
        report(col, reason)

    channels_raw = get(f"{column}_consent_channels").lower()
    others = {s: get(f"{column}{s}") for s in PHONE_SUFFIXES[3:]}
    if not channels_raw:
        for suffix, value in others.items():
            if value:
                error(f"{column}{suffix}", _("Given without %(col)s_consent_channels.") % {"col": column})
        return None
    channels = tuple(sorted({c.strip() for c in re.split(r"[;,]", channels_raw) if c.strip()}))
    if not channels or set(channels) - {"call", "sms"}:
        error(f"{column}_consent_channels", _("One or both of call, sms, separated by ';'."))
    basis = others["_consent_basis"].lower()
    if basis not in _BASES:
        error(f"{column}_consent_basis", _("Required with a consent: one of %(values)s.")
              % {"values": ", ".join(ConsentBasis.values)})
    evidence = others["_consent_evidence"]
    if not evidence:
        error(f"{column}_consent_evidence", _("Required with a consent."))
    elif len(evidence) > EVIDENCE_MAX:
        error(f"{column}_consent_evidence", _too_long(EVIDENCE_MAX))
    granted_at = _parse_instant(others["_consent_granted_at"], f"{column}_consent_granted_at", error, required=True)
    expires_at = _parse_instant(others["_consent_expires_at"], f"{column}_consent_expires_at", error,
                                required=False)
    if granted_at and expires_at and expires_at <= granted_at:
        error(f"{column}_consent_expires_at", _("Must be after the grant."))
    # consent_grant's rule (the same tolerance), checked here too because new consents are written in bulk.
    if is_in_future(granted_at):
        error(f"{column}_consent_granted_at", _("A consent cannot be granted in the future."))
    if failed or granted_at is None:
        return None
    return ConsentRow(channels=channels, basis=basis, evidence_ref=evidence, granted_at=granted_at,
                      expires_at=expires_at)


def _check_ref(value: str, column: str, error: Report) -> None:
    if not value:
        error(column, _("Required."))
    elif not _REF.match(value):
        error(column, _("Use 1 to 64 letters, digits and . _ : - (starting with a letter or digit)."))


def _too_long(length: int) -> str:
    return _("At most %(n)d characters.") % {"n": length}


def _parse_date(value: str, column: str, error: Report, *, required: bool) -> date | None:
    if not value:
        if required:
            error(column, _("Required (YYYY-MM-DD)."))
        return None
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        error(column, _("Not a date: use YYYY-MM-DD."))
        return None
    try:
        validate_in_range(parsed)  # the API's and the forms' range
    except ValidationError as exc:
        error(column, exc.messages[0])
        return None
    return parsed


def _parse_instant(value: str, column: str, error: Report, *, required: bool) -> datetime | None:
    if not value:
        if required:
            error(column, _("Required with a consent (ISO 8601 with offset, e.g. 2026-03-01T10:00:00+08:00)."))
        return None
    try:
        if not _ISO_DATE.match(value[:10]):
            raise ValueError
        parsed = datetime.fromisoformat(value)
    except ValueError:
        error(column, _("Not a date and time: use ISO 8601 with offset, e.g. 2026-03-01T10:00:00+08:00."))
        return None
    if parsed.tzinfo is None:
        error(column, _("A time zone offset is required, e.g. +08:00 or Z."))
        return None
    try:
        validate_in_range(parsed)  # the API's and the forms' range
    except ValidationError as exc:
        error(column, exc.messages[0])
        return None
    return parsed
