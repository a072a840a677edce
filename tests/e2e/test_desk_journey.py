"""A collector's day in a real browser: sign in, worklist, open an account, call, record the outcome."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests import factories as f
from tests.e2e.helpers import sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def desk(reference_data):
    with time_machine.travel(MORNING, tick=True):
        _supervisor, team = f.make_supervisor("supervisor_e2e", "Team E2E")
        collector = f.make_collector("collector_e2e", team)
        accounts = []
        for i in range(6):
            loan = f.LoanFactory(assigned_collector=collector, due_date=MORNING.date() - dt.timedelta(days=20 + 40 * i),
                                 balance=f"{1200 + 730 * i}.00")
            phone = f.PhoneNumberFactory(borrower=loan.borrower)
            f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=120))
            accounts.append(loan)
        ceased = accounts[-1]
        f.RestrictionFactory(borrower=ceased.borrower, kind="cease_communication", reason="letter received")
        yield {"collector": collector, "open": accounts[0], "ceased": ceased}


def test_a_collector_calls_an_account_and_records_no_answer(page, live_server, desk, artifacts):
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_e2e")
        page.wait_for_selector("table.worklist")
        page.screenshot(path=str(artifacts / "worklist.png"), full_page=True)
        loan = desk["open"]
        page.click(f"a:text('{loan.loan_ref}')")
        page.wait_for_selector("button[data-call]")
        page.screenshot(path=str(artifacts / "account.png"), full_page=True)
        page.click("button[data-call]")
        page.wait_for_selector("a[data-dial]")
        assert page.get_attribute("a[data-dial]", "href").startswith("tel:+86")
        page.check("input[name=outcome][value=no_answer]")
        page.click("form.outcome button[type=submit]")
        page.wait_for_url(f"{live_server.url}/loans/{loan.loan_ref}/")
        history = page.inner_text("table.history")
        assert "无人接听" in history or "No answer" in history


def test_a_ceased_account_shows_the_reason_and_no_call_action(page, live_server, desk, artifacts):
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_e2e")
        page.goto(f"{live_server.url}/loans/{desk['ceased'].loan_ref}/")
        assert "CEASE_COMMUNICATION" in page.inner_text("table.numbers")
        assert page.locator("button[data-call]").count() == 0


def test_switching_to_english_changes_the_ui(page, live_server, desk):
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_e2e")
        assert "今日工作清单" in page.inner_text("h1")
        page.click("button[name=language][value=en]")
        page.wait_for_selector("h1:text(\"Today's worklist\")")
        assert "Sign out" in page.inner_text("header")
