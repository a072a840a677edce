"""How an instant is written for the person reading it, where the time is evidence (the admin, the compliance
pages, the exports): the wall clock of the current time zone — the reader's own (collections_app.http's
ReaderTimeZoneMiddleware activates it) — with its UTC offset, ``2026-12-02 23:58 (UTC+08:00)``, never a bare
time that could be read as UTC or as someone else's clock.

``utc_offset`` is the one writer of offsets: the desk's clock (collections_app/desk/clock.py) uses it too. It is
here, in consent_app, because the admin toolkit, which cannot import collections_app, writes times the same way.
A negative offset has a real minus sign (U+2212)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import get_timezone_location
from django.utils import timezone, translation

MINUS_SIGN = "\u2212"


def utc_offset(local: datetime) -> str:
    """``UTC−06:00``, ``UTC+00:00``, ``UTC+05:30``: the wall clock's offset, with a real minus sign."""
    offset = local.utcoffset() or timedelta(0)
    sign = "+" if offset >= timedelta(0) else MINUS_SIGN
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def reader_local(instant: datetime, zone: tzinfo | None = None) -> datetime:
    """The aware ``instant`` on the reader's clock (``zone``, else the current time zone)."""
    return instant.astimezone(zone or timezone.get_current_timezone())


def reader_time(instant: datetime, zone: tzinfo | None = None) -> str:
    """``2026-12-02 23:58 (UTC+08:00)``: the aware ``instant`` on the reader's clock, in full, with the offset."""
    local = reader_local(instant, zone)
    return f"{local:%Y-%m-%d %H:%M} ({utc_offset(local)})"


# --- A zone by its place, in the reader's language -------------------------------------------------------------

_UTC_KEYS = frozenset({"UTC", "Etc/UTC"})


@lru_cache(maxsize=1)
def _cldr_names() -> dict[str, tuple[str, ...]]:
    """IANA zone -> the older names CLDR may still file its data under (America/Indiana/Indianapolis ->
    America/Indianapolis): Babel's locale data is keyed by CLDR's names, its alias table points the other way."""
    names: dict[str, list[str]] = {}
    for alias, canonical in get_global("zone_aliases").items():
        names.setdefault(canonical, []).append(alias)
    return {key: tuple(sorted(value)) for key, value in names.items()}


def _babel_locale_name() -> str:
    language = translation.get_language() or "en"
    try:
        return str(Locale.parse(translation.to_locale(language)))
    except (UnknownLocaleError, ValueError):
        return "en"


@lru_cache(maxsize=1024)
def _place_in(zone_key: str, locale_name: str) -> str:
    locale = Locale.parse(locale_name)
    for key in (zone_key, *_cldr_names().get(zone_key, ())):
        city = locale.time_zones.get(key, {}).get("city")
        if city:
            return str(city)
    # CLDR leaves out the cities whose name is the zone's own (English "Indianapolis"); Babel then answers the
    # key less its area ("Indiana/Indianapolis"): keep the last part, as CLDR's own fallback does.
    return str(get_timezone_location(zone_key, locale=locale, return_city=True)).rsplit("/", 1)[-1]


def zone_place(zone_key: str) -> str:
    """The zone's city in the active language (CLDR exemplar city): 芝加哥 / Chicago for America/Chicago; a name
    that is no zone at all (stored before zones were checked) as it is."""
    if zone_key in _UTC_KEYS:
        return "UTC"
    try:
        return _place_in(zone_key, _babel_locale_name())
    except LookupError:
        return zone_key


def zone_location(zone_key: str) -> str:
    """The zone by its country and place in the active language: 美国（芝加哥）时间 / United States (Chicago) Time,
    for choosing a zone (CLDR's location format, through Babel)."""
    if zone_key in _UTC_KEYS:
        return "UTC"
    return _location_in(zone_key, _babel_locale_name())


@lru_cache(maxsize=4096)
def _location_in(zone_key: str, locale_name: str) -> str:
    # The admin's zone picker names every zone on each page: CLDR's answer never changes within a process.
    return str(get_timezone_location(zone_key, locale=Locale.parse(locale_name)))
