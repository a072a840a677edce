"""The worklist is never stale: each row shows its verdict for now, not for 05:30 (entries the clock may have
changed are judged again when the page is shown, and an open page polls for its rows), and a change of a fact
the policy reads (consent, restriction, complaint hold, reassignment, payment, an attempt) re-judges the
borrower's entries once it commits, in one task per transaction."""

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.complaints.services import complaint_open
from collections_app.contact.services import contact_start, policy_version_create, policy_version_data
from collections_app.desk import tasks
from collections_app.desk.services import worklist_build, worklist_reevaluate_borrowers
from collections_app.desk.tasks import build_all_worklists
from collections_app.loans.services import loan_assign, payment_record
from collections_app.models import ContactPolicy, WorklistEntry
from consent_app.services import consent_withdraw, restriction_place
from tests import factories as f
from tests.queries import tables

from ..imports.test_import import row, run_import, write_csv
from .conftest import MORNING, make_account

pytestmark = pytest.mark.django_db

DAWN = MORNING.replace(hour=5, minute=30)  # the nightly build, before the CN window opens at 08:00


def _sections(client):
    body = client.get(reverse("worklist")).content.decode()
    contactable, blocked = body.split('class="card blocked"')
    return contactable, blocked


@pytest.fixture
def sent():
    """Every re-evaluation task sent (eager Celery still runs each)."""
    with mock.patch.object(tasks.reevaluate_borrower_worklists, "delay",
                           wraps=tasks.reevaluate_borrower_worklists.delay) as spy:
        yield spy


# --- Time ---------------------------------------------------------------------------------------------------------


def test_a_list_built_at_05_30_shows_cn_accounts_contactable_at_08_00_without_refresh(client, collector):
    with time_machine.travel(DAWN, tick=False) as clock:
        loan = make_account(collector)
        build_all_worklists.delay()
        entry = WorklistEntry.objects.get(loan=loan)
        assert (entry.contactable, entry.reason_codes) == (False, ["OUTSIDE_CONTACT_HOURS"])
        assert entry.recheck_at == MORNING.replace(hour=8, minute=0)  # the window opens: the verdict may change
        client.force_login(collector)
        _contactable, blocked = _sections(client)
        assert loan.loan_ref in blocked  # 05:31: still outside the window
        clock.move_to(MORNING.replace(hour=8, minute=1))
        contactable, blocked = _sections(client)
    assert loan.loan_ref in contactable and reverse("call_start", args=[loan.loan_ref]) in contactable
    assert loan.loan_ref not in blocked
    entry.refresh_from_db()
    assert entry.contactable and entry.built_at == MORNING.replace(hour=8, minute=1)


def test_an_account_contactable_in_the_evening_is_blocked_once_the_window_closes(client, collector):
    with time_machine.travel(MORNING.replace(hour=21, minute=50), tick=False) as clock:
        loan = make_account(collector)
        worklist_build(collector=collector)
        entry = WorklistEntry.objects.get(loan=loan)
        assert entry.contactable and entry.recheck_at == MORNING.replace(hour=22, minute=0)  # CN: 08:00-22:00
        client.force_login(collector)
        clock.move_to(MORNING.replace(hour=22, minute=0))
        contactable, blocked = _sections(client)
    assert loan.loan_ref in blocked and "OUTSIDE_CONTACT_HOURS" in blocked
    assert reverse("call_start", args=[loan.loan_ref]) not in contactable


def test_a_refusal_that_time_does_not_lift_is_never_judged_again_by_the_clock(collector, morning):
    loan = make_account(collector, consent=False)
    worklist_build(collector=collector)
    assert WorklistEntry.objects.get(loan=loan).recheck_at is None


