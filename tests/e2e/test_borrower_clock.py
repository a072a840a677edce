"""What a collector in Shanghai reads, in a real browser, as a Chicago and a London borrower's own time at a frozen
instant, in both languages: the place, the wall clock (with the date when it is not the collector's today) and the
UTC offset with a real minus sign (collections_app/desk/clock.py), their own time beside it.

The instant: Wednesday 2 December 2026, 05:58 UTC, which is 13:58 at the desk, 23:58 on Tuesday 1 December in
Chicago (UTC−06:00) and 05:58 in London (UTC+00:00); both borrowers are outside their 08:00-21:00 window."""

import datetime as dt

import pytest
import time_machine

from tests import factories as f
from tests.e2e.helpers import choose_language, sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NOW = dt.datetime(2026, 12, 2, 5, 58, tzinfo=dt.UTC)
EXPECTED = {  # (the borrower's time, the reader's, the number's next allowed call)
    "zh-hans": {
        "chicago": ("芝加哥 12-01 23:58 (UTC−06:00)", "13:58（您的时间）",
                    "下次允许联系: 芝加哥 08:00 (UTC−06:00) · 22:00（您的时间）"),
        "london": ("伦敦 05:58 (UTC+00:00)", "13:58（您的时间）",
                   "下次允许联系: 伦敦 08:00 (UTC+00:00) · 16:00（您的时间）"),
    },
    "en": {
        "chicago": ("Chicago 12-01 23:58 (UTC−06:00)", "13:58 (your time)",
                    "Next allowed: Chicago 08:00 (UTC−06:00) · 22:00 (your time)"),
        "london": ("London 05:58 (UTC+00:00)", "13:58 (your time)",
                   "Next allowed: London 08:00 (UTC+00:00) · 16:00 (your time)"),
    },
}
# The <time> element's machine-readable value: the borrower's wall clock and offset, in any language.
DATETIME = {"chicago": "2026-12-01T23:58-06:00", "london": "2026-12-02T05:58+00:00"}


def _account(collector, *, zone, jurisdiction, e164):
    borrower = f.BorrowerFactory(timezone=zone, jurisdiction=jurisdiction)
    loan = f.LoanFactory(assigned_collector=collector, borrower=borrower, due_date=dt.date(2026, 10, 1),
                         currency="USD" if jurisdiction == "US" else "GBP")
    phone = f.PhoneNumberFactory(borrower=borrower, e164=e164, region="US" if jurisdiction == "US" else "GB")
    f.ConsentFactory(phone=phone, granted_at=NOW - dt.timedelta(days=90))
    return loan


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def borrowers(reference_data, clock):
    collector = f.make_collector("collector_clock", f.make_supervisor("supervisor_clock", "Team Clock")[1])
    return {
        "chicago": _account(collector, zone="America/Chicago", jurisdiction="US", e164="+13125550123"),
        "london": _account(collector, zone="Europe/London", jurisdiction="UK", e164="+442079460123"),
    }


def test_the_account_page_shows_a_chicago_and_a_london_borrowers_own_clock(page, live_server, clock, borrowers):
    sign_in_collector(page, live_server, "collector_clock")
    seen = {}
    for language in EXPECTED:
        choose_language(page, language)
        for place, loan in borrowers.items():
            page.goto(f"{live_server.url}/loans/{loan.loan_ref}/")
            head = page.locator(".pagehead .stats")
            seen[language, place] = (head.locator("b").inner_text(), head.locator(".muted").inner_text(),
                                     page.locator("table.numbers div.muted").inner_text())
            assert head.locator("b time").get_attribute("datetime") == DATETIME[place]
    assert seen == {(language, place): expected for language, by_place in EXPECTED.items()
                    for place, expected in by_place.items()}
