import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.desk.services import worklist_build
from collections_app.desk.tasks import build_all_worklists
from collections_app.models import WorklistEntry
from tests import factories as f

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
    assert "2027-03-04 08:00" in body


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


def test_the_beat_schedule_runs_the_nightly_build(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "collections_app.build_all_worklists" in tasks


def _worklist_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("worklist"))
    assert response.status_code == 200
    return len(queries)


def test_the_worklist_page_takes_the_same_queries_for_1_and_50_rows(client, collector, morning):
    client.force_login(collector)
    make_account(collector)
    worklist_build(collector=collector)
    one = _worklist_queries(client)
    for _ in range(49):
        make_account(collector)
    worklist_build(collector=collector)
    assert WorklistEntry.objects.filter(collector=collector).count() == 50
    # Session, user, groups (role), entries exist?, counts, built_at, contactable page: count + rows,
    # blocked page: count + rows, broken-promise alerts. Nothing per row.
    assert _worklist_queries(client) == one


def test_building_a_worklist_takes_a_fixed_number_of_queries(collector, morning, django_assert_max_num_queries):
    for _ in range(30):
        make_account(collector)
    with django_assert_max_num_queries(20):
        worklist_build(collector=collector)
