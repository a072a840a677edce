"""The desk's date and date-time fields: one text box each, read leniently on a given clock (a leaf module).

Chromium's `<input type="date">` and `<input type="datetime-local">` put every segment (year, month, day, hour,
minute) on a Tab stop of its own: five for a callback time, three for each date. A collector tabbing through the
outcome of a call, or a plan's twelve installment dates, pays for each. These fields are plain text boxes, one Tab
stop each, with the format in their hint, and they read what people type:

- a date as ``2026-12-09``, ``2026/12/9``, ``2026.12.9``, ``20261209``, ``2026年12月9日``; without the year
  (``12-09``, ``12月9日``) it is the next such day (or the last, for a field about the past); ``今天`` / ``today``,
  ``明天`` / ``tomorrow``, ``后天``;
- a time after it as ``14:30``, ``14：30``, ``14点30``, ``14点半``, ``14点``; a time alone is on the clock's today;
- full-width digits (a Chinese input method's) as ASCII, and ``2026-12-09T14:30`` as well (the value a browser's
  datetime-local sends).

"Today" and the time are those of the field's zone: the borrower's for what is agreed with the borrower (a
callback, a promise, a hold), the reader's otherwise. Range checks (1970-2199) stay the fields' validators, and
what the services check (the policy for a callback, a promise's date) stays theirs.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

Prefer = Literal["future", "past"] | None

DAY_FORMAT = "%Y-%m-%d"
DAY_TIME_FORMAT = "%Y-%m-%d %H:%M"

_WORDS = {"today": 0, "今天": 0, "今日": 0, "tomorrow": 1, "明天": 1, "明日": 1, "后天": 2}
_FULL_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SHORT_DATE = re.compile(r"(\d{1,2})-(\d{1,2})")
# A time at the end: 14:30 (seconds dropped), 14点30, 14点30分, 14点半, 14点, 14时30分.
_TIME = re.compile(r"(?<!\d)(\d{1,2})(?::(\d{2})(?::\d{2})?|[点时](?:(\d{1,2})分?|(半))?)$")


class UnreadableDate(ValueError):
    pass


def _normalised(text: str) -> str:
    """Full-width characters as ASCII (NFKC), lower case, the date's separators as '-', one space at most."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"(\d)\s*年\s*(\d)", r"\1-\2", text)
    text = re.sub(r"(\d)\s*月\s*(\d)", r"\1-\2", text)
    text = re.sub(r"(\d)\s*[日号]", r"\1 ", text)
    text = re.sub(r"(?<=\d)t(?=\d)", " ", text)  # 2026-12-09T14:30
    text = re.sub(r"(?<=\d)\s*[/.]\s*(?=\d)", "-", text)
    return re.sub(r"\s+", " ", text).strip()


def _split_time(text: str) -> tuple[str, time | None]:
    match = _TIME.search(text)
    if match is None:
        return text, None
    hour = int(match.group(1))
    minute = 30 if match.group(4) else int(match.group(2) or match.group(3) or 0)
    if hour > 23 or minute > 59:
        raise UnreadableDate(text)
    return text[:match.start()].strip(), time(hour, minute)


def _day_of(text: str, *, today: date, prefer: Prefer) -> date:
    if text in _WORDS:
        return today + timedelta(days=_WORDS[text])
    try:
        if match := _FULL_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := _SHORT_DATE.fullmatch(text):
            month, day = int(match.group(1)), int(match.group(2))
            return _nearest(month, day, today=today, prefer=prefer)
    except ValueError as exc:  # 2026-02-30: no such day
        raise UnreadableDate(text) from exc
    raise UnreadableDate(text)


def _nearest(month: int, day: int, *, today: date, prefer: Prefer) -> date:
    """The day `month`-`day` in today's year, or the next one (the last one) when a field about the future (the
    past) would otherwise get a day already gone (still to come). 02-29 looks for the nearest leap year."""
    years = range(today.year, today.year + 8) if prefer == "future" else \
        range(today.year, today.year - 8, -1) if prefer == "past" else range(today.year, today.year + 1)
    for year in years:
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if prefer == "future" and candidate < today or prefer == "past" and candidate > today:
            continue
        return candidate
    raise UnreadableDate(f"{month}-{day}")


def parse_day(text: str, *, today: date, prefer: Prefer = None) -> date:
    """A date typed by a person (see the module's docstring); UnreadableDate when it is none."""
    value = _normalised(text)
    if not value:
        raise UnreadableDate(text)
    return _day_of(value, today=today, prefer=prefer)


