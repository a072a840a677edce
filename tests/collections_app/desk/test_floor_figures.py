"""The supervisor's floor figures on the team page: per collector and per team, today and this month on the team's
clock — right-party contacts, promises made and kept, the amount collected per currency, accounts worked — with
known data, scoped to the supervisor's teams, in a fixed number of queries."""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.contact.generation import current_generation
from collections_app.contact.pauses import pauses_at
from collections_app.desk.floor import floor_figures
from collections_app.models import ContactAttempt, Promise, Team
from tests import factories as f
from tests.queries import tables

from .conftest import MORNING

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHICAGO = ZoneInfo("America/Chicago")


def _at(zone, month, day, hour, minute=0):
    return dt.datetime(2027, month, day, hour, minute, tzinfo=zone)


def attempt(collector, loan, started_at, *, party="debtor", outcome="conversation"):
    phone = loan.borrower.phones.first() or f.PhoneNumberFactory(borrower=loan.borrower)
    return ContactAttempt.objects.create(loan=loan, phone=phone, borrower=loan.borrower, channel="call",
                                         started_at=started_at, collector=collector, compliant=True,
                                         outcome=outcome, party=party)


def promise(collector, loan, created_at, *, state="pending", kept_at=None):
    return Promise.objects.create(loan=loan, collector=collector, amount=Decimal("100"), created_at=created_at,
                                  due_date=created_at.date() + dt.timedelta(days=5), state=state, kept_at=kept_at)


def payment(loan, amount, paid_at):
    return f.PaymentFactory(loan=loan, amount=Decimal(amount), paid_at=paid_at)


@pytest.fixture
def floor(morning, supervisor, collector, other_collector):
    """Team A (Shanghai, the desk's zone): collector_a and collector_a2. Team C (Chicago), also supervisor_a's:
    collector_c. collector_b is another supervisor's. Now: Wednesday 3 March 2027, 10:00 in Shanghai, which is
    Tuesday 2 March 20:00 in Chicago."""
    team_a = supervisor.supervised_teams.get()
    second = f.make_collector("collector_a2", team_a)
    team_c = Team.objects.create(name="Team C", supervisor=supervisor, timezone="America/Chicago")
    chicago = f.make_collector("collector_c", team_c)
    loan1, loan2, loan3 = (f.LoanFactory(assigned_collector=collector) for _ in range(3))
    usd_loan = f.LoanFactory(assigned_collector=collector, currency="USD")
    loan5 = f.LoanFactory(assigned_collector=second)
    loan_c = f.LoanFactory(assigned_collector=chicago)
    loan_b = f.LoanFactory(assigned_collector=other_collector)

    # collector_a: today 1 right-party contact (the third party's and the unanswered call do not count), loans 1
    # and 2 worked; this month also 2 March's and 1 March's conversations, loan 3; February's is out.
    attempt(collector, loan1, _at(SHANGHAI, 3, 3, 9))
    attempt(collector, loan1, _at(SHANGHAI, 3, 3, 9, 30), party="third_party")
    attempt(collector, loan2, _at(SHANGHAI, 3, 3, 8, 30), outcome="no_answer")
    attempt(collector, loan3, _at(SHANGHAI, 3, 1, 15))
    attempt(collector, loan1, _at(SHANGHAI, 3, 2, 23, 59))
    attempt(collector, loan3, _at(SHANGHAI, 2, 28, 23, 30))
    # collector_a2 covers loan 1 today: their contact, and the team's loan 1 counted once.
    attempt(second, loan1, _at(SHANGHAI, 3, 3, 9, 45))
    # collector_c, on Chicago's clock: 2 March 19:00 is today; 1 March 23:00 this month; 28 February 23:00 (1 March
    # 13:00 in Shanghai) is last month.
    attempt(chicago, loan_c, _at(CHICAGO, 3, 2, 19))
    attempt(chicago, loan_c, _at(CHICAGO, 3, 1, 23))
    attempt(chicago, loan_c, _at(CHICAGO, 2, 28, 23))
    # Another team's collector: on nobody's figures here.
    attempt(other_collector, loan_b, _at(SHANGHAI, 3, 3, 9))

    # Promises: made today (pending); made on 1 March and kept today; made in February and kept on 2 March; made in
    # February and broken.
    promise(collector, loan1, _at(SHANGHAI, 3, 3, 9, 5))
    promise(collector, loan2, _at(SHANGHAI, 3, 1, 10), state="kept", kept_at=_at(SHANGHAI, 3, 3, 8))
    promise(collector, loan3, _at(SHANGHAI, 2, 20, 10), state="kept", kept_at=_at(SHANGHAI, 3, 2, 12))
    promise(collector, usd_loan, _at(SHANGHAI, 2, 25, 10), state="broken")
    promise(chicago, loan_c, _at(CHICAGO, 3, 2, 18))
    promise(other_collector, loan_b, _at(SHANGHAI, 3, 3, 9))

    # Payments on the collectors' loans.
    payment(loan1, "500.00", _at(SHANGHAI, 3, 3, 8))
    payment(loan1, "250.50", _at(SHANGHAI, 3, 1, 12))
    payment(loan1, "1000.00", _at(SHANGHAI, 2, 27, 12))
    payment(usd_loan, "20.00", _at(SHANGHAI, 3, 3, 7))
    payment(loan5, "100.00", _at(SHANGHAI, 3, 3, 9))
    payment(loan_c, "1234567.00", _at(CHICAGO, 3, 2, 12))
    payment(loan_b, "999.00", _at(SHANGHAI, 3, 3, 9))
    return {"team_a": team_a, "team_c": team_c, "second": second, "chicago": chicago}


