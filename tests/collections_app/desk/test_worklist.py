import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.desk.selectors import WorklistChunk, worklist_chunks
from collections_app.desk.services import worklist_build, worklist_build_chunk
from collections_app.desk.tasks import build_all_worklists, build_due_worklists
from collections_app.models import WorklistEntry
from config.celery import app as celery_app
from tests import factories as f
from tests.queries import tables

from .conftest import MORNING, make_account

pytestmark = pytest.mark.django_db


def test_the_worklist_separates_contactable_and_blocked_accounts_with_reasons(client, collector, morning):
    open_loan = make_account(collector)
    ceased = make_account(collector)
    f.RestrictionFactory(borrower=ceased.borrower, kind="cease_communication")
    worklist_build(collector=collector)
    client.force_login(collector)
    body = client.get(reverse("worklist")).content.decode()
    contactable, blocked = body.split('class="card blocked"')
    assert open_loan.loan_ref in contactable and "call_start" not in contactable  # url name never leaks
    assert reverse("call_start", args=[open_loan.loan_ref]) in contactable
    assert ceased.loan_ref in blocked and "CEASE_COMMUNICATION" in blocked
    assert reverse("call_start", args=[ceased.loan_ref]) not in body
    assert open_loan.borrower.phones.get().e164 not in body


def test_a_blocked_account_says_when_it_will_be_allowed_in_both_zones(client, collector, morning):
    night = MORNING.replace(hour=23)
    morning.move_to(night)
    loan = make_account(collector)
    worklist_build(collector=collector)
    entry = WorklistEntry.objects.get(loan=loan)
    assert entry.reason_codes == ["OUTSIDE_CONTACT_HOURS"]
    assert entry.next_allowed_at == dt.datetime(2027, 3, 4, 8, 0, tzinfo=MORNING.tzinfo)
    client.force_login(collector)
    body = client.get(reverse("worklist")).content.decode()
    # The collector's clock, then the borrower's with the place and the offset.
    assert "03-04 08:00</time>" in body and "Shanghai 03-04 08:00 (UTC+08:00)" in body


def test_the_order_puts_callbacks_then_promises_then_higher_buckets_and_balances(collector, morning):
    small_recent = make_account(collector, due_days=10, balance="100.00")
    big_recent = make_account(collector, due_days=10, balance="9000.00")
    old = make_account(collector, due_days=200, balance="50.00")
    callback = make_account(collector, due_days=5, balance="10.00")
    from collections_app.models import Callback

    Callback.objects.create(loan=callback, collector=collector, due_at=MORNING + dt.timedelta(hours=2))
    worklist_build(collector=collector)
    order = list(WorklistEntry.objects.filter(collector=collector).order_by("sort_key").values_list(
        "loan__loan_ref", flat=True))
    assert order == [callback.loan_ref, old.loan_ref, big_recent.loan_ref, small_recent.loan_ref]


def test_rebuilding_is_idempotent_and_keeps_worked_marks(collector, morning):
    loan = make_account(collector)
    worklist_build(collector=collector)
    WorklistEntry.objects.filter(loan=loan).update(worked_at=MORNING)
    worklist_build(collector=collector)
    assert WorklistEntry.objects.filter(collector=collector).count() == 1
    assert WorklistEntry.objects.get(loan=loan).worked_at == MORNING


def test_the_nightly_task_builds_every_collectors_list(collector, other_collector, morning):
    make_account(collector)
    make_account(other_collector)
    build_all_worklists.delay()
    assert WorklistEntry.objects.filter(collector=collector).count() == 1
    assert WorklistEntry.objects.filter(collector=other_collector).count() == 1


def test_refresh_rebuilds_the_list_once_the_request_has_committed(client, collector, morning,
                                                                  django_capture_on_commit_callbacks):
    loan = make_account(collector)
    client.force_login(collector)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("worklist_refresh"))
        assert response["Location"] == reverse("worklist")
    # The build is enqueued when the request commits, never before: a worker must see what the request wrote.
    assert len(callbacks) == 1
    assert not WorklistEntry.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("worklist_refresh"))
    assert list(WorklistEntry.objects.values_list("collector", "loan")) == [(collector.pk, loan.pk)]