def test_a_policy_version_that_takes_effect_later_is_applied_to_the_rows_once_it_does(client, collector, morning):
    loan = make_account(collector)
    worklist_build(collector=collector)
    assert WorklistEntry.objects.get(loan=loan).contactable
    cn = ContactPolicy.objects.get(code="CN")
    data = policy_version_data(cn.versions.order_by("-version").first())
    data["windows"] = [["12:00", "21:00"]] * 7  # from noon on, contact only after 12:00
    compliance = f.make_compliance()
    policy_version_create(policy_obj=cn, data=data, actor=compliance, change_note="Later start",
                          effective_from=MORNING.replace(hour=11))
    client.force_login(collector)
    contactable, _blocked = _sections(client)
    assert loan.loan_ref in contactable  # 10:00: the old version still applies
    morning.move_to(MORNING.replace(hour=11, minute=1))
    _contactable, blocked = _sections(client)
    assert loan.loan_ref in blocked and "OUTSIDE_CONTACT_HOURS" in blocked


@pytest.mark.parametrize("n", [1, 12])
def test_judging_rows_again_on_the_page_takes_a_fixed_number_of_queries(client, collector, n):
    with time_machine.travel(DAWN, tick=False) as clock:
        for _ in range(n):
            make_account(collector)
        worklist_build(collector=collector)
        client.force_login(collector)
        clock.move_to(MORNING.replace(hour=8, minute=5))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("worklist"))
    assert len(response.context["contactable"]) == n
    # The due entries, then one chunk's re-evaluation in its savepoint (loans, policy versions and snapshots in
    # one batch, callbacks, last contact, promises, stale entries, the upsert), then the page itself (with the top
    # bar's unread badge): the same count for 1 row and for 12.
    assert len(queries) == 30, tables(queries)


def test_the_page_polls_for_its_rows_and_an_htmx_request_gets_only_them(client, collector, morning, settings):
    settings.WORKLIST_POLL_SECONDS = 60
    loan = make_account(collector)
    worklist_build(collector=collector)
    client.force_login(collector)
    page = client.get(reverse("worklist") + "?show=contactable").content.decode()
    assert 'id="worklist-rows"' in page and 'hx-trigger="every 60s, desk:revisit"' in page
    assert 'hx-get="/worklist/?show=contactable"' in page
    rows = client.get(reverse("worklist") + "?show=contactable", headers={"HX-Request": "true"})
    body = rows.content.decode()
    assert body.lstrip().startswith('<div id="worklist-rows"') and "<html" not in body
    assert loan.loan_ref in body and rows["Cache-Control"].startswith("max-age=0, no-cache, no-store")


# --- Facts --------------------------------------------------------------------------------------------------------


@pytest.fixture
def built(collector, morning):
    """A contactable account on the collector's list, built this morning."""
    loan = make_account(collector)
    worklist_build(collector=collector)
    assert WorklistEntry.objects.get(loan=loan).contactable
    return loan


def _entry(loan, collector):
    return WorklistEntry.objects.filter(loan=loan, collector=collector).first()


def test_a_consent_withdrawal_takes_the_account_off_contactable_on_commit(built, collector,
                                                                          django_capture_on_commit_callbacks):
    compliance = f.make_compliance()
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(consent=built.borrower.phones.get().consents.get(), via="phone", actor=compliance)
    entry = _entry(built, collector)
    assert not entry.contactable and entry.reason_codes == ["CONSENT_WITHDRAWN"]