def _figures(row):
    return {name: (getattr(row.today, name), getattr(row.month, name))
            for name in ("right_party_contacts", "promises_made", "promises_kept", "accounts_worked", "collected")}


def test_each_collectors_figures_today_and_this_month(supervisor, floor):
    result = floor_figures(supervisor, MORNING)
    rows = {row.label: row for row in result.collectors}
    assert list(rows) == ["collector_a", "collector_a2", "collector_c"]  # not another team's collector_b
    assert _figures(rows["collector_a"]) == {
        "right_party_contacts": (1, 3),
        "promises_made": (1, 2),
        "promises_kept": (1, 2),
        "accounts_worked": (2, 3),
        "collected": ({"CNY": Decimal("500.00"), "USD": Decimal("20.00")},
                      {"CNY": Decimal("750.50"), "USD": Decimal("20.00")}),
    }
    assert _figures(rows["collector_a2"]) == {
        "right_party_contacts": (1, 1), "promises_made": (0, 0), "promises_kept": (0, 0),
        "accounts_worked": (1, 1), "collected": ({"CNY": Decimal("100.00")}, {"CNY": Decimal("100.00")}),
    }


def test_a_chicago_teams_day_and_month_are_chicagos(supervisor, floor):
    rows = {row.label: row for row in floor_figures(supervisor, MORNING).collectors}
    chicago = rows["collector_c"]
    assert (chicago.zone, chicago.day) == ("America/Chicago", dt.date(2027, 3, 2))
    assert _figures(chicago) == {
        "right_party_contacts": (1, 2), "promises_made": (1, 1), "promises_kept": (0, 0),
        "accounts_worked": (1, 1),
        "collected": ({"CNY": Decimal("1234567.00")}, {"CNY": Decimal("1234567.00")}),
    }


def test_each_teams_figures_add_up_its_collectors_and_count_a_loan_once(supervisor, floor):
    teams = {row.label: row for row in floor_figures(supervisor, MORNING).teams}
    assert list(teams) == ["Team A", "Team C"]
    assert _figures(teams["Team A"]) == {
        "right_party_contacts": (2, 4),
        "promises_made": (1, 2),
        "promises_kept": (1, 2),
        "accounts_worked": (2, 3),  # loan 1, worked by both collectors, once
        "collected": ({"CNY": Decimal("600.00"), "USD": Decimal("20.00")},
                      {"CNY": Decimal("850.50"), "USD": Decimal("20.00")}),
    }
    assert _figures(teams["Team C"])["right_party_contacts"] == (1, 2)


def test_compliance_sees_every_team(compliance, floor):
    result = floor_figures(compliance, MORNING)
    assert [row.label for row in result.teams] == ["Team A", "Team B", "Team C"]
    assert _figures({row.label: row for row in result.collectors}["collector_b"])["right_party_contacts"] == (1, 1)