def test_beat_builds_every_collectors_worklist_at_05_30_desk_time(settings, collector, other_collector,
                                                                  django_capture_on_commit_callbacks):
    """Beat sends a task by name: the name must be the registered nightly build. It runs every 15 minutes and
    sends each zone's build once a day, from 05:30 on that zone's clock (here the desk's), before the CN contact
    window opens at 08:00 (per-team zones: test_worklist_zones.py)."""
    nightly = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values()
               if celery_app.tasks.get(entry["task"]) is build_due_worklists._get_current_object()]
    assert len(nightly) == 1
    task = celery_app.tasks[nightly[0]["task"]]
    schedule = nightly[0]["schedule"]
    assert (schedule.minute, schedule.hour) == ({0, 15, 30, 45}, set(range(24)))
    make_account(collector)
    make_account(other_collector)
    with time_machine.travel(MORNING.replace(hour=5, minute=29), tick=False):
        assert task.apply().get() == 0  # what a worker runs when beat sends the name
    assert not WorklistEntry.objects.exists()
    with time_machine.travel(MORNING.replace(hour=5, minute=30), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert task.apply().get() == 2
    with time_machine.travel(MORNING.replace(hour=5, minute=45), tick=False):
        assert task.apply().get() == 0  # sent once a day
    built = WorklistEntry.objects.values_list("collector__username", "work_date")
    assert sorted(built) == [("collector_a", MORNING.date()), ("collector_b", MORNING.date())]


@pytest.mark.parametrize("n", [1, 25])
def test_the_worklist_page_takes_fourteen_queries_whatever_the_number_of_rows(client, collector, morning, n):
    for _ in range(n):
        make_account(collector)
        f.RestrictionFactory(borrower=make_account(collector).borrower, kind="cease_communication")
    worklist_build(collector=collector)
    client.force_login(collector)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("worklist"))
    assert (len(response.context["contactable"]), len(response.context["blocked"])) == (n, n)
    assert tables(queries) == [
        "collections_app_usersession",  # the session (collections_app.models.staff)
        "auth_user",
        "auth_group",  # the user's role
        "collections_app_worklistentry",  # entries the clock may have changed (none here: nothing re-judged)
        "collections_app_worklistentry",  # any entry today? (else a build is enqueued)
        "collections_app_worklistentry",  # contactable: count
        "collections_app_worklistentry",  # blocked: count
        "collections_app_worklistentry",  # the header's totals, one aggregate
        "collections_app_promise",  # broken-promise alerts
        "collections_app_repaymentplan",  # broken-plan alerts
        # blocked: the page of rows with loan, borrower, earliest callback (read before the page, for the holds
        # behind them: none here, so no query for them)
        "collections_app_worklistentry",
        "collections_app_contactattempt",  # the collector's open call, if any (a link back to it)
        "collections_app_notification",  # the top bar's unread badge
        "collections_app_worklistentry",  # contactable: the page of rows with loan, borrower, earliest callback
    ]


@pytest.mark.parametrize("n", [1, 30])
def test_building_a_worklist_chunk_takes_fourteen_queries_in_one_transaction_whatever_the_accounts(
    collector, morning, n
):
    for _ in range(n):
        make_account(collector)
    worklist_build(collector=collector)  # a rebuild: the upsert finds every entry already there
    with CaptureQueriesContext(connection) as queries:
        assert worklist_build_chunk(chunk=WorklistChunk(collector.pk), work_date=MORNING.date()) == n
    assert tables(queries) == [
        "SAVEPOINT",
        "collections_app_loan",  # the chunk's listed loans with their borrowers' jurisdiction and zone
        "collections_app_contactpolicyversion",  # the policy in force
        "consent_app_phonenumber",  # every number of those borrowers, with its third party's flags
        "consent_app_consent",
        "consent_app_restriction",
        "consent_app_inconvenienttime",
        "collections_app_contactattempt",  # attempt history for the frequency limits
        "collections_app_callback",  # callbacks due
        "collections_app_contactattempt",  # last attempt per loan
        "collections_app_promise",  # promises due or broken
        "collections_app_repaymentplan",  # plans with an installment due or broken
        "DELETE collections_app_worklistentry",  # entries in the chunk's range whose loan left the list
        "INSERT collections_app_worklistentry",  # one upsert of every entry (worked marks untouched)
        "RELEASE SAVEPOINT",
    ]


@pytest.mark.parametrize("n", [1, 30])
def test_planning_the_nightly_chunks_takes_two_queries_whatever_the_accounts(settings, collector, morning, n):
    settings.WORKLIST_CHUNK_SIZE = 3
    for _ in range(n):
        make_account(collector)
    with CaptureQueriesContext(connection) as queries:
        chunks = worklist_chunks(work_date=MORNING.date())
    assert len(chunks) == -(-n // 3)
    assert tables(queries) == [
        "collections_app_loan",  # (collector, id) of every listed loan, in order
        "collections_app_worklistentry",  # collectors with entries that day (a list to empty)
    ]
