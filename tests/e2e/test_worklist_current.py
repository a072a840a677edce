"""In a real browser, an open worklist keeps itself current without Refresh: the list the nightly job built at 05:30
shows the CN accounts as contactable once the window opens at 08:00, and a consent a compliance officer withdraws
in the admin, in another browser, takes its account off "contactable now"."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.desk.tasks import build_due_worklists
from collections_app.models import WorklistEntry
from consent_app.models import Consent
from tests import factories as f
from tests.e2e.helpers import DESKTOP, reason_text, screenshot, sign_in, sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
BUILD = dt.datetime(2027, 3, 3, 5, 30, tzinfo=SHANGHAI)  # WORKLIST_BUILD_TIME on the team's clock
DAWN = BUILD.replace(hour=7, minute=58)


@pytest.fixture
def clock():
    with time_machine.travel(BUILD, tick=True) as traveller:
        yield traveller


@pytest.fixture
def accounts(reference_data, clock):
    collector = f.make_collector("collector_poll", f.make_supervisor("supervisor_poll", "Team Poll")[1])
    loans = []
    for i in range(2):
        loan = f.LoanFactory(assigned_collector=collector, due_date=BUILD.date() - dt.timedelta(days=30 + i))
        f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=loan.borrower), granted_at=BUILD - dt.timedelta(days=60))
        loans.append(loan)
    # beat's 05:30 run: the team's zone, one chunk. Its eager result is read, not joined with .get(): Celery marks
    # "inside a task" in a process-wide flag, which the live server's thread sets while it runs an eager task for
    # a page an earlier test left open, and .get() would refuse then.
    assert build_due_worklists.delay().result == 1
    assert list(WorklistEntry.objects.values_list("contactable", flat=True)) == [False, False]
    return loans


def _contactable(page):
    return page.locator("section.card:not(.blocked) table.worklist")


def test_the_open_worklist_follows_the_clock_and_the_facts_without_refresh(open_page, live_server, settings, clock,
                                                                            accounts, artifacts):
    settings.WORKLIST_POLL_SECONDS = 1
    first, second = accounts
    page = open_page(DESKTOP)
    polls: list[str] = []
    page.on("request", lambda request: request.headers.get("hx-request") and polls.append(
        request.headers.get("x-desk-poll", "")))
    clock.move_to(DAWN)
    sign_in_collector(page, live_server, "collector_poll")
    blocked = page.locator("section.card.blocked")
    assert first.loan_ref in blocked.inner_text() and second.loan_ref in blocked.inner_text()
    assert reason_text("OUTSIDE_CONTACT_HOURS", "zh-hans") in blocked.inner_text()

    clock.move_to(DAWN.replace(hour=8, minute=0, second=5))  # the window opens; the page is not reloaded
    page.wait_for_function(
        "refs => refs.every(ref => document.querySelector('section.card:not(.blocked)').innerText.includes(ref))",
        arg=[first.loan_ref, second.loan_ref], timeout=15000,
    )
    assert page.locator("section.card:not(.blocked) button.call").count() == 2
    screenshot(page, artifacts, "collector", "worklist-at-0800", DESKTOP, "zh-hans")

    # A compliance officer withdraws the first borrower's consent in the admin, in another browser.
    consent = Consent.objects.get(phone__borrower=first.borrower)
    admin = open_page(DESKTOP)
    sign_in(admin, live_server, f.make_compliance())
    admin.goto(f"{live_server.url}/admin/consent_app/consent/{consent.pk}/change/")
    admin.select_option("select[name=withdraw_via]", "phone")
    admin.check("input[name=withdraw_channels][value=call]")
    admin.check("input[name=withdraw_channels][value=sms]")
    admin.fill("input[name=withdraw_evidence_ref]", "REC-2027-0001")
    admin.check("input[name=withdraw_confirm]")
    with admin.expect_navigation():
        admin.click("input[name=_save]")
    assert re.fullmatch(r".*/admin/consent_app/consent/(\?.*)?", admin.url)  # saved: back to the list
    assert admin.locator("ul.messagelist li.success").count() == 1

    page.wait_for_function(
        "ref => document.querySelector('section.card.blocked').innerText.includes(ref)",
        arg=first.loan_ref, timeout=15000,
    )
    contactable = _contactable(page).inner_text()
    assert second.loan_ref in contactable and first.loan_ref not in contactable
    assert reason_text("CONSENT_WITHDRAWN", "zh-hans") in page.locator("section.card.blocked").inner_text()
    # Timed refreshes say so, and do not count as the collector's activity (the idle session still ends).
    assert polls and set(polls) == {"timer"}
