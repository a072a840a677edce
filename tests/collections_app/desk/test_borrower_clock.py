"""Times shown as the borrower's are the borrower's wall clock, with the place and the UTC offset, in both
languages; the collector's own time stands beside them.

The desk is in Shanghai. The clock: Wednesday 2 December 2026, 05:58 UTC, which is 13:58 at the desk, 23:58 on
Tuesday 1 December in Chicago (UTC−06:00) and 05:58 in London (UTC+00:00): both borrowers are outside their
08:00-21:00 contact window.
"""

import datetime as dt
import html

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import strip_tags

from collections_app.contact.services import attempt_record
from collections_app.desk.services import hold_until_place, worklist_build
from collections_app.models import Callback
from tests import factories as f

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 2, 5, 58, tzinfo=UTC)
CHINESE, ENGLISH = "zh-hans", "en"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _account(collector, *, zone, jurisdiction, e164, **loan):
    borrower = f.BorrowerFactory(timezone=zone, jurisdiction=jurisdiction)
    loan = f.LoanFactory(assigned_collector=collector, borrower=borrower, due_date=dt.date(2026, 10, 1),
                         currency="USD" if jurisdiction == "US" else "GBP", **loan)
    phone = f.PhoneNumberFactory(borrower=borrower, e164=e164, region="US" if jurisdiction == "US" else "GB")
    f.ConsentFactory(phone=phone, granted_at=NOW - dt.timedelta(days=90))
    return loan


@pytest.fixture
def chicago(collector, clock):
    return _account(collector, zone="America/Chicago", jurisdiction="US", e164="+13125550123")


@pytest.fixture
def london(collector, clock):
    return _account(collector, zone="Europe/London", jurisdiction="UK", e164="+442079460123")


def _text(markup):
    """What the reader sees: the text without tags, entities resolved, runs of white space as one space."""
    return " ".join(html.unescape(strip_tags(markup)).split())


def _html(client, user, url, language):
    client.force_login(user)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _page(client, user, url, language):
    return _text(_html(client, user, url, language))


# --- The account page ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "local_time", "next_allowed"), [
    (ENGLISH, "Borrower's local time: Chicago 12-01 23:58 (UTC−06:00) 13:58 (your time)",
     "Next allowed: Chicago 08:00 (UTC−06:00) · 22:00 (your time)"),
    (CHINESE, "借款人当地时间: 芝加哥 12-01 23:58 (UTC−06:00) 13:58（您的时间）",
     "下次允许联系: 芝加哥 08:00 (UTC−06:00) · 22:00（您的时间）"),
])
def test_the_account_page_shows_a_chicago_borrowers_own_clock(client, collector, chicago, language, local_time,
                                                                next_allowed):
    body = _page(client, collector, reverse("loan_detail", args=[chicago.loan_ref]), language)
    # 23:58 on the 1st in Chicago, never the desk's 13:58 on the 2nd labelled "America/Chicago"; the
    # collector's own time beside it.
    assert local_time in body
    assert "13:58 America/Chicago" not in body
    # The window opens at 08:00 in Chicago, which is 22:00 at the desk.
    assert next_allowed in body


@pytest.mark.parametrize(("language", "local_time", "next_allowed"), [
    (ENGLISH, "Borrower's local time: London 05:58 (UTC+00:00) 13:58 (your time)",
     "Next allowed: London 08:00 (UTC+00:00) · 16:00 (your time)"),
    (CHINESE, "借款人当地时间: 伦敦 05:58 (UTC+00:00) 13:58（您的时间）",
     "下次允许联系: 伦敦 08:00 (UTC+00:00) · 16:00（您的时间）"),
])
def test_the_account_page_shows_a_london_borrowers_own_clock(client, collector, london, language, local_time,
                                                               next_allowed):
    body = _page(client, collector, reverse("loan_detail", args=[london.loan_ref]), language)
    assert local_time in body
    assert next_allowed in body


@pytest.mark.parametrize(("language", "expected"), [
    (ENGLISH, "Chicago 12-01 10:00 (UTC−06:00)"),
    (CHINESE, "芝加哥 12-01 10:00 (UTC−06:00)"),
])
def test_the_contact_history_is_on_the_borrowers_clock_with_the_date_when_it_is_not_the_readers_today(
        client, collector, chicago, language, expected):
    attempt_record(external_id="D-1", loan=chicago, phone=chicago.borrower.phones.get(), channel="call",
                   direction="outbound", started_at=dt.datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
                   outcome="no_answer", collector=collector, actor=None)
    body = _page(client, collector, reverse("loan_detail", args=[chicago.loan_ref]), language)
    assert expected in body


