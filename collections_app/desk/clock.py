"""The borrower's clock and the reader's, as the desk writes them (plain text; the templates' filters in
templatetags/desk_tags.py wrap these in ``<time>`` elements).

A borrower's time reads ``Chicago 23:58 (UTC−06:00)`` / ``芝加哥 23:58 (UTC−06:00)``: the place (the CLDR exemplar
city, through Babel, in the active language) and the UTC offset, never an abbreviation (Shanghai and winter
Chicago are both "CST"); the minus sign is U+2212. The date is added when the wall clock is not on the reader's
today (``12-01 23:58``), with the year when it is not the reader's year (``2025-12-01 23:58``). The reader's today
is the current time zone's: the reader's own clock (collections_app.http.ReaderTimeZoneMiddleware: their own zone,
else their team's, else the desk's settings.TIME_ZONE). Where a time is evidence (the compliance pages) it is
written in full with its offset (consent_app.times.reader_time, the desk_tags filter ``your_datetime``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from consent_app.times import MINUS_SIGN, utc_offset, zone_place

__all__ = ["MINUS_SIGN", "borrower_clock", "calendar_day", "reader_clock", "reader_today", "utc_offset", "wall_clock",
           "zone_or_utc", "zone_place"]

def zone_or_utc(zone_key: str) -> tuple[str, tzinfo]:
    """The zone of ``zone_key``; UTC, and so named, for a key that is no zone (never the desk's clock)."""
    try:
        return zone_key, ZoneInfo(zone_key)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return "UTC", UTC


def reader_today() -> date:
    return timezone.localdate()


def wall_clock(local: datetime, today: date) -> str:
    """``23:58`` on the reader's ``today``, ``12-01 23:58`` on another day of its year, ``2025-12-01 23:58`` else."""
    if local.date() == today:
        return f"{local:%H:%M}"
    if local.year == today.year:
        return f"{local:%m-%d %H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


def calendar_day(day: date, today: date) -> str:
    """A date by the same rule as ``wall_clock``: ``12-10``, or ``2027-01-04`` in another year."""
    return f"{day:%m-%d}" if day.year == today.year else f"{day:%Y-%m-%d}"


def borrower_clock(instant: datetime, zone_key: str, today: date | None = None) -> str:
    """``Chicago 12-01 23:58 (UTC−06:00)``: the aware ``instant`` on the wall clock of ``zone_key``."""
    zone_key, zone = zone_or_utc(zone_key)
    local = instant.astimezone(zone)
    return f"{zone_place(zone_key)} {wall_clock(local, today or reader_today())} ({utc_offset(local)})"


def reader_clock(instant: datetime, today: date | None = None) -> str:
    """``22:00`` or ``12-10 08:00``: the aware ``instant`` on the reader's own clock (the current time zone)."""
    return wall_clock(timezone.localtime(instant), today or reader_today())