def test_another_teams_supervisor_sees_only_their_own(other_supervisor, floor):
    result = floor_figures(other_supervisor, MORNING)
    assert [row.label for row in result.collectors] == ["collector_b"]
    assert [row.label for row in result.teams] == ["Team B"]
    assert _figures(result.collectors[0])["collected"] == ({"CNY": Decimal("999.00")}, {"CNY": Decimal("999.00")})


def test_the_team_page_shows_the_figures(client, supervisor, floor):
    client.force_login(supervisor)
    body = client.get(reverse("team")).content.decode()
    table = re.search(r'<table class="grid floor-figures" data-floor="collector">(.*?)</table>', body, re.S).group(1)
    row = re.search(r'<tr data-row="collector_a">(.*?)</tr>', table, re.S).group(1)
    cells = dict(re.findall(r'data-figure="([\w-]+)">(.*?)</td>', row, re.S))
    assert {k: v for k, v in cells.items() if not k.startswith("collected")} == {
        "rpc-today": "1", "rpc-month": "3", "made-today": "1", "made-month": "2", "kept-today": "1",
        "kept-month": "2", "worked-today": "2", "worked-month": "3"}
    assert cells["collected-month"] == ('<div><span class="amount">750.50 CNY</span></div>'
                                        '<div><span class="amount">20.00 USD</span></div>')
    teams = re.search(r'<table class="grid floor-figures" data-floor="team">(.*?)</table>', body, re.S).group(1)
    assert '<span class="amount">1,234,567.00 CNY</span>' in teams
    assert "collector_b" not in body


def test_a_collector_has_no_team_page(client, collector, floor):
    client.force_login(collector)
    assert client.get(reverse("team")).status_code == 404


def _collectors(supervisor, n):
    team = supervisor.supervised_teams.get()
    for i in range(n):
        someone = f.make_collector(f"floor_{i}", team)
        loan = f.LoanFactory(assigned_collector=someone)
        attempt(someone, loan, MORNING - dt.timedelta(hours=1))
        promise(someone, loan, MORNING - dt.timedelta(hours=1))
        payment(loan, "10.00", MORNING - dt.timedelta(hours=1))


@pytest.mark.parametrize("n", [1, 8])
def test_the_figures_take_five_queries_whatever_the_collectors_and_zones(supervisor, morning, n):
    _collectors(supervisor, n)
    if n > 1:  # and a second team in another zone
        chicago = f.make_collector("floor_chicago", Team.objects.create(name="Team C", supervisor=supervisor,
                                                                        timezone="America/Chicago"))
        attempt(chicago, f.LoanFactory(assigned_collector=chicago), MORNING)
    user = f.User.objects.get(pk=supervisor.pk)
    user._role_groups = frozenset({"Supervisor"})
    with CaptureQueriesContext(connection) as queries:
        result = floor_figures(user, MORNING)
    assert len(result.collectors) == n + (1 if n > 1 else 0)
    assert all(row.today.right_party_contacts == 1 for row in result.collectors)
    assert tables(queries) == [
        "auth_user",  # the collectors with their teams
        "collections_app_contactattempt",  # right-party contacts and accounts worked, per collector
        "collections_app_contactattempt",  # accounts worked per team
        "collections_app_promise",  # promises made and kept
        "collections_app_payment",  # amounts collected per collector and currency
    ]


@pytest.mark.parametrize("n", [1, 8])
def test_the_team_page_takes_the_same_queries_for_1_and_several_collectors(client, supervisor, morning, n):
    _collectors(supervisor, n)
    client.force_login(supervisor)
    # The banner's incident pauses come from the process's copy of the policy generation, read once per generation
    # and process (contact/pauses.py): the fixtures changed the generation, so load the copy first.
    pauses_at(current_generation())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("team"))
    assert len(response.context["floor"].collectors) == n
    assert tables(queries) == [
        "collections_app_usersession",  # the session
        "auth_user",
        "otp_totp_totpdevice",  # the second factor the session was verified with
        "auth_group",  # the user's role
        "auth_user",  # the supervised collectors' ids
        "collections_app_teammember",  # their teams' zones
        "auth_user",  # the collectors of the zone with today's worklist and attempt counts
        "collections_app_worklistentry",  # today's blocked entries' reasons
        # The floor figures (desk/floor.py):
        "auth_user", "collections_app_contactattempt", "collections_app_contactattempt", "collections_app_promise",
        "collections_app_payment",
        "collections_app_notification",  # the top bar's unread badge
    ]
