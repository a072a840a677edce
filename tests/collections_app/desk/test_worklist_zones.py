"""A team works on its own clock (`Team.timezone`): its worklist's day, its 05:30 build, and the times its
members see as their own. A team in Chicago and one in Shanghai on one desk each get what is right for them."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.desk.services import worklist_build, worklist_reevaluate_borrowers, worklist_runs_due
from collections_app.desk.tasks import build_due_worklists
from collections_app.models import WorklistEntry, WorklistRun
from tests import factories as f

from .conftest import make_account

pytestmark = pytest.mark.django_db

CHICAGO = ZoneInfo("America/Chicago")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def chicago_collector():
    _supervisor, team = f.make_supervisor("supervisor_chi", "Team Chicago")
    team.timezone = "America/Chicago"
    team.save()
    return f.make_collector("collector_chi", team)


def _days(collector):
    return sorted(set(WorklistEntry.objects.filter(collector=collector).values_list("work_date", flat=True)))


def test_each_zone_is_built_once_a_day_from_05_30_on_its_own_clock(collector, chicago_collector,
                                                                   django_capture_on_commit_callbacks):
    with time_machine.travel(dt.datetime(2027, 3, 2, 12, 0, tzinfo=SHANGHAI), tick=False):
        make_account(collector)
        make_account(chicago_collector, timezone="America/Chicago", jurisdiction="US")
    # 05:30 in Shanghai on 3 March is 15:30 on 2 March in Chicago: Shanghai's build for the 3rd, and Chicago's
    # build for the 2nd, which no run has sent yet that day.
    with time_machine.travel(dt.datetime(2027, 3, 3, 5, 30, tzinfo=SHANGHAI), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert build_due_worklists.delay().get() == 2
    assert _days(collector) == [dt.date(2027, 3, 3)]
    assert _days(chicago_collector) == [dt.date(2027, 3, 2)]
    with time_machine.travel(dt.datetime(2027, 3, 3, 5, 29, tzinfo=CHICAGO), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert build_due_worklists.delay().get() == 0  # 19:29 in Shanghai: nothing is due anywhere
    with time_machine.travel(dt.datetime(2027, 3, 3, 5, 30, tzinfo=CHICAGO), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert build_due_worklists.delay().get() == 1  # Chicago's 05:30: its list for the 3rd
    assert _days(chicago_collector) == [dt.date(2027, 3, 2), dt.date(2027, 3, 3)]
    assert sorted(WorklistRun.objects.values_list("zone", "work_date")) == [
        ("America/Chicago", dt.date(2027, 3, 2)), ("America/Chicago", dt.date(2027, 3, 3)),
        ("Asia/Shanghai", dt.date(2027, 3, 3)),
    ]


def test_a_chicago_collector_works_chicagos_day_on_chicagos_clock(client, chicago_collector):
    late = dt.datetime(2027, 3, 2, 23, 30, tzinfo=CHICAGO)  # already 13:30 on 3 March in Shanghai
    with time_machine.travel(late - dt.timedelta(days=1), tick=False):
        loan = make_account(chicago_collector, timezone="America/Chicago", jurisdiction="US")
    with time_machine.travel(late, tick=False):
        worklist_build(collector=chicago_collector)
        assert _days(chicago_collector) == [dt.date(2027, 3, 2)]
        client.force_login(chicago_collector)
        response = client.get(reverse("worklist"))
    body = response.content.decode()
    assert [e.loan for e in response.context["blocked"]] == [loan]  # 23:30 in Chicago: outside the US window
    assert "as of <time" in body and ">23:30</time>" in body  # the collector's own clock is Chicago's


def test_a_fact_changed_re_judges_the_entry_of_the_collectors_own_day(chicago_collector):
    late = dt.datetime(2027, 3, 2, 20, 0, tzinfo=CHICAGO)  # 10:00 on 3 March in Shanghai
    with time_machine.travel(late - dt.timedelta(days=1), tick=False):
        loan = make_account(chicago_collector, timezone="America/Chicago", jurisdiction="US")
    with time_machine.travel(late, tick=False):
        worklist_build(collector=chicago_collector)
        entry = WorklistEntry.objects.get(loan=loan)
        assert entry.contactable and entry.work_date == dt.date(2027, 3, 2)
        f.RestrictionFactory(borrower=loan.borrower, kind="cease_communication")
        assert worklist_reevaluate_borrowers(borrower_ids=[loan.borrower_id]) == 1
    entry.refresh_from_db()
    assert not entry.contactable and entry.reason_codes == ["CEASE_COMMUNICATION"]


def test_a_teams_zone_is_a_places_iana_zone_stored_canonically():
    _supervisor, team = f.make_supervisor("supervisor_zone", "Team Zone")
    team.timezone = "US/Central"
    team.full_clean()
    assert team.timezone == "America/Chicago"
    for bad in ("EST5EDT", "localtime", "Mars/Olympus"):
        team.timezone = bad
        with pytest.raises(ValidationError) as raised:
            team.full_clean()
        assert "timezone" in raised.value.message_dict


@pytest.mark.parametrize("n", [1, 20])
def test_planning_the_due_builds_takes_the_same_queries_whatever_the_loans(collector, chicago_collector, n):
    at = dt.datetime(2027, 3, 3, 5, 30, tzinfo=SHANGHAI)
    with time_machine.travel(at - dt.timedelta(hours=1), tick=False):
        for _ in range(n):
            make_account(collector)
            make_account(chicago_collector, timezone="America/Chicago", jurisdiction="US")
    with CaptureQueriesContext(connection) as queries:
        due = worklist_runs_due(now=at)
    assert sorted(day for _chunks, day in due) == [dt.date(2027, 3, 2), dt.date(2027, 3, 3)]
    # The zones; per zone (2) its run, the chunk plan (loans, entries) and the row (get_or_create: a get, then the
    # insert in its savepoint: 4): 1 + 2 x 7, for 1 loan per collector and for 20.
    assert len(queries) == 15, [q["sql"][:60] for q in queries]
    with CaptureQueriesContext(connection) as again:
        assert worklist_runs_due(now=at) == []
    assert len(again) == 3  # the zones, and each zone's run already written
