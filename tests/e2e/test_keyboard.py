"""The desk by keyboard, in a real browser: j / k move the focus through the worklist (the row itself takes it),
Enter opens the account, c starts the call, Ctrl+Enter saves the outcome; the keys are matched on the physical
key, so they work while a Chinese input method turns every letter's `key` into "Process"."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.desk.services import worklist_build
from collections_app.models import ContactAttempt
from tests import factories as f
from tests.e2e.helpers import sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
# What Chromium sends for "j" with a Chinese input method on and nothing being composed.
IME_KEY = """([code, key]) => document.activeElement.dispatchEvent(
    new KeyboardEvent("keydown", {code, key, bubbles: true, cancelable: true}))"""


@pytest.fixture
def desk(reference_data):
    with time_machine.travel(MORNING, tick=True):
        collector = f.make_collector("collector_keys", f.make_supervisor("supervisor_keys", "Team Keys")[1])
        loans = []
        for i in range(3):
            loan = f.LoanFactory(assigned_collector=collector, due_date=MORNING.date() - dt.timedelta(days=30),
                                 balance=f"{9000 - 1000 * i}.00")
            f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=loan.borrower),
                             granted_at=MORNING - dt.timedelta(days=60))
            loans.append(loan)
        worklist_build(collector=collector)
        yield loans


def _focused_href(page):
    return page.evaluate("document.activeElement.dataset.href || document.activeElement.tagName")


def test_the_worklist_and_the_call_by_keyboard_with_an_input_method_on(page, live_server, desk):
    first, second, _third = desk
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_keys")
        page.locator("h1").click()  # nothing focused that takes typing
        page.keyboard.press("j")
        assert _focused_href(page) == f"/loans/{first.loan_ref}/"
        page.evaluate(IME_KEY, ["KeyJ", "Process"])
        assert _focused_href(page) == f"/loans/{second.loan_ref}/"
        page.evaluate(IME_KEY, ["KeyK", "Process"])
        assert _focused_href(page) == f"/loans/{first.loan_ref}/"
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server.url}/loans/{first.loan_ref}/")
        page.go_back()
        page.wait_for_url(f"{live_server.url}/worklist/")
        page.locator("h1").click()
        page.keyboard.press("j")
        page.evaluate(IME_KEY, ["KeyC", "Process"])  # starts the call from the focused row
        page.wait_for_selector("a[data-dial]")
        page.check("input[name=outcome][value=no_answer]")
        page.locator("textarea[name=note]").fill("没人接")
        page.keyboard.press("Control+Enter")
        page.wait_for_url(f"{live_server.url}/loans/{first.loan_ref}/")
    assert list(ContactAttempt.objects.values_list("loan_id", "outcome")) == [(first.pk, "no_answer")]


def test_a_skip_link_leads_past_the_navigation(page, live_server, desk):
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_keys")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
