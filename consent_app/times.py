"""How an instant is written for the person reading it, where the time is evidence (the admin, the compliance
pages, the exports): the wall clock of the current time zone — the reader's own (collections_app.http's
ReaderTimeZoneMiddleware activates it) — with its UTC offset, ``2026-12-02 23:58 (UTC+08:00)``, never a bare
time that could be read as UTC or as someone else's clock.

``utc_offset`` is the one writer of offsets: the desk's clock (collections_app/desk/clock.py) uses it too. It is
here, in consent_app, because the admin toolkit, which cannot import collections_app, writes times the same way.
A negative offset has a real minus sign (U+2212)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from django.utils import timezone

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