def parse_day_time(text: str, *, today: date, prefer: Prefer = None) -> tuple[date, time]:
    """A date and a time typed by a person: the time is required, the date may be left out (then it is `today`).
    UnreadableDate when it is neither."""
    value = _normalised(text)
    rest, at = _split_time(value)
    if at is None:
        raise UnreadableDate(text)
    return (_day_of(rest, today=today, prefer=prefer) if rest else today), at


def _zone(zone: str | tzinfo | None) -> tzinfo:
    if zone is None:
        return timezone.get_current_timezone()
    return ZoneInfo(zone) if isinstance(zone, str) else zone


class _ZonedField:
    """What both fields share: the zone whose today they read relative dates on, and the hint that says how to
    write them (linked to the box by Django's aria-describedby), written when the page is: in the reader's
    language, with an example on the field's today."""

    zone: tzinfo | None = None
    prefer: Prefer = None
    hint: Any = ""
    _help_text: Any = ""

    @property
    def help_text(self) -> Any:
        """The format with an example, then the field's own help (the hint comes first: it is what is needed to
        type the value at all)."""
        hint = str(self.hint) % {"example": self._example()}
        return f"{hint} {self._help_text}" if self._help_text else hint

    @help_text.setter
    def help_text(self, value: Any) -> None:
        self._help_text = value

    def in_zone(self, zone: str | tzinfo | None) -> None:
        """Read this field on `zone`'s clock (a borrower's)."""
        self.zone = _zone(zone)

    def today(self) -> date:
        return timezone.localdate(timezone.now(), self.zone or _zone(None))

    def _example(self) -> str:
        raise NotImplementedError


class DayInput(forms.DateInput):
    """A text box for a date: one Tab stop."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"placeholder": _("YYYY-MM-DD"), "autocomplete": "off", "spellcheck": "false",
                                "size": 12, **(attrs or {})}, format=DAY_FORMAT)


class DayTimeInput(forms.DateTimeInput):
    """A text box for a date and a time: one Tab stop."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"placeholder": _("YYYY-MM-DD HH:MM"), "autocomplete": "off", "spellcheck": "false",
                                "size": 18, **(attrs or {})}, format=DAY_TIME_FORMAT)


class DayField(_ZonedField, forms.DateField):
    """A date typed in one text box (see the module's docstring)."""

    widget = DayInput
    hint = _("YYYY-MM-DD, e.g. %(example)s; the year may be left out.")
    default_error_messages = {"invalid": _("Write the date as YYYY-MM-DD, e.g. %(example)s.")}

    def __init__(self, *, prefer: Prefer = None, zone: str | tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prefer = prefer
        self.zone = _zone(zone) if zone is not None else None

    def _example(self) -> str:
        return (self.today() + timedelta(days=-1 if self.prefer == "past" else 1)).strftime(DAY_FORMAT)

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return parse_day(str(value), today=self.today(), prefer=self.prefer)
        except UnreadableDate:
            raise ValidationError(self.error_messages["invalid"], code="invalid",
                                  params={"example": self._example()}) from None


class DayTimeField(_ZonedField, forms.DateTimeField):
    """A date and a time typed in one text box (see the module's docstring), as an instant on the field's zone's
    clock (the current time zone's when it has none)."""

    widget = DayTimeInput
    hint = _("YYYY-MM-DD HH:MM, e.g. %(example)s; a time alone is today.")
    default_error_messages = {"invalid": _("Write the date and time as YYYY-MM-DD HH:MM, e.g. %(example)s.")}

    def __init__(self, *, prefer: Prefer = None, zone: str | tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prefer = prefer
        self.zone = _zone(zone) if zone is not None else None

    def _example(self) -> str:
        day = self.today() + timedelta(days=-1 if self.prefer == "past" else 1)
        return f"{day:{DAY_FORMAT}} 14:30"

    def prepare_value(self, value: Any) -> Any:
        # An instant is shown on the field's clock (a borrower's), not the current time zone's.
        if isinstance(value, datetime) and timezone.is_aware(value):
            return timezone.make_naive(value, self.zone or _zone(None))
        return value

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        zone = self.zone or _zone(None)
        if isinstance(value, datetime):
            return value if timezone.is_aware(value) else value.replace(tzinfo=zone)
        try:
            day, at = parse_day_time(str(value), today=self.today(), prefer=self.prefer)
        except UnreadableDate:
            raise ValidationError(self.error_messages["invalid"], code="invalid",
                                  params={"example": self._example()}) from None
        # The wall clock of the zone; a time a clock change skips or repeats takes the offset before the change
        # (fold 0), as the contact policy reads it.
        return datetime.combine(day, at, tzinfo=zone)