def test_a_restriction_and_a_complaint_hold_block_the_row_on_commit(built, collector, supervisor,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        complaint_open(borrower=built.borrower, loan=built, channel="phone", category="contact_frequency",
                       description="Too many calls.", actor=supervisor)
    assert _entry(built, collector).reason_codes == ["COMPLAINT_HOLD"]
    second = make_account(collector)
    worklist_build(collector=collector)
    with django_capture_on_commit_callbacks(execute=True):
        restriction_place(borrower=second.borrower, kind="cease_communication", starts_at=MORNING,
                          reason="Letter received", actor=f.make_compliance())
    assert _entry(second, collector).reason_codes == ["CEASE_COMMUNICATION"]


def test_a_reassignment_moves_the_row_to_the_new_collectors_built_list(built, collector, other_collector, supervisor,
                                                                       django_capture_on_commit_callbacks):
    make_account(other_collector)
    worklist_build(collector=other_collector)
    with django_capture_on_commit_callbacks(execute=True):
        loan_assign(loan=built, collector=other_collector, actor=supervisor)
    assert _entry(built, collector) is None
    assert _entry(built, other_collector).contactable


def test_a_reassignment_to_a_collector_without_a_list_today_leaves_theirs_to_be_built_whole(
        built, collector, other_collector, supervisor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        loan_assign(loan=built, collector=other_collector, actor=supervisor)
    assert not WorklistEntry.objects.filter(collector=other_collector).exists()  # the page builds it on first view
    assert _entry(built, collector) is None


def test_a_payment_that_settles_the_loan_removes_the_row(built, collector, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(external_id="P-1", loan=built, amount=built.balance, paid_at=MORNING,
                       actor=f.make_integration())
    assert _entry(built, collector) is None


def test_an_attempt_started_updates_the_row_on_commit(built, collector, django_capture_on_commit_callbacks):
    phone = built.borrower.phones.get()
    before = _entry(built, collector).built_at
    with time_machine.travel(MORNING + dt.timedelta(minutes=3), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        contact_start(loan=built, phone=phone, collector=collector, channel="call")
    assert _entry(built, collector).built_at > before


# --- One task per transaction, linear work ------------------------------------------------------------------------


def test_one_transaction_sends_one_task_per_chunk_of_borrowers(collector, morning, settings, sent,
                                                               django_capture_on_commit_callbacks):
    settings.WORKLIST_CHUNK_SIZE = 10
    loans = [make_account(collector) for _ in range(25)]
    worklist_build(collector=collector)
    compliance = f.make_compliance()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for loan in loans:
            restriction_place(borrower=loan.borrower, kind="temporary_hold", starts_at=MORNING,
                              ends_at=MORNING + dt.timedelta(days=2), reason="Asked", actor=compliance)
            restriction_place(borrower=loan.borrower, kind="dispute", starts_at=MORNING, reason="Disputed",
                              actor=compliance)
    assert [len(call.args[0]) for call in sent.call_args_list] == [10, 10, 5]
    assert not WorklistEntry.objects.filter(contactable=True).exists()


def test_a_rolled_back_change_sends_nothing(built, sent, django_capture_on_commit_callbacks):
    compliance = f.make_compliance()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError), \
            transaction.atomic():
        restriction_place(borrower=built.borrower, kind="dispute", starts_at=MORNING, reason="Disputed",
                          actor=compliance)
        raise RuntimeError
    assert callbacks == [] and sent.call_count == 0


@pytest.mark.parametrize("n", [1, 15])
def test_re_evaluating_borrowers_takes_a_fixed_number_of_queries_per_collector(collector, morning, n):
    loans = [make_account(collector) for _ in range(n)]
    worklist_build(collector=collector)
    with CaptureQueriesContext(connection) as queries:
        written = worklist_reevaluate_borrowers(borrower_ids=[loan.borrower_id for loan in loans])
    assert written == n
    # Their loans, the entries they are on, the collectors with a list today, the collectors' team zones, then one
    # re-evaluation per collector (a fixed number of queries): the same count for 1 borrower and for 15.
    assert len(queries) == 19, tables(queries)


def test_imported_loans_join_todays_built_list(collector, morning, tmp_path, sent,
                                               django_capture_on_commit_callbacks):
    make_account(collector)
    worklist_build(collector=collector)
    rows = [row(n, collector=collector.username) for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        _out, _err, error = run_import(write_csv(tmp_path / "loans.csv", rows))
    assert error is None
    assert sent.call_count == 1  # the bulk path's one batch: one task
    listed = WorklistEntry.objects.filter(collector=collector, loan__loan_ref__in=[r["loan_ref"] for r in rows])
    assert listed.filter(contactable=True).count() == 3