def test_the_account_page_names_the_zone_whose_window_binds_when_the_number_is_elsewhere(client, collector, clock):
    """A Denver borrower on a New York number: at 22:58 in Denver (00:58 in New York) the first instant inside the
    window in both zones is 08:00 in Denver, 10:00 in New York; Denver's window sets it."""
    denver = _account(collector, zone="America/Denver", jurisdiction="US", e164="+12125550100")
    body = _page(client, collector, reverse("loan_detail", args=[denver.loan_ref]), ENGLISH)
    assert ("Denver 08:00 (UTC−07:00) · New York 10:00 (UTC−05:00) (the contact window in Denver binds)"
            " · 23:00 (your time)") in body
    body = _page(client, collector, reverse("loan_detail", args=[denver.loan_ref]), CHINESE)
    assert "丹佛 08:00 (UTC−07:00) · 纽约 10:00 (UTC−05:00) （以丹佛的联系时段为准） · 23:00（您的时间）" in body


@pytest.mark.parametrize(("language", "expected"), [
    (ENGLISH, "ends London 12-10 00:00 (UTC+00:00) · 12-10 08:00 (your time) · first day allowed: 12-10 "
              "(borrower's date)"),
    (CHINESE, "结束于 伦敦 12-10 00:00 (UTC+00:00) · 12-10 08:00（您的时间） · 首个可联系日：12-10（借款人日期）"),
])
def test_a_hold_until_the_10th_shows_its_exact_end_and_the_10th_as_the_first_day_allowed(
        client, collector, supervisor, london, language, expected):
    hold_until_place(loan=london, until=dt.date(2026, 12, 10), reason="borrower in hospital", actor=supervisor)
    body = _page(client, collector, reverse("loan_detail", args=[london.loan_ref]), language)
    # Midnight in London is 08:00 at the desk: "→ 2026-12-10" read as "through the 10th".
    assert expected in body
    assert "→ 2026-12-10" not in body


# --- The worklist --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "chicago_time", "london_time"), [
    (ENGLISH, "Chicago 08:00 (UTC−06:00)", "London 08:00 (UTC+00:00)"),
    (CHINESE, "芝加哥 08:00 (UTC−06:00)", "伦敦 08:00 (UTC+00:00)"),
])
def test_the_worklist_gives_next_allowed_on_the_collectors_and_each_borrowers_clock(
        client, collector, chicago, london, language, chicago_time, london_time):
    worklist_build(collector=collector)
    blocked = _html(client, collector, reverse("worklist"), language).split('class="card blocked"')[1]
    rows = {ref: _text(row) for row in blocked.split("<tr>")[1:] for ref in (chicago.loan_ref, london.loan_ref)
            if ref in row}
    # The collector's column, then the borrower's.
    assert f"22:00 {chicago_time}" in rows[chicago.loan_ref]
    assert f"16:00 {london_time}" in rows[london.loan_ref]
    assert "America/Chicago" not in _text(blocked)


# --- Callbacks -------------------------------------------------------------------------------------------------


def _callback(loan, collector, due_at):
    return Callback.objects.create(loan=loan, collector=collector, due_at=due_at)


