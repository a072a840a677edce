"""The desk's template filters: reason labels, and every time shown on the borrower's clock or the reader's.

``{{ instant|borrower_time:zone }}`` is the one way a template shows a time as the borrower's, and
``{{ instant|your_time }}`` the one way it shows the reader's own (the text is desk/clock.py's). Never ``|date``
on a datetime converted to another zone: Django's ``date`` filter converts an aware datetime back to the current
time zone (the desk's) before formatting, so the "borrower's" time would silently be the desk's clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from collections_app.contact.reason_labels import label
from collections_app.desk.clock import borrower_clock, calendar_day, reader_clock, reader_today, zone_or_utc, zone_place
from collections_app.desk.selectors import callback_state as _callback_state
from collections_app.models import AttemptOutcome, PromiseState
from consent_app.times import reader_time

register = template.Library()


@register.filter
def reason_label(code: str) -> str:
    return label(code)


@register.filter
def as_datetime(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(value)


def _instant(value: str | datetime | None) -> datetime | None:
    instant = as_datetime(value)
    if instant is None or timezone.is_naive(instant):
        return None  # a naive datetime names no instant: showing it as anyone's time would be a guess
    return instant


# --- The two filters -----------------------------------------------------------------------------------------------


@register.filter
def borrower_time(value: str | datetime | None, zone_key: str) -> SafeString | str:
    """The instant on the wall clock of ``zone_key`` (the borrower's, or a zone of their number), with the place
    and the UTC offset: ``芝加哥 12-01 23:58 (UTC−06:00)``. Empty for no instant."""
    instant = _instant(value)
    if instant is None:
        return ""
    zone_key, zone = zone_or_utc(zone_key)
    return format_html('<time class="zt" datetime="{}" title="{}">{}</time>',
                       instant.astimezone(zone).isoformat(timespec="minutes"), zone_key,
                       borrower_clock(instant, zone_key))


@register.filter
def your_time(value: str | datetime | None) -> SafeString | str:
    """The instant on the reader's own clock (the current time zone, the desk's): ``22:00``, ``12-10 08:00``."""
    instant = _instant(value)
    if instant is None:
        return ""
    return format_html('<time class="zt you" datetime="{}" title="{}">{}</time>',
                       timezone.localtime(instant).isoformat(timespec="minutes"),
                       str(timezone.get_current_timezone()), reader_clock(instant))


@register.filter
def your_datetime(value: str | datetime | None) -> SafeString | str:
    """The instant on the reader's own clock in full, with its UTC offset: ``2026-12-02 23:58 (UTC+08:00)``. For
    the compliance pages, where a time is evidence and must not be mistaken for UTC or another clock."""
    instant = _instant(value)
    if instant is None:
        return ""
    return format_html('<time class="zt you" datetime="{}" title="{}">{}</time>',
                       timezone.localtime(instant).isoformat(timespec="minutes"),
                       str(timezone.get_current_timezone()), reader_time(instant))


# --- Compositions of the two ---------------------------------------------------------------------------------------


def _translated_html(message: str, **parts: SafeString | str) -> SafeString:
    """A translated sentence around HTML parts (``%(name)s`` placeholders, as in a template's blocktranslate): the
    sentence is escaped and so is every part that is not already safe, as format_html does for ``{}``."""
    escaped = {key: conditional_escape(part) for key, part in parts.items()}
    return mark_safe(conditional_escape(message) % escaped)  # noqa: S308 - both sides escaped just above


@register.simple_tag
def borrower_times(value: str | datetime | None, zones: Iterable[str], binding: Iterable[str] = ()) -> SafeString:
    """The instant in every zone the contact policy judged it in (the borrower's address first, then the dialed
    number's) and, when there are several, which zone's contact window sets the time: a Denver borrower on a
    New York number may first be called at 08:00 in Denver, 10:00 in New York, and Denver binds."""
    keys = list(dict.fromkeys(key for key in zones if key))
    times = format_html_join(" · ", "{}", ((borrower_time(value, key),) for key in keys))
    binding_keys = [key for key in dict.fromkeys(binding) if key in keys]
    if len(keys) < 2 or not binding_keys:
        return times
    note = _translated_html(_("(the contact window in %(place)s binds)"),
                            place=" / ".join(zone_place(key) for key in binding_keys))
    return format_html('{} <span class="binding">{}</span>', times, note)


@register.simple_tag
def restriction_end(value: datetime | None, zone_key: str) -> SafeString | str:
    """When a hold (or any restriction with an end) stops, exactly: on the borrower's clock with the offset and
    on the reader's. A hold "until 12-10" ends at the start of the 10th on the borrower's clock, so the 10th is
    the first day allowed, not the last one on hold: said in words when the end is a borrower-local midnight."""
    instant = _instant(value)
    if instant is None:
        return ""
    parts = [
        _translated_html(_("ends %(when)s"), when=borrower_time(instant, zone_key)),
        _translated_html(_("%(time)s (your time)"), time=your_time(instant)),
    ]
    local = instant.astimezone(zone_or_utc(zone_key)[1])
    if local.hour == local.minute == local.second == 0:
        parts.append(_translated_html(_("first day allowed: %(day)s (borrower's date)"),
                                      day=calendar_day(local.date(), reader_today())))
    return format_html_join(" · ", "{}", ((part,) for part in parts))


@register.simple_tag
def entry_borrower_times(entry: Any) -> SafeString | str:
    """A blocked worklist entry's next allowed time on the borrower's clocks: in the zones stored with the number
    whose next allowed time is the entry's, and which of them binds (the borrower's zone alone for an entry built
    before the zones were stored)."""
    instant = _instant(entry.next_allowed_at)
    if instant is None:
        return ""
    zones: list[str] = []
    binding: list[str] = []
    for row in entry.decisions or []:
        if _instant(row.get("next_allowed_at")) == instant and row.get("zones"):
            zones += row["zones"]
            binding += row.get("binding") or []
    return borrower_times(instant, zones or [entry.loan.borrower.primary_zone], binding)


@register.filter
def callback_state(due_at: datetime | None, now: datetime) -> str:
    """``due``, ``soon`` (within the window in which a call counts as the callback) or ``scheduled``."""
    return str(_callback_state(due_at, now)) if due_at is not None else ""


# --- Worklist rows --------------------------------------------------------------------------------------------------


@register.filter
def short_name(full_name: str) -> str:
    """A name shortened for lists, as a masked number is: enough to tell people apart on a call, no more.
    Chinese names keep the first and last character (`王小芳` -> `王*芳`, `王芳` -> `王*`); names in words keep
    each word's initial (`John Smith` -> `J*** S****`). The account page shows the full name."""
    name = (full_name or "").strip()
    if not name:
        return ""
    words = name.split()
    if len(words) > 1:
        return " ".join(word[0] + "*" * (len(word) - 1) for word in words)
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


@register.filter
def outcome_label(code: str) -> str:
    """An attempt outcome's label in the reader's language (`no_answer` -> 无人接听); "in progress" for none."""
    if not code:
        return _("in progress")
    return str(AttemptOutcome(code).label) if code in AttemptOutcome.values else code


@register.filter
def promise_state_label(code: str) -> str:
    return str(PromiseState(code).label) if code in PromiseState.values else code


@register.filter
def money(amount: Any, currency: str = "") -> SafeString | str:
    """An amount as the reader's language writes it (grouping and decimal marks from Django's localisation:
    `34,800.00` in both English and Chinese) with its ISO currency code after it, kept on one line:
    `34,800.00 CNY`. Empty for no amount."""
    if amount is None or amount == "":
        return ""
    return format_html('<span class="amount">{} {}</span>', floatformat(amount, "2g"), currency) if currency \
        else floatformat(amount, "2g")
