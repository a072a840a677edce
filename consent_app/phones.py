"""Phone-number handling: parse and normalise to E.164 with `phonenumbers`, the blind index, masking.

Numbers are stored encrypted; the blind index (HMAC-SHA256 of the E.164 form under BLIND_INDEX_KEY) lets us
find a number (admin search, inbound matching, de-duplication) without decrypting anything.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as pn_timezone
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

UNKNOWN_ZONE = "Etc/Unknown"

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_FIXED_TYPES = {PhoneNumberType.FIXED_LINE, PhoneNumberType.VOIP, PhoneNumberType.TOLL_FREE}


@dataclass(frozen=True)
class ParsedNumber:
    e164: str
    region: str
    kind: str  # "mobile" | "fixed" | "other"
    zones: tuple[str, ...]  # IANA zones phonenumbers knows for the number, never "Etc/Unknown"


def parse_number(raw: str, region: str | None = None) -> ParsedNumber:
    """Parse a number typed in any common format (`13800138000`, `+86 138 0013 8000`, `0086-138-0013-8000`).

    Raises ValidationError (without echoing the number) when it is not a valid number for its region."""
    text = (raw or "").strip()
    hint = (region or "").upper() or None
    if text.startswith("00"):
        # International prefix written with zeros ("0086-..."): same as "+".
        text = "+" + text[2:].lstrip()
    try:
        number = phonenumbers.parse(text, hint)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Not a phone number."), code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Not a valid phone number for its region."), code="invalid_phone")
    number_type = phonenumbers.number_type(number)
    if number_type in _MOBILE_TYPES:
        kind = "mobile"
    elif number_type in _FIXED_TYPES:
        kind = "fixed"
    else:
        kind = "other"
    region_code = phonenumbers.region_code_for_number(number) or ""
    if len(region_code) != 2:
        # Non-geographic numbers (+800 freephone, satellite, ...) have no region and no local time: contact
        # hours cannot be checked, so they are not collection contact numbers.
        raise ValidationError(_("Numbers without a country cannot be used."), code="invalid_phone")
    zones = tuple(z for z in pn_timezone.time_zones_for_number(number) if z != UNKNOWN_ZONE)
    return ParsedNumber(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        region=region_code,
        kind=kind,
        zones=zones,
    )


def blind_index(e164: str) -> str:
    key = settings.BLIND_INDEX_KEY.encode()
    return hmac.new(key, e164.encode(), hashlib.sha256).hexdigest()


def blind_index_for_input(raw: str, region: str | None = None) -> str | None:
    """Blind index of a typed number, or None if it does not parse (a search that cannot match)."""
    try:
        return blind_index(parse_number(raw, region).e164)
    except ValidationError:
        return None


def _national(e164: str) -> tuple[int, str] | None:
    """(country code, national significant number) of a stored number; None when empty or unparsable.

    A stored number is E.164 (`+` and digits, written by `normalize`): its country code is the one prefix of one to
    three digits that ITU assigns (country codes are prefix-free), and its national significant number is the
    rest, as phonenumbers itself reads it. Reading it so costs no parse: masking every number of a worklist build
    re-parsed each one (9% of the nightly job). Anything else goes through phonenumbers."""
    if not e164:
        return None
    if e164[0] == "+" and e164[1:].isdigit() and e164[1:].isascii():
        digits = e164[1:]
        for length in (1, 2, 3):
            code = int(digits[:length])
            if code in COUNTRY_CODE_TO_REGION_CODE:
                return code, digits[length:]
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return int(number.country_code or 0), phonenumbers.national_significant_number(number)


def last_four(e164: str) -> str:
    """The last four digits of a number, which its mask shows (`+8613800138000` -> `8000`); "" for a number whose
    mask shows fewer (seven national digits or less) or that does not parse: those are never stored in clear."""
    parts = _national(e164)
    if parts is None:
        return ""
    national = parts[1]
    return national[-4:] if len(national) > 7 else ""


def mask(e164: str) -> str:
    """`+8613800138000` -> `+86 138****8000`: enough for a collector to tell numbers apart, no more."""
    if not e164:
        return ""
    parts = _national(e164)
    if parts is None:
        return "****"
    country_code, national = parts
    if len(national) <= 7:
        shown = national[:2] + "*" * max(len(national) - 4, 1) + national[-2:]
    else:
        shown = national[:3] + "****" + national[-4:]
    return f"+{country_code} {shown}"
