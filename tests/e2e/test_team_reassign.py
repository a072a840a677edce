"""A supervisor moves an account from one collector to another in a real browser: the top bar's search by a number's
last four digits, the account picked among the results, reassigned from its row; both collectors' open worklists
follow without Refresh (the page polls every WORKLIST_POLL_SECONDS, shortened here)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.desk.services import worklist_build
from collections_app.models import Loan
from tests import factories as f
from tests.e2e.helpers import DESKTOP, LAPTOP, sign_in, sign_in_collector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=True) as traveller:
        yield traveller


@pytest.fixture
def team(reference_data, clock):
    supervisor, team = f.make_supervisor("supervisor_move", "Team Move")
    giving, taking = f.make_collector("collector_giving", team), f.make_collector("collector_taking", team)
    loans = {}
    for name, collector, e164 in (("moved", giving, "+8613800004321"), ("kept", giving, "+8613900001234"),
                                  ("theirs", taking, "+8615000005678"),
                                  # another team's account on the same last four: not the supervisor's to see
                                  ("elsewhere", f.make_collector("collector_other", f.make_supervisor(
                                      "supervisor_other", "Team Other")[1]), "+8618600004321")):
        loan = f.LoanFactory(assigned_collector=collector, due_date=MORNING.date() - dt.timedelta(days=30))
        f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=loan.borrower, e164=e164),
                         granted_at=MORNING - dt.timedelta(days=60))
        loans[name] = loan
    for collector in (giving, taking):
        worklist_build(collector=collector)
    return {"supervisor": supervisor, "giving": giving, "taking": taking, **loans}


def _worklist_refs(page):
    return page.locator("table.worklist tbody tr[data-href] a").all_inner_texts()


def test_a_supervisor_finds_an_account_by_its_last_four_digits_and_reassigns_it(open_page, live_server, settings,
                                                                                team):
    settings.WORKLIST_POLL_SECONDS = 2
    moved = team["moved"]
    giving, taking = open_page(LAPTOP), open_page(LAPTOP)
    sign_in_collector(giving, live_server, "collector_giving")
    sign_in_collector(taking, live_server, "collector_taking")
    assert sorted(_worklist_refs(giving)) == sorted([moved.loan_ref, team["kept"].loan_ref])
    assert _worklist_refs(taking) == [team["theirs"].loan_ref]

    page = open_page(DESKTOP)
    sign_in(page, live_server, team["supervisor"])
    page.fill(".topsearch input[name=q]", "4321")
    page.keyboard.press("Enter")
    page.wait_for_selector("table.results")
    rows = page.locator("table.results tbody tr[data-href]")
    # The other team's account on the same four digits is not listed.
    assert [rows.nth(i).get_attribute("data-href") for i in range(rows.count())] == [f"/loans/{moved.loan_ref}/"]
    row = rows.first
    assert row.locator("select[name=collector]").input_value() == "collector_giving"
    row.locator("select[name=collector]").select_option("collector_taking")
    row.locator("form.reassign button[type=submit]").click()
    page.wait_for_selector(".messages .msg.success")
    assert "/search/?q=4321" in page.url  # back on the results it was picked from
    assert "collector_taking" in page.locator("table.results tbody tr[data-href]").first.inner_text()

    # Both open worklists follow, without Refresh.
    giving.wait_for_function(
        "ref => ![...document.querySelectorAll('table.worklist tbody tr[data-href] a')].some(a => a.innerText == ref)",
        arg=moved.loan_ref, timeout=15000)
    taking.wait_for_function(
        "ref => [...document.querySelectorAll('table.worklist tbody tr[data-href] a')].some(a => a.innerText == ref)",
        arg=moved.loan_ref, timeout=15000)
    assert _worklist_refs(giving) == [team["kept"].loan_ref]
    assert sorted(_worklist_refs(taking)) == sorted([moved.loan_ref, team["theirs"].loan_ref])
    assert Loan.objects.get(pk=moved.pk).assigned_collector == team["taking"]
    assert Loan.objects.get(pk=team["elsewhere"].pk).assigned_collector.username == "collector_other"
