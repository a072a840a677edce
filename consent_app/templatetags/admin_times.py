"""`{{ instant|reader_time }}` in admin templates: the instant on the reader's clock with its UTC offset
(consent_app.times), as the toolkit writes every other time of the admin."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from consent_app.times import reader_local
from consent_app.times import reader_time as _reader_time

register = template.Library()


@register.filter
def reader_time(value: datetime | None) -> SafeString | str:
    if not isinstance(value, datetime) or value.tzinfo is None:
        return "" if value is None else str(value)
    return format_html('<time datetime="{}">{}</time>', reader_local(value).isoformat(timespec="seconds"),
                       _reader_time(value))
