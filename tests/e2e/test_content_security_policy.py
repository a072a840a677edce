"""No page of the desk breaks its own Content-Security-Policy: a browser reports every violation (an inline style
or script the policy refuses) as a `securitypolicyviolation` event and a console error, and there must be none."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests import factories as f
from tests.e2e.helpers import sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def account(reference_data):
    with time_machine.travel(MORNING, tick=True):
        _supervisor, team = f.make_supervisor("supervisor_csp", "Team CSP")
        collector = f.make_collector("collector_csp", team)
        loan = f.LoanFactory(assigned_collector=collector, due_date=MORNING.date() - dt.timedelta(days=20))
        f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=loan.borrower), granted_at=MORNING - dt.timedelta(days=90))
        yield loan


def test_the_collectors_pages_raise_no_content_security_policy_violation(page, live_server, account):
    console_errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.add_init_script(WATCH)
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        sign_in_collector(page, live_server, "collector_csp")
        seen = {}
        for url in ("/worklist/", f"/loans/{account.loan_ref}/"):
            page.goto(f"{live_server.url}{url}")
            page.wait_for_load_state("networkidle")
            seen[url] = page.evaluate("window.__cspViolations")
        # And the call page, opened from the account's Call button.
        page.goto(f"{live_server.url}/loans/{account.loan_ref}/")
        page.click("button[data-call]")
        page.wait_for_selector("a[data-dial]")
        page.wait_for_load_state("networkidle")
        seen["call"] = page.evaluate("window.__cspViolations")
    assert seen == {url: [] for url in seen}
    assert [text for text in console_errors if "Content Security Policy" in text] == []
