from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from collections_app.contact.reason_labels import label

register = template.Library()


@register.filter
def reason_label(code: str) -> str:
    return label(code)


@register.filter
def as_datetime(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(value)


@register.filter
def in_zone(value: str | datetime | None, zone: str) -> datetime | None:
    """The instant in another zone, for 'next allowed at' in the borrower's local time."""
    instant = as_datetime(value)
    if instant is None:
        return None
    return timezone.localtime(instant, ZoneInfo(zone))
