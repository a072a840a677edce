"""A collector's day in a real browser: sign in, worklist, open an account, call, record the outcome; a second Call
while one is open leads back to it; save and next opens the next account of the list."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.models import ContactAttempt
from tests import factories as f
from tests.e2e.helpers import reason_text, sign_in_collector

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


def test_a_collector_calls_an_account_and_records_no_answer(page, live_server, desk):
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_e2e")
        page.wait_for_selector("table.worklist")
        loan = desk["open"]
        page.click(f"a:text('{loan.loan_ref}')")
        page.wait_for_selector("button[data-call]")
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
        assert reason_text("CEASE_COMMUNICATION", "zh-hans") in page.inner_text("table.numbers")
        assert page.locator("button[data-call]").count() == 0


def test_a_second_call_on_the_same_account_leads_to_the_open_call(page, live_server, desk):
    loan = desk["open"]
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_e2e")
        page.goto(f"{live_server.url}/loans/{loan.loan_ref}/")
        page.click("button[data-call]")
        page.wait_for_selector("a[data-dial]")
        call = page.url
        # Back on the account, the call still open: the page says so and links to it.
        page.goto(f"{live_server.url}/loans/{loan.loan_ref}/")
        assert page.get_attribute("a[data-open-call]", "href") == call.removeprefix(live_server.url)
        page.click("button[data-call]")  # Call again, from the account
        page.wait_for_url(call)
        assert page.locator(".messages .msg.error").count() == 1
        page.goto(f"{live_server.url}/worklist/")
        page.click(f"table.worklist tr[data-href='/loans/{loan.loan_ref}/'] button.call")  # and from the worklist
        page.wait_for_url(call)
        assert page.locator("a[data-dial]").count() == 1
    # One call reserved: the others spent none of the day's attempts.
    assert ContactAttempt.objects.filter(loan=loan).count() == 1


def test_save_and_next_records_the_outcome_and_opens_the_next_account_of_the_list(page, live_server, desk):
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_e2e")
        rows = page.locator("table.worklist tbody tr[data-href]")
        order = [rows.nth(i).get_attribute("data-href") for i in range(rows.count())]
        assert len(order) >= 3
        rows.first.locator("button.call").first.click()
        page.wait_for_selector("a[data-dial]")
        page.check("input[name=outcome][value=no_answer]")
        page.click("button[data-save-next]")
        page.wait_for_url(f"{live_server.url}{order[1]}")
        assert page.locator(".messages .msg.success").count() == 1
        # The worked account stays on the list, marked; the next Save and next skips it.
        page.click("button[data-call]")
        page.wait_for_selector("a[data-dial]")
        page.check("input[name=outcome][value=no_answer]")
        page.click("button[data-save-next]")
        page.wait_for_url(f"{live_server.url}{order[2]}")
        page.goto(f"{live_server.url}/worklist/")
        worked = page.locator("table.worklist tbody tr.worked")
        assert [worked.nth(i).get_attribute("data-href") for i in range(worked.count())] == order[:2]
    first, second = (ref.split("/")[2] for ref in order[:2])
    assert sorted(ContactAttempt.objects.values_list("loan__loan_ref", "outcome")) == sorted(
        [(first, "no_answer"), (second, "no_answer")])


def test_switching_to_english_changes_the_ui(page, live_server, desk):
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_e2e")
        assert "今日工作清单" in page.inner_text("h1")
        page.click("button[name=language][value=en]")
        page.wait_for_selector("h1:text(\"Today's worklist\")")
        assert "Sign out" in page.inner_text("header")
