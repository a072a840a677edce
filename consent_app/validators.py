"""Validators shared by every app: time zones, and the one clock-skew rule for times that must not be in the future."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    """A valid IANA zone name such as `Asia/Shanghai`."""
    if not value:
        return
    if value not in _zones():
        raise ValidationError(_("Unknown time zone: %(zone)s."), code="unknown_zone", params={"zone": value[:64]})
    ZoneInfo(value)


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


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
