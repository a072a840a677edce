"""Validators shared by every app: time zones, the range of dates and instants, and the one clock-skew rule for
times that must not be in the future."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- Time zones -------------------------------------------------------------------------------------------------

# The areas of the tz database whose zones are places (a city, an island, a region). The policy judges the hours
# on the borrower's own clock, so only a place will do: "Etc/*" (UTC, GMT offsets), UTC and GMT themselves, the
# POSIX-style rules (EST5EDT, CST6CDT, MST7MDT, PST8PDT, EST, MST, HST, CET, EET, MET, WET), "Factory",
# "localtime" and "posixrules" are refused.
PLACE_AREAS = frozenset({
    "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific",
})

# The legacy names the tz database keeps for backward compatibility (its `backward` file, release 2025b), each
# with the zone it is a link to. They are accepted and stored as that zone, so one place has one name:
# `US/Eastern` is stored as `America/New_York`. Not listed, and so refused like the zones they point to, are its
# names for UTC and GMT (UCT, Universal, Zulu, Greenwich, GMT0, Etc/Zulu, ...). A zone that is a link for another
# reason (a country's own name, such as Europe/Bratislava or Europe/Oslo) is a place and is stored as given.
LEGACY_ZONES: dict[str, str] = {
    # Names without an area, and the old country areas (US/, Canada/, Brazil/, Chile/, Mexico/).
    "Cuba": "America/Havana", "Egypt": "Africa/Cairo", "Eire": "Europe/Dublin", "GB": "Europe/London",
    "GB-Eire": "Europe/London", "Hongkong": "Asia/Hong_Kong", "Iceland": "Africa/Abidjan", "Iran": "Asia/Tehran",
    "Israel": "Asia/Jerusalem", "Jamaica": "America/Jamaica", "Japan": "Asia/Tokyo",
    "Kwajalein": "Pacific/Kwajalein", "Libya": "Africa/Tripoli", "Navajo": "America/Denver",
    "NZ": "Pacific/Auckland", "NZ-CHAT": "Pacific/Chatham", "Poland": "Europe/Warsaw",
    "Portugal": "Europe/Lisbon", "PRC": "Asia/Shanghai", "ROC": "Asia/Taipei", "ROK": "Asia/Seoul",
    "Singapore": "Asia/Singapore", "Turkey": "Europe/Istanbul", "W-SU": "Europe/Moscow",
    "US/Alaska": "America/Anchorage", "US/Aleutian": "America/Adak", "US/Arizona": "America/Phoenix",
    "US/Central": "America/Chicago", "US/East-Indiana": "America/Indiana/Indianapolis",
    "US/Eastern": "America/New_York", "US/Hawaii": "Pacific/Honolulu", "US/Indiana-Starke": "America/Indiana/Knox",
    "US/Michigan": "America/Detroit", "US/Mountain": "America/Denver", "US/Pacific": "America/Los_Angeles",
    "US/Samoa": "Pacific/Pago_Pago",
    "Canada/Atlantic": "America/Halifax", "Canada/Central": "America/Winnipeg", "Canada/Eastern": "America/Toronto",
    "Canada/Mountain": "America/Edmonton", "Canada/Newfoundland": "America/St_Johns",
    "Canada/Pacific": "America/Vancouver", "Canada/Saskatchewan": "America/Regina",
    "Canada/Yukon": "America/Whitehorse",
    "Brazil/Acre": "America/Rio_Branco", "Brazil/DeNoronha": "America/Noronha", "Brazil/East": "America/Sao_Paulo",
    "Brazil/West": "America/Manaus", "Chile/Continental": "America/Santiago", "Chile/EasterIsland": "Pacific/Easter",
    "Mexico/BajaNorte": "America/Tijuana", "Mexico/BajaSur": "America/Mazatlan",
    "Mexico/General": "America/Mexico_City",
    # Old or merged names inside the place areas.
    "Africa/Asmera": "Africa/Nairobi", "Africa/Timbuktu": "Africa/Abidjan",
    "America/Argentina/ComodRivadavia": "America/Argentina/Catamarca", "America/Atka": "America/Adak",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires", "America/Catamarca": "America/Argentina/Catamarca",
    "America/Coral_Harbour": "America/Panama", "America/Cordoba": "America/Argentina/Cordoba",
    "America/Ensenada": "America/Tijuana", "America/Fort_Wayne": "America/Indiana/Indianapolis",
    "America/Godthab": "America/Nuuk", "America/Indianapolis": "America/Indiana/Indianapolis",
    "America/Jujuy": "America/Argentina/Jujuy", "America/Knox_IN": "America/Indiana/Knox",
    "America/Louisville": "America/Kentucky/Louisville", "America/Mendoza": "America/Argentina/Mendoza",
    "America/Montreal": "America/Toronto", "America/Nipigon": "America/Toronto",
    "America/Pangnirtung": "America/Iqaluit", "America/Porto_Acre": "America/Rio_Branco",
    "America/Rainy_River": "America/Winnipeg", "America/Rosario": "America/Argentina/Cordoba",
    "America/Santa_Isabel": "America/Tijuana", "America/Shiprock": "America/Denver",
    "America/Thunder_Bay": "America/Toronto", "America/Virgin": "America/Puerto_Rico",
    "America/Yellowknife": "America/Edmonton", "Antarctica/South_Pole": "Pacific/Auckland",
    "Asia/Ashkhabad": "Asia/Ashgabat", "Asia/Calcutta": "Asia/Kolkata", "Asia/Choibalsan": "Asia/Ulaanbaatar",
    "Asia/Chongqing": "Asia/Shanghai", "Asia/Chungking": "Asia/Shanghai", "Asia/Dacca": "Asia/Dhaka",
    "Asia/Harbin": "Asia/Shanghai", "Asia/Istanbul": "Europe/Istanbul", "Asia/Kashgar": "Asia/Urumqi",
    "Asia/Katmandu": "Asia/Kathmandu", "Asia/Macao": "Asia/Macau", "Asia/Rangoon": "Asia/Yangon",
    "Asia/Saigon": "Asia/Ho_Chi_Minh", "Asia/Tel_Aviv": "Asia/Jerusalem", "Asia/Thimbu": "Asia/Thimphu",
    "Asia/Ujung_Pandang": "Asia/Makassar", "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Atlantic/Faeroe": "Atlantic/Faroe", "Atlantic/Jan_Mayen": "Europe/Berlin",
    "Australia/ACT": "Australia/Sydney", "Australia/Canberra": "Australia/Sydney",
    "Australia/Currie": "Australia/Hobart", "Australia/LHI": "Australia/Lord_Howe",
    "Australia/NSW": "Australia/Sydney", "Australia/North": "Australia/Darwin",
    "Australia/Queensland": "Australia/Brisbane", "Australia/South": "Australia/Adelaide",
    "Australia/Tasmania": "Australia/Hobart", "Australia/Victoria": "Australia/Melbourne",
    "Australia/West": "Australia/Perth", "Australia/Yancowinna": "Australia/Broken_Hill",
    "Europe/Belfast": "Europe/London", "Europe/Kiev": "Europe/Kyiv", "Europe/Tiraspol": "Europe/Chisinau",
    "Europe/Uzhgorod": "Europe/Kyiv", "Europe/Zaporozhye": "Europe/Kyiv",
    "Pacific/Enderbury": "Pacific/Kanton", "Pacific/Johnston": "Pacific/Honolulu",
    "Pacific/Ponape": "Pacific/Guadalcanal", "Pacific/Samoa": "Pacific/Pago_Pago",
    "Pacific/Truk": "Pacific/Port_Moresby", "Pacific/Yap": "Pacific/Port_Moresby",
}

_ZONES: frozenset[str] | None = None
_PLACE_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    # available_timezones() walks the installed tz database on every call: read it once.
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def place_zones() -> frozenset[str]:
    """The zone names stored as they are: the installed tz database's zones in the place areas, less the legacy
    names (which are stored as the zone they link to)."""
    global _PLACE_ZONES
    if _PLACE_ZONES is None:
        _PLACE_ZONES = frozenset(
            name for name in _zones() if name.partition("/")[0] in PLACE_AREAS and name not in LEGACY_ZONES
        )
    return _PLACE_ZONES


def canonical_timezone(value: str) -> str:
    """The name to store for the zone `value`: itself for a place's zone, the zone it links to for a legacy name
    (`US/Eastern` -> `America/New_York`), "" for "". Raises ValidationError for anything else; the message does
    not repeat the value."""
    if not value:
        return ""
    zones = place_zones()
    if value in zones:
        return value
    target = LEGACY_ZONES.get(value)
    if target is not None and target in zones:
        return target
    if value in _zones():
        raise ValidationError(
            _("Not the time zone of a place: use an IANA name such as Asia/Shanghai."), code="not_a_place"
        )
    raise ValidationError(_("Unknown time zone: use an IANA name such as Asia/Shanghai."), code="unknown_zone")


def validate_timezone(value: str) -> None:
    """The IANA zone of a place, such as `Asia/Shanghai`, or a legacy name of one (see `canonical_timezone`)."""
    canonical_timezone(value)


def zone_needs_review(value: str) -> bool:
    """Is a stored zone one that would not be stored as it is today (refused, or a legacy name)?"""
    return bool(value) and value not in place_zones()


# --- Dates and instants -----------------------------------------------------------------------------------------

# Dates and instants far from the present are typing errors, and the policy engine computes days, windows and
# lift times around them (a year-9999 date overflows its arithmetic, year 1 the conversions between zones): every
# date or instant a person or another system gives lies within these years, both included (an instant's year on
# its own clock). The refusal's message names the years: change it with them.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2199


def is_in_range(value: date | datetime | None) -> bool:
    """Is `value` (a date, or an instant read on its own clock) within EARLIEST_YEAR..LATEST_YEAR? None is."""
    return value is None or EARLIEST_YEAR <= value.year <= LATEST_YEAR


def validate_in_range(value: date | datetime | None) -> None:
    """A form field's validator: refuse a date or an instant outside EARLIEST_YEAR..LATEST_YEAR."""
    if not is_in_range(value):
        raise ValidationError(_("The date must be between 1970 and 2199."), code="out_of_range")


# --- The future -------------------------------------------------------------------------------------------------

# A time reported by a person or another system may run a little ahead of ours (clock skew); beyond this it is
# refused as "in the future". One tolerance for every such field: consents, withdrawals, payments, complaints.
CLOCK_SKEW = timedelta(minutes=5)


def is_in_future(value: datetime | None, *, now: datetime | None = None) -> bool:
    """Is `value` later than now plus the clock-skew tolerance?"""
    return value is not None and value > (now or timezone.now()) + CLOCK_SKEW


def validate_not_in_future(value: datetime | None, *, message: Any, now: datetime | None = None) -> None:
    """Raise ValidationError(message) when `value` is in the future beyond the clock-skew tolerance."""
    if is_in_future(value, now=now):
        raise ValidationError(message, code="future")
