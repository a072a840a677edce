"""On a phone (390 × 844) the worklist's rows are cards within the screen, with their numbers whole. That every page
fits a phone (nothing scrolls sideways, Sign out on screen) is checked for every role's pages, with screenshots,
by test_tours.py."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.desk.services import worklist_build
from tests import factories as f
from tests.e2e.helpers import LANGUAGES, PHONE, choose_language, sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WHOLE = "el => el.scrollWidth <= el.clientWidth + 1 && el.getClientRects().length == 1"  # not cut, on one line


@pytest.fixture
def desk(reference_data):
    with time_machine.travel(MORNING, tick=True):
        collector = f.make_collector("collector_phone", f.make_supervisor("supervisor_phone", "Team Phone")[1])
        loans = []
        for i in range(4):
            loan = f.LoanFactory(assigned_collector=collector, due_date=MORNING.date() - dt.timedelta(days=40 * i + 5),
                                 balance=f"{123456 - 1000 * i}.00")
            for _ in range(2):
                f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=loan.borrower),
                                 granted_at=MORNING - dt.timedelta(days=60))
            loans.append(loan)
        f.RestrictionFactory(borrower=loans[-1].borrower, kind="temporary_hold",
                             ends_at=MORNING + dt.timedelta(days=3))
        worklist_build(collector=collector)
        yield loans


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_worklist_rows_are_cards_with_whole_numbers_on_a_phone(open_page, live_server, desk, language):
    page = open_page(PHONE)
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_phone")
        choose_language(page, language)
        cards = page.locator("table.worklist tbody tr")
        assert cards.count() == 3
        for i in range(cards.count()):
            card = cards.nth(i).bounding_box()
            assert card is not None and card["x"] >= 8 and card["width"] <= PHONE.width - 2 * 8
        numbers = page.locator("table.worklist button.call .mono")
        assert numbers.count() == 6
        for i in range(numbers.count()):
            assert numbers.nth(i).evaluate(WHOLE)
