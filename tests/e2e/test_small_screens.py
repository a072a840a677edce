"""On a phone (390 × 844) the worklist, the account and the call pages fit the screen: nothing scrolls sideways,
the top bar keeps Sign out on screen, the worklist rows are cards with their numbers whole. Screenshots go to
tests/e2e/artifacts/ in both languages."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.desk.services import worklist_build
from tests import factories as f
from tests.e2e.helpers import sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


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


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_collectors_pages_fit_a_phone(phone_page, live_server, desk, artifacts, language):
    page = phone_page
    loan = desk[0]
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_phone")
        page.click(f"form.lang button[value={language}]")
        page.wait_for_url(f"{live_server.url}/worklist/")
        overflow = {}
        for name, url in (("worklist", "/worklist/"), ("account", f"/loans/{loan.loan_ref}/")):
            page.goto(f"{live_server.url}{url}")
            overflow[name] = page.evaluate(OVERFLOW)
            page.screenshot(path=str(artifacts / f"phone-{name}-{language}.png"), full_page=True)
            sign_out = page.locator(".topbar form[action$='/logout/'] button").bounding_box()
            assert sign_out is not None and sign_out["x"] + sign_out["width"] <= 390, name
        page.goto(f"{live_server.url}/worklist/")
        card = page.locator("table.worklist tbody tr").first.bounding_box()
        assert card is not None and card["width"] <= 390 - 2 * 8
        number = page.locator("table.worklist button.call .mono").first
        assert number.evaluate("el => el.scrollWidth <= el.clientWidth + 1")  # the masked number is whole
        page.goto(f"{live_server.url}/loans/{loan.loan_ref}/")
        page.click("button[data-call]")
        page.wait_for_selector("a[data-dial]")
        overflow["call"] = page.evaluate(OVERFLOW)
        page.screenshot(path=str(artifacts / f"phone-call-{language}.png"), full_page=True)
    assert overflow == {"worklist": 0, "account": 0, "call": 0}