def test_a_callback_is_due_from_its_time_and_due_soon_in_the_half_hour_before_it(client, collector, clock):
    """A callback of a London borrower at 09:00 London (17:00 at the desk), on a worklist built at 08:00 London:
    listed first all day, but "due" only from its time, and "due soon" in the half hour before it, when a call
    already counts as the callback (desk.services.outcome_record closes it)."""
    loan = _account(collector, zone="Europe/London", jurisdiction="UK", e164="+442079460123")
    rest = _account(collector, zone="Europe/London", jurisdiction="UK", e164="+442079460124", balance="9000.00")
    _callback(loan, collector, dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    clock.move_to(dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC))  # 08:00 London: both contactable
    worklist_build(collector=collector)
    url = reverse("worklist")

    body = _page(client, collector, url, ENGLISH)
    assert body.index(loan.loan_ref) < body.index(rest.loan_ref)
    assert "Callback later today" in body and "Callback due" not in body
    assert "Callback later today London 09:00 (UTC+00:00) · 17:00 (your time)" in body
    assert "回拨：今日稍后 伦敦 09:00 (UTC+00:00) · 17:00（您的时间）" in _page(client, collector, url, CHINESE)

    clock.move_to(dt.datetime(2026, 12, 2, 8, 31, tzinfo=UTC))  # 29 minutes before
    assert "Callback due soon (calling now counts) London 09:00" in _page(client, collector, url, ENGLISH)
    assert "回拨即将到期（现在拨打即算回拨） 伦敦 09:00" in _page(client, collector, url, CHINESE)

    clock.move_to(dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    assert "Callback due London 09:00 (UTC+00:00) · 17:00 (your time)" in _page(client, collector, url, ENGLISH)
    assert "回拨到期 伦敦 09:00 (UTC+00:00) · 17:00（您的时间）" in _page(client, collector, url, CHINESE)


def test_an_overdue_callback_is_due_and_a_loan_is_ordered_by_its_earliest_callback(client, collector, clock):
    clock.move_to(dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # 10:00 London, 18:00 at the desk
    overdue = _account(collector, zone="Europe/London", jurisdiction="UK", e164="+442079460123")
    later = _account(collector, zone="Europe/London", jurisdiction="UK", e164="+442079460124")
    _callback(overdue, collector, dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # yesterday, never made
    _callback(overdue, collector, dt.datetime(2026, 12, 2, 15, 0, tzinfo=UTC))  # and another one tonight
    _callback(later, collector, dt.datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    worklist_build(collector=collector)
    body = _page(client, collector, reverse("worklist"), ENGLISH)
    assert body.index(overdue.loan_ref) < body.index(later.loan_ref)
    assert "Callback due London 12-01 09:00 (UTC+00:00) · 12-01 17:00 (your time)" in body
    assert "Callback later today London 12:00 (UTC+00:00) · 20:00 (your time)" in body


@pytest.mark.parametrize(("language", "expected"), [
    (ENGLISH, "Callback scheduled Chicago 09:00 (UTC−06:00) · 23:00 (your time)"),
    (CHINESE, "已安排回拨 芝加哥 09:00 (UTC−06:00) · 23:00（您的时间）"),
])
def test_the_account_page_lists_callbacks_on_both_clocks_with_whether_they_are_due(client, collector, chicago,
                                                                                    language, expected):
    _callback(chicago, collector, dt.datetime(2026, 12, 2, 15, 0, tzinfo=UTC))  # 09:00 Chicago, 23:00 Shanghai
    body = _page(client, collector, reverse("loan_detail", args=[chicago.loan_ref]), language)
    assert expected in body


def test_the_call_page_shows_the_borrowers_clock(client, collector, clock):
    clock.move_to(dt.datetime(2026, 12, 2, 16, 0, tzinfo=UTC))  # 10:00 Chicago, 00:00 on the 3rd at the desk
    loan = _account(collector, zone="America/Chicago", jurisdiction="US", e164="+13125550123")
    client.force_login(collector)
    response = client.post(reverse("call_start", args=[loan.loan_ref]), {"phone_id": loan.borrower.phones.get().pk})
    body = _page(client, collector, response["Location"], CHINESE)
    assert "芝加哥 12-02 10:00 (UTC−06:00)" in body and "00:00（您的时间）" in body


def test_a_refused_callback_proposes_the_next_allowed_time_on_the_borrowers_clock(client, collector, clock):
    clock.move_to(dt.datetime(2026, 12, 2, 16, 0, tzinfo=UTC))  # 10:00 Chicago
    loan = _account(collector, zone="America/Chicago", jurisdiction="US", e164="+13125550123")
    client.force_login(collector)
    location = client.post(reverse("call_start", args=[loan.loan_ref]),
                           {"phone_id": loan.borrower.phones.get().pk})["Location"]
    response = client.post(location, {"outcome": "no_answer", "callback_at": "2026-12-02T22:00"},
                           HTTP_ACCEPT_LANGUAGE=ENGLISH)
    assert response.status_code == 422
    # 22:00 in Chicago is after the window: the next allowed is 08:00 the next morning there, 22:00 at the desk.
    # The desk is already on the 3rd, so no date: 08:00 on the reader's today.
    assert "Next allowed: Chicago 08:00 (UTC−06:00) (borrower's time)" in _text(response.content.decode())


@pytest.mark.parametrize("n", [1, 10])
def test_the_worklist_takes_no_query_more_for_its_callbacks_whatever_their_number(client, collector, clock, n):
    """Each row's earliest open callback comes with the page of rows (a subquery), not with a query of its own."""
    clock.move_to(dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # 10:00 London: contactable
    plain = _account(collector, zone="Europe/London", jurisdiction="UK", e164="+442079460199")
    worklist_build(collector=collector)
    client.force_login(collector)
    with CaptureQueriesContext(connection) as without:
        client.get(reverse("worklist"))
    for i in range(n):
        loan = _account(collector, zone="Europe/London", jurisdiction="UK", e164=f"+4420794601{i:02d}")
        _callback(loan, collector, dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    worklist_build(collector=collector)
    with CaptureQueriesContext(connection) as queries:
        body = _text(client.get(reverse("worklist")).content.decode())
    assert body.count("Callback due London 09:00") == n and plain.loan_ref in body
    assert len(queries) == len(without)
