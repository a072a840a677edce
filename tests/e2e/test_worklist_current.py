"""In a real browser, an open worklist keeps itself current without Refresh: a list built at 05:30 shows the CN
accounts as contactable once the window opens at 08:00, and a consent withdrawn elsewhere takes its account off
"contactable now"."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.desk.tasks import build_all_worklists
from consent_app.services import consent_withdraw
from tests import factories as f
from tests.e2e.helpers import sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAWN = dt.datetime(2027, 3, 3, 7, 58, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(DAWN, tick=True) as traveller:
        yield traveller


@pytest.fixture
def accounts(reference_data, clock):
    collector = f.make_collector("collector_poll", f.make_supervisor("supervisor_poll", "Team Poll")[1])
    loans = []
    for i in range(2):
        loan = f.LoanFactory(assigned_collector=collector, due_date=DAWN.date() - dt.timedelta(days=30 + i))
        f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=loan.borrower), granted_at=DAWN - dt.timedelta(days=60))
        loans.append(loan)
    build_all_worklists.delay()  # the nightly build, before the window opens
    return loans


def _contactable(page):
    return page.locator("section.card:not(.blocked) table.worklist")


def test_the_open_worklist_follows_the_clock_and_the_facts_without_refresh(page, live_server, settings, clock,
                                                                            accounts, artifacts):
    settings.WORKLIST_POLL_SECONDS = 1
    first, second = accounts
    polls: list[str] = []
    page.on("request", lambda request: request.headers.get("hx-request") and polls.append(
        request.headers.get("x-desk-poll", "")))
    sign_in_collector(page, live_server, "collector_poll")
    blocked = page.locator("section.card.blocked")
    assert first.loan_ref in blocked.inner_text() and second.loan_ref in blocked.inner_text()
    assert "OUTSIDE_CONTACT_HOURS" in blocked.inner_text()

    clock.move_to(DAWN.replace(hour=8, minute=0, second=5))  # the window opens; the page is not reloaded
    page.wait_for_function(
        "refs => refs.every(ref => document.querySelector('section.card:not(.blocked)').innerText.includes(ref))",
        arg=[first.loan_ref, second.loan_ref], timeout=15000,
    )
    assert page.locator("section.card:not(.blocked) button.call").count() == 2
    page.screenshot(path=str(artifacts / "worklist-polled-0800.png"), full_page=True)

    consent_withdraw(consent=first.borrower.phones.get().consents.get(), via="phone", actor=f.make_compliance())
    page.wait_for_function(
        "ref => document.querySelector('section.card.blocked').innerText.includes(ref)",
        arg=first.loan_ref, timeout=15000,
    )
    contactable = _contactable(page).inner_text()
    assert second.loan_ref in contactable and first.loan_ref not in contactable
    # Timed refreshes say so, and do not count as the collector's activity (the idle session still ends).
    assert polls and set(polls) == {"timer"}
    assert "CONSENT_WITHDRAWN" in page.locator("section.card.blocked").inner_text()
