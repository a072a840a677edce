"""A plan the supervisor declined reaches its collector: the top bar's badge counts it and the notification list
shows it with the supervisor's comment, on a desktop (1440 × 900) and on a phone (390 × 844), with nothing
scrolling sideways. Screenshots go to tests/e2e/artifacts/."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.plans.services import plan_decline, plan_propose
from tests import factories as f
from tests.collections_app.plans.helpers import schedule
from tests.e2e.helpers import sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
COMMENT = "Eight months is too long for this balance: offer six installments"
SCREENS = {"desktop": {"viewport": {"width": 1440, "height": 900}},
           "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                     "device_scale_factor": 2}}


@pytest.fixture
def declined(reference_data):
    with time_machine.travel(MORNING, tick=True):
        supervisor, team = f.make_supervisor("supervisor_notes", "Team Notes")
        collector = f.make_collector("collector_notes", team)
        loan = f.LoanFactory(assigned_collector=collector, balance="6000.00",
                             due_date=MORNING.date() - dt.timedelta(days=45))
        plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector,
                            reason="needs time")
        plan_decline(plan=plan, comment=COMMENT, actor=supervisor)
        yield plan


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_a_declined_plan_shows_in_the_collectors_notifications_with_the_badge(browser, live_server, declined,
                                                                             artifacts, screen):
    context = browser.new_context(locale="zh-CN", **SCREENS[screen])
    page = context.new_page()
    page.set_default_timeout(15000)
    width = SCREENS[screen]["viewport"]["width"]
    try:
        with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
            sign_in_collector(page, live_server, "collector_notes")
            badge = page.locator(".topbar .notifications-link .badge")
            assert badge.get_attribute("data-unread") == "1"
            box = badge.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width  # on screen
            page.click(".topbar .notifications-link")
            page.wait_for_url(f"{live_server.url}/notifications/")
            item = page.locator("li.notification.unread[data-notification]").first
            assert COMMENT in item.inner_text()
            assert f"#{declined.pk}" in item.inner_text()
            assert item.locator(f"a[href='/loans/{declined.loan.loan_ref}/']").count() == 1
            overflow = page.evaluate(OVERFLOW)
            page.screenshot(path=str(artifacts / f"notifications-{screen}-{width}.png"), full_page=True)
            sign_out = page.locator(".topbar form[action$='/logout/'] button").bounding_box()
            assert sign_out is not None and sign_out["x"] + sign_out["width"] <= width
            # Read: the badge goes.
            item.locator("button[type=submit]").click()
            page.wait_for_url(f"{live_server.url}/notifications/")
            assert page.locator(".topbar .notifications-link .badge").count() == 0
            assert page.locator("li.notification.unread").count() == 0
    finally:
        context.close()
    assert overflow == 0
