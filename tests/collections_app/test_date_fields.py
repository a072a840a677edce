"""The desk's date and date-time boxes (collections_app.date_fields): one text box each, read the way people type
dates at a Chinese collections desk, on the clock of the person the form is about."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django import forms

from collections_app.date_fields import DayField, DayTimeField, UnreadableDate, parse_day, parse_day_time

TODAY = dt.date(2026, 12, 7)


@pytest.mark.parametrize("typed", [
    "2026-12-09", "2026/12/9", "2026.12.9", "20261209", "2026年12月9日", "2026 年 12 月 9 日", "12-09", "12月9日",
    "12/9", "１２－０９", "２０２６／１２／０９", "后天", " 2026-12-09 ",
])
def test_a_date_is_read_however_it_is_written(typed):
    assert parse_day(typed, today=TODAY, prefer="future") == dt.date(2026, 12, 9)


@pytest.mark.parametrize(("typed", "prefer", "day"), [
    ("12-01", "future", dt.date(2027, 12, 1)),  # gone this year: next year's
    ("12-01", "past", dt.date(2026, 12, 1)),
    ("12-09", "past", dt.date(2025, 12, 9)),  # still to come this year: last year's
    ("12-09", None, dt.date(2026, 12, 9)),
    ("02-29", "future", dt.date(2028, 2, 29)),  # the next leap year
    ("今天", "future", TODAY), ("today", None, TODAY), ("明天", "past", dt.date(2026, 12, 8)),
    ("Tomorrow", None, dt.date(2026, 12, 8)),
])
def test_a_date_without_its_year_is_the_nearest_on_the_side_the_field_is_about(typed, prefer, day):
    assert parse_day(typed, today=TODAY, prefer=prefer) == day


@pytest.mark.parametrize("typed", ["", "next week", "2026-02-30", "2026-13-01", "13-45", "12-09 14:30", "2026-1209"])
def test_what_is_no_date_is_refused(typed):
    with pytest.raises(UnreadableDate):
        parse_day(typed, today=TODAY)


@pytest.mark.parametrize(("typed", "day", "at"), [
    ("2026-12-09 14:30", dt.date(2026, 12, 9), dt.time(14, 30)),
    ("2026-12-09T14:30", dt.date(2026, 12, 9), dt.time(14, 30)),  # what a datetime-local input sent
    ("2026-12-09T14:30:59", dt.date(2026, 12, 9), dt.time(14, 30)),
    ("12-09 9:05", dt.date(2026, 12, 9), dt.time(9, 5)),
    ("14:30", TODAY, dt.time(14, 30)),  # a time alone: today
    ("１４：３０", TODAY, dt.time(14, 30)),
    ("明天 14点半", dt.date(2026, 12, 8), dt.time(14, 30)),
    ("明天14点", dt.date(2026, 12, 8), dt.time(14, 0)),
    ("12月9日14点30分", dt.date(2026, 12, 9), dt.time(14, 30)),
    ("12月9日 9时15分", dt.date(2026, 12, 9), dt.time(9, 15)),
])
def test_a_date_and_time_is_read_however_it_is_written(typed, day, at):
    assert parse_day_time(typed, today=TODAY, prefer="future") == (day, at)


@pytest.mark.parametrize("typed", ["2026-12-09", "25:00", "14:60", "14:30 tomorrow", "2026-12-0914:30", "soon"])
def test_what_is_no_date_and_time_is_refused(typed):
    with pytest.raises(UnreadableDate):
        parse_day_time(typed, today=TODAY)


class CallbackForm(forms.Form):
    at = DayTimeField(prefer="future")
    day = DayField(prefer="future", required=False)


def test_the_boxes_read_the_time_and_today_on_the_zone_given_them():
    # 03:00 on 8 December in Shanghai is still 13:00 on the 7th in Chicago.
    with time_machine.travel(dt.datetime(2026, 12, 7, 19, 0, tzinfo=dt.UTC), tick=False):
        form = CallbackForm({"at": "14:30", "day": "明天"})
        for name in ("at", "day"):
            form.fields[name].in_zone("America/Chicago")
        assert form.is_valid(), form.errors
        assert form.cleaned_data["at"] == dt.datetime(2026, 12, 7, 14, 30, tzinfo=ZoneInfo("America/Chicago"))
        assert form.cleaned_data["day"] == dt.date(2026, 12, 8)


def test_a_box_without_a_zone_reads_on_the_readers_clock(settings):
    with time_machine.travel(dt.datetime(2026, 12, 7, 19, 0, tzinfo=dt.UTC), tick=False):
        form = CallbackForm({"at": "14:30"})
        assert form.is_valid()
        assert form.cleaned_data["at"] == dt.datetime(2026, 12, 8, 14, 30, tzinfo=ZoneInfo(settings.TIME_ZONE))


def test_a_box_is_a_plain_text_input_with_its_format_and_an_example_in_its_hint(settings):
    settings.LANGUAGE_CODE = "en"
    with time_machine.travel(dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC), tick=False):
        form = CallbackForm()
        html = str(form["at"])
        assert 'type="text"' in html and 'placeholder="YYYY-MM-DD HH:MM"' in html
        assert 'aria-describedby="id_at_helptext"' in html
        assert form["at"].help_text == "YYYY-MM-DD HH:MM, e.g. 2026-12-08 14:30; a time alone is today."
        assert form["day"].help_text == "YYYY-MM-DD, e.g. 2026-12-08; the year may be left out."


def test_an_unreadable_value_is_refused_with_the_format_and_not_repeated(settings):
    settings.LANGUAGE_CODE = "en"
    with time_machine.travel(dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC), tick=False):
        form = CallbackForm({"at": "call me maybe"})
        assert not form.is_valid()
        assert form.errors["at"] == ["Write the date and time as YYYY-MM-DD HH:MM, e.g. 2026-12-08 14:30."]


def test_an_instant_given_as_initial_is_shown_on_the_boxs_clock():
    form = CallbackForm(initial={"at": dt.datetime(2026, 12, 7, 20, 30, tzinfo=dt.UTC)})
    form.fields["at"].in_zone("America/Chicago")
    assert 'value="2026-12-07 14:30"' in str(form["at"])
