"""Every role's pages on each of the desk's screens (1440 × 900, 1280 × 720 and a 390 × 844 phone), in Chinese and
English: each page answers, fits its width (nothing scrolls sideways), keeps Sign out on screen and shows no raw
code, and is saved as tests/e2e/artifacts/<role>-<page>-<width>-<lang>.png for review.

Each role's pages are data (TOURS): a new page is one line. A stop's `before` changes the desk once before the
page is opened on every screen (the call page needs a call started), so all six copies of a page show the same
state. The role signs in once (its second factor included); the other screens carry its session over."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.complaints.services import complaint_open
from collections_app.contact.services import contact_start
from collections_app.desk.services import FollowUps, note_add, outcome_record, worklist_build
from collections_app.loans.services import loan_assign
from collections_app.models import WorklistEntry
from collections_app.plans.services import plan_decline, plan_propose, promise_create
from tests import factories as f
from tests.e2e.helpers import (
    LANGUAGES,
    VIEWPORTS,
    choose_language,
    cut_tables,
    horizontal_overflow,
    screenshot,
    sign_in,
    sign_out_on_screen,
    visible_raw_codes,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 3 March 2027, 10:00 at the desk: the CN window is open, London's (02:00) is not.
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)


def start_call(desk: dict[str, Any]) -> None:
    """The collector calls the main account's first number: the call page is that attempt's."""
    attempt, _decision = contact_start(loan=desk["main"], phone=desk["main_phone"], channel="call",
                                       collector=desk["users"]["collector"])
    assert attempt is not None
    desk["call"] = attempt.pk


@dataclass(frozen=True)
class Stop:
    name: str  # the page's part of the screenshot's name
    path: str  # formatted with the desk's data: "/loans/{account}/"
    before: Callable[[dict[str, Any]], None] | None = None


TOURS: dict[str, tuple[Stop, ...]] = {
    "collector": (
        Stop("worklist", "/worklist/"),
        Stop("account", "/loans/{account}/"),
        Stop("search", "/search/?q={last_four}"),
        Stop("promise", "/plans/loans/{account}/promise/"),
        Stop("plan", "/plans/loans/{account}/propose/"),
        Stop("complaint-new", "/complaints/new/{account}/"),
        Stop("notifications", "/notifications/"),
        Stop("call", "/attempts/{call}/", before=start_call),
    ),
    "supervisor": (
        Stop("team", "/team/"),
        Stop("team-blocked", "/team/blocked/{blocked_code}/"),
        Stop("collector-attempts", "/team/collectors/{collector}/"),
        Stop("search", "/search/?q={last_four}"),
        Stop("account", "/loans/{account}/"),
        Stop("approvals", "/plans/approvals/"),
        Stop("plan", "/plans/{supervisor_plan}/"),
        Stop("complaints", "/complaints/"),
        Stop("complaint", "/complaints/{complaint}/"),
        Stop("reports", "/plans/reports/"),
        Stop("notifications", "/notifications/"),
    ),
    "compliance": (
        Stop("accounts", "/compliance/"),
        Stop("account", "/loans/{account}/"),
        Stop("team", "/team/"),
        Stop("approvals", "/plans/approvals/"),
        Stop("plan", "/plans/{compliance_plan}/"),
        Stop("complaints", "/complaints/"),
        Stop("complaint", "/complaints/{complaint}/"),
        Stop("complaint-report", "/complaints/report/"),
        Stop("reports", "/plans/reports/"),
        Stop("notifications", "/notifications/"),
        Stop("admin", "/admin/"),
        Stop("admin-consents", "/admin/consent_app/consent/"),
        Stop("admin-consent", "/admin/consent_app/consent/{consent}/change/"),
        Stop("admin-borrower", "/admin/consent_app/borrower/{borrower}/change/"),
        Stop("admin-restrictions", "/admin/consent_app/restriction/"),
        Stop("admin-loan", "/admin/collections_app/loan/{loan_id}/change/"),
        Stop("admin-attempts", "/admin/collections_app/contactattempt/"),
        Stop("admin-complaints", "/admin/collections_app/complaint/"),
        Stop("admin-audit", "/admin/audit_app/auditevent/"),
    ),
}


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def _account(collector, *, days_past_due=30, balance="6000.00", numbers=1, zone="Asia/Shanghai",
             jurisdiction="CN", e164=None, currency="CNY"):
    borrower = f.BorrowerFactory(timezone=zone, jurisdiction=jurisdiction)
    loan = f.LoanFactory(assigned_collector=collector, borrower=borrower, balance=balance, currency=currency,
                         due_date=MORNING.date() - dt.timedelta(days=days_past_due))
    for _ in range(numbers):
        region = {"CN": "CN", "US": "US", "UK": "GB"}[jurisdiction]
        phone = f.PhoneNumberFactory(borrower=borrower, region=region, **({"e164": e164} if e164 else {}))
        f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=120))
    return loan


def _called_yesterday(loan, collector):
    with time_machine.travel(MORNING - dt.timedelta(hours=20), tick=False):  # 14:00
        attempt, _decision = contact_start(loan=loan, phone=loan.borrower.phones.order_by("pk").first(),
                                           channel="call", collector=collector)
        assert attempt is not None
        return outcome_record(attempt=attempt, outcome="no_answer", actor=collector, follow_ups=FollowUps())


@pytest.fixture
def desk(reference_data, clock):
    """A team (supervisor li.qiang, collectors zhou.min and wang.fang) and a compliance officer. The collector's
    accounts, loaded a month ago: contactable (CN, and Chicago at 20:00), blocked (London at 02:00, ceased, on
    hold, under a complaint's hold), one called yesterday with a note and a promise today, two plans waiting for
    approval (the supervisor's and compliance's), one declined and one account moved over from a colleague (the
    collector's notifications)."""
    supervisor, team = f.make_supervisor("li.qiang", "华东一组")
    collector = f.make_collector("zhou.min", team)
    colleague = f.make_collector("wang.fang", team)
    compliance = f.make_compliance("chen.jing")

    with time_machine.travel(MORNING - dt.timedelta(days=30), tick=False):
        main = _account(collector, days_past_due=20, balance="12345.67", numbers=2)
        _account(collector, days_past_due=65, balance="8800.00")
        _account(collector, days_past_due=130, balance="45000.00")
        _account(collector, zone="America/Chicago", jurisdiction="US", e164="+13125550123", currency="USD")
        _account(collector, zone="Europe/London", jurisdiction="UK", e164="+442079460123", currency="GBP")
        ceased = _account(collector)
        f.RestrictionFactory(borrower=ceased.borrower, kind="cease_communication", reason="借款人书面要求停止联系")
        held = _account(collector)
        f.RestrictionFactory(borrower=held.borrower, kind="temporary_hold", reason="借款人住院",
                             ends_at=MORNING + dt.timedelta(days=3))
        complained = _account(collector)
        settled, discounted, declined = (_account(collector, balance="10000.00") for _ in range(3))
        moved = _account(colleague, days_past_due=40)
        _account(colleague, days_past_due=40)

    _called_yesterday(main, collector)
    call = _called_yesterday(complained, collector)
    note_add(loan=main, text="借款人说月底发工资", actor=collector)
    promise_create(loan=main, amount="2000.00", promise_date=MORNING.date() + dt.timedelta(days=5), actor=collector)
    complaint = complaint_open(borrower=complained.borrower, loan=complained, channel="phone",
                               category="contact_frequency", description="打电话太频繁", collectors=[collector],
                               attempts=[call], actor=collector)
    first_due = MORNING.date() + dt.timedelta(days=7)
    plans = {}
    for loan, total, reason in ((settled, "8000.00", "失业三个月"), (discounted, "5500.00", "重病住院"),
                                (declined, "8500.00", "收入减少")):
        plans[loan.pk] = plan_propose(loan=loan, kind="settlement", agreed_total=total, reason=reason,
                                      schedule=[(first_due, Decimal(total))], actor=collector)
    plan_decline(plan=plans[declined.pk], comment="减免比例过高，请先提出分期还款", actor=supervisor)
    loan_assign(loan=moved, collector=collector, actor=supervisor, reason="reassigned by supervisor")

    for member in (collector, colleague):
        worklist_build(collector=member)
    main_phone = main.borrower.phones.order_by("pk").first()
    return {
        "users": {"collector": collector, "supervisor": supervisor, "compliance": compliance},
        "main": main, "main_phone": main_phone, "account": main.loan_ref, "loan_id": main.pk,
        "borrower": main.borrower_id, "consent": main_phone.consents.get().pk,
        "last_four": main_phone.e164[-4:], "collector": collector.username,
        "blocked_code": WorklistEntry.objects.get(collector=collector, loan=ceased).reason_codes[0],
        "supervisor_plan": plans[settled.pk].pk, "compliance_plan": plans[discounted.pk].pk,
        "complaint": complaint.pk,
    }


@pytest.mark.parametrize("role", TOURS)
def test_each_page_of_a_role_fits_every_screen_in_both_languages(role, desk, open_page, live_server, artifacts):
    first, *others = VIEWPORTS
    signing_in = open_page(first)
    sign_in(signing_in, live_server, desk["users"][role])
    session = signing_in.context.storage_state()
    pages = {}
    for language in LANGUAGES:
        page = open_page(first, storage_state=session)
        page.goto(f"{live_server.url}/")
        choose_language(page, language)
        pages[language, first] = page
        in_language = page.context.storage_state()
        for viewport in others:
            pages[language, viewport] = open_page(viewport, storage_state=in_language)

    problems: list[str] = []
    for stop in TOURS[role]:
        if stop.before is not None:
            stop.before(desk)
        url = f"{live_server.url}{stop.path.format(**desk)}"
        for (language, viewport), page in pages.items():
            where = f"{stop.name} at {viewport.width} px in {language}"
            response = page.goto(url)
            screenshot(page, artifacts, role, stop.name, viewport, language)
            if response is None or response.status != 200 or page.url != url:
                problems.append(f"{where}: answered {response and response.status} at {page.url}")
                continue
            overflow = horizontal_overflow(page)
            if overflow:
                problems.append(f"{where}: scrolls sideways by {overflow} px")
            if "/admin/" not in url and (cut := cut_tables(page)):
                problems.append(f"{where}: tables cut off at the card's edge {cut}")
            if not sign_out_on_screen(page):
                problems.append(f"{where}: Sign out is off the screen")
            codes = visible_raw_codes(page)
            if codes:
                problems.append(f"{where}: raw codes on screen {codes}")
    assert not problems, "\n".join(problems)
