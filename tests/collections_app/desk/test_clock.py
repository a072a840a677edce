"""How the desk writes a borrower's clock and the reader's: place, wall clock, UTC offset, and the date only
when it is not the reader's today."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template import engines
from django.utils import translation

from collections_app.desk.clock import borrower_clock, reader_clock, utc_offset, zone_place

UTC = dt.UTC
# 13:58 on Wednesday 2 December 2026 at the desk (Asia/Shanghai).
NOW = dt.datetime(2026, 12, 2, 5, 58, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize(("zone", "instant", "english", "chinese"), [
    ("America/Chicago", NOW, "Chicago 12-01 23:58 (UTC−06:00)", "芝加哥 12-01 23:58 (UTC−06:00)"),
    ("Europe/London", NOW, "London 05:58 (UTC+00:00)", "伦敦 05:58 (UTC+00:00)"),
    # Summer time is the offset of that instant, not of today.
    ("Europe/London", dt.datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "London 07-01 13:00 (UTC+01:00)",
     "伦敦 07-01 13:00 (UTC+01:00)"),
    ("America/Chicago", dt.datetime(2025, 12, 31, 18, 0, tzinfo=UTC), "Chicago 2025-12-31 12:00 (UTC−06:00)",
     "芝加哥 2025-12-31 12:00 (UTC−06:00)"),
    ("Asia/Kolkata", NOW, "Kolkata 11:28 (UTC+05:30)", "加尔各答 11:28 (UTC+05:30)"),
])
def test_a_borrowers_clock_names_the_place_and_the_offset_in_the_readers_language(zone, instant, english, chinese):
    with translation.override("en"):
        assert borrower_clock(instant, zone) == english
    with translation.override("zh-hans"):
        assert borrower_clock(instant, zone) == chinese


def test_the_offset_uses_a_real_minus_sign_and_never_an_abbreviation():
    assert utc_offset(NOW.astimezone(ZoneInfo("America/Chicago"))) == "UTC\u221206:00"
    assert utc_offset(NOW.astimezone(ZoneInfo("Asia/Shanghai"))) == "UTC+08:00"  # "CST", as winter Chicago


def test_zones_that_cldr_files_under_an_older_name_still_get_their_city():
    with translation.override("zh-hans"):
        assert zone_place("America/Indiana/Indianapolis") == "印第安纳波利斯"
        assert zone_place("Europe/Kyiv") == "基辅"
    with translation.override("en"):
        assert zone_place("America/Indiana/Indianapolis") == "Indianapolis"


def test_the_readers_clock_is_the_desks_with_the_date_only_on_another_day():
    assert reader_clock(NOW) == "13:58"
    assert reader_clock(dt.datetime(2026, 12, 10, 0, 0, tzinfo=UTC)) == "12-10 08:00"


def test_a_zone_that_is_not_one_is_shown_in_utc_never_on_the_desks_clock():
    assert borrower_clock(NOW, "Not/A_Zone") == "UTC 05:58 (UTC+00:00)"


def test_the_template_filters_mark_up_the_same_text_with_the_instant():
    template = engines["django"].from_string(
        "{% load desk_tags %}{{ at|borrower_time:'America/Chicago' }}|{{ at|your_time }}|{{ naive|your_time }}"
    )
    with translation.override("en"):
        rendered = template.render({"at": NOW, "naive": dt.datetime(2026, 12, 2, 5, 58)})
    assert rendered == (
        '<time class="zt" datetime="2026-12-01T23:58-06:00" title="America/Chicago">'
        "Chicago 12-01 23:58 (UTC−06:00)</time>|"
        '<time class="zt you" datetime="2026-12-02T13:58+08:00" title="Asia/Shanghai">13:58</time>|'
    )
