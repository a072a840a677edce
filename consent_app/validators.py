from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
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
