"""The call's outcome form by keyboard, in a real browser (Chromium): each date or time box is one Tab stop (its
`<input type="datetime-local">` took five, one per segment, and each date three), and a refused submit puts the
focus on the summary of what to correct, whose links lead to the boxes; a form htmx swaps in does the same."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.contact.services import contact_start
from collections_app.models import Callback
from tests import factories as f
from tests.e2e.helpers import sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
FOCUSED = "(() => { const e = document.activeElement; return e.name || e.dataset.saveNext && 'save_next' || " \
          "(e.type === 'submit' ? 'submit:' + e.textContent.trim() : e.tagName); })()"


@pytest.fixture
def call(reference_data):
    """A call in progress: the collector's, on a CN account with one consented number."""
    with time_machine.travel(MORNING, tick=True):
        collector = f.make_collector("collector_tabs", f.make_supervisor("supervisor_tabs", "Team Tabs")[1])
        loan = f.LoanFactory(assigned_collector=collector, due_date=MORNING.date() - dt.timedelta(days=30))
        phone = f.PhoneNumberFactory(borrower=loan.borrower)
        f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=60))
        attempt, _decision = contact_start(loan=loan, phone=phone, channel="call", collector=collector)
        assert attempt is not None
        yield attempt


def _tab_stops_to(page, name: str, limit: int = 30) -> list[str]:
    """Press Tab until the focus is on the element named `name` (or `limit` presses): what had the focus at each
    stop, the last one included."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(FOCUSED))
        if stops[-1] == name:
            break
    return stops


def test_from_the_callback_time_to_save_each_box_is_one_tab_stop(page, live_server, call):
    with time_machine.travel(MORNING + dt.timedelta(minutes=2), tick=True):
        sign_in_collector(page, live_server, "collector_tabs")
        page.goto(f"{live_server.url}/attempts/{call.pk}/")
        page.focus("input[name=callback_at]")
        stops = _tab_stops_to(page, "submit:保存结果")
    # The callback time, the hold's date and the promise's date each take one stop.
    assert stops == ["hold_until", "promise_amount", "promise_date", "dispute", "cease", "note", "submit:保存结果"]
    assert len(stops) == 7


def test_a_refused_callback_moves_the_focus_to_the_summary_and_its_link_to_the_box(page, live_server, call):
    with time_machine.travel(MORNING + dt.timedelta(minutes=2), tick=True):
        sign_in_collector(page, live_server, "collector_tabs")
        page.goto(f"{live_server.url}/attempts/{call.pk}/")
        page.check("input[name=outcome][value=conversation]")
        page.fill("input[name=callback_at]", "下周某天")  # no date: refused by the box
        with page.expect_navigation():
            page.click("button.primary[type=submit]")
        assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
        assert page.get_attribute("[data-error-summary]", "role") == "alert"
        assert "年-月-日 时:分" in page.inner_text("[data-error-summary]")
        box = page.locator("input[name=callback_at]")
        assert box.get_attribute("aria-invalid") == "true"
        assert "id_callback_at_error" in box.get_attribute("aria-describedby")
        page.keyboard.press("Tab")  # from the summary, the first link
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.name") == "callback_at"
        # Corrected in the borrower's words: tomorrow at 10:30.
        page.fill("input[name=callback_at]", "明天 10点半")
        with page.expect_navigation():
            page.click("button.primary[type=submit]")
    assert Callback.objects.get().due_at == dt.datetime(2027, 3, 4, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_reveal_refused_through_htmx_is_swapped_in_with_the_focus_on_its_summary(page, live_server, call):
    with time_machine.travel(MORNING + dt.timedelta(minutes=2), tick=True):
        sign_in_collector(page, live_server, "collector_tabs")
        page.goto(f"{live_server.url}/loans/{call.loan.loan_ref}/")
        phone_id = call.phone_id
        page.click(f"#reveal-{phone_id} summary")
        page.fill(f"#id_reveal_{phone_id}_reason", "   ")  # passes the browser's required check, not the desk's
        page.click(f"#reveal-{phone_id} button[type=submit]")
        page.wait_for_selector(f"#reveal-{phone_id} [data-error-summary]")
        assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
        assert page.get_attribute(f"#id_reveal_{phone_id}_reason", "aria-invalid") == "true"
        assert page.url.endswith(f"/loans/{call.loan.loan_ref}/")  # swapped in, not a page of its own
