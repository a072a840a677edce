"""The nightly worklist job: chunks of at most WORKLIST_CHUNK_SIZE loans, one task each, idempotent, each confined to
its own loans; and the chunked build gives the entries the one-collector build always gave."""

import datetime as dt
import random
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.db.models import Max

from collections_app import policy
from collections_app.contact.selectors import contact_snapshots_for_loans
from collections_app.desk import tasks
from collections_app.desk.selectors import WorklistChunk, first_open_callbacks, worklist_chunks
from collections_app.desk.services import GROUP_CALLBACK, GROUP_PROMISE, GROUP_REST, worklist_build_chunk
from collections_app.desk.tasks import build_all_worklists, build_worklist_for_collector
from collections_app.loans.buckets import bucket_rank
from collections_app.models import Callback, ContactAttempt, Loan, LoanStatus, Promise, WorklistEntry
from collections_app.plans.selectors import loans_with_broken_or_due_promises
from tests import factories as f

from .conftest import MORNING, make_account

pytestmark = pytest.mark.django_db

TODAY = MORNING.date()
ENTRY_FIELDS = ("collector_id", "loan_id", "work_date", "priority", "sort_key", "contactable", "reason_codes",
                "decisions", "next_allowed_at", "recheck_at", "built_at", "worked_at")


def _entries():
    return sorted(WorklistEntry.objects.values_list(*ENTRY_FIELDS))


@pytest.fixture
def chunk_runs():
    """Every chunk build the tasks run (eager Celery runs each `build_worklist_chunk` task in the test)."""
    with mock.patch.object(tasks, "worklist_build_chunk", wraps=tasks.worklist_build_chunk) as spy:
        yield spy


def test_the_nightly_job_sends_one_task_per_chunk_of_at_most_the_chunk_size(settings, morning, chunk_runs):
    settings.WORKLIST_CHUNK_SIZE = 3
    collectors = [f.make_collector(f"chunked{i}") for i in range(3)]
    # Seven loans each, all with different due dates: Loan.Meta.ordering must not multiply the tasks.
    loans = {c.pk: [make_account(c, due_days=10 + 7 * k + i) for k in range(7)] for i, c in enumerate(collectors)}
    assert build_all_worklists.delay().get() == 9
    assert chunk_runs.call_count == 9
    for collector in collectors:
        ids = sorted(loan.pk for loan in loans[collector.pk])
        assert [call.kwargs["chunk"] for call in chunk_runs.call_args_list
                if call.kwargs["chunk"].collector_id == collector.pk] == [
            WorklistChunk(collector.pk, None, ids[2]),
            WorklistChunk(collector.pk, ids[2], ids[5]),
            WorklistChunk(collector.pk, ids[5], None),
        ]
        assert sorted(WorklistEntry.objects.filter(collector=collector).values_list("loan_id", flat=True)) == ids
    assert all(call.kwargs["work_date"] == TODAY for call in chunk_runs.call_args_list)


def test_one_collector_with_one_account_is_one_task(morning, collector, chunk_runs):
    make_account(collector)
    assert build_all_worklists.delay().get() == 1
    assert chunk_runs.call_count == 1
    assert WorklistEntry.objects.filter(collector=collector).count() == 1


def test_the_fan_out_sends_each_chunk_by_its_ids_and_date(settings, morning, collector, other_collector):
    settings.WORKLIST_CHUNK_SIZE = 2
    mine = sorted(make_account(collector).pk for _ in range(3))
    theirs = make_account(other_collector)
    with mock.patch.object(tasks.build_worklist_chunk, "delay") as delay:
        assert build_all_worklists.delay(work_date="2027-03-03").get() == 3
    assert [c.args for c in delay.call_args_list] == [
        (collector.pk, "2027-03-03", None, mine[1]),
        (collector.pk, "2027-03-03", mine[1], None),
        (other_collector.pk, "2027-03-03", None, None),
    ]
    assert theirs.pk > mine[-1]  # ids order the chunks, not due dates or refs


def test_a_chunk_that_fills_up_exactly_leaves_no_empty_chunk(morning, collector):
    ids = sorted(make_account(collector).pk for _ in range(6))
    assert worklist_chunks(work_date=TODAY, chunk_size=3) == [
        WorklistChunk(collector.pk, None, ids[2]), WorklistChunk(collector.pk, ids[2], None),
    ]


def test_running_a_chunk_again_rewrites_the_same_entries_and_keeps_worked_marks(morning, collector):
    loans = [make_account(collector) for _ in range(4)]
    chunk = WorklistChunk(collector.pk, None, None)
    assert worklist_build_chunk(chunk=chunk, work_date=TODAY, now=MORNING) == 4
    WorklistEntry.objects.filter(loan=loans[0]).update(worked_at=MORNING)
    first = _entries()
    assert worklist_build_chunk(chunk=chunk, work_date=TODAY, now=MORNING) == 4
    assert _entries() == first
    assert WorklistEntry.objects.count() == 4
    assert WorklistEntry.objects.get(loan=loans[0]).worked_at == MORNING


def test_running_the_whole_job_twice_gives_the_same_lists(settings, morning, collector, other_collector):
    settings.WORKLIST_CHUNK_SIZE = 2
    for _ in range(3):
        make_account(collector)
        make_account(other_collector)
    build_all_worklists.delay()
    first = _entries()
    build_all_worklists.delay()
    assert _entries() == first and len(first) == 6


def test_a_chunk_touches_only_the_loans_in_its_range(morning, collector, other_collector):
    first, second = make_account(collector), make_account(collector)
    build_all_worklists.delay()
    Loan.objects.filter(pk__in=[first.pk, second.pk]).update(status=LoanStatus.PAID)
    worklist_build_chunk(chunk=WorklistChunk(collector.pk, None, first.pk), work_date=TODAY)
    # The paid loan of this chunk left the list; the other chunk's entry waits for its own chunk.
    assert list(WorklistEntry.objects.values_list("loan_id", flat=True)) == [second.pk]


def test_the_job_removes_entries_of_loans_that_left_the_collector(settings, morning, collector, other_collector):
    settings.WORKLIST_CHUNK_SIZE = 2
    moved, paid, kept = make_account(collector), make_account(collector), make_account(collector)
    build_all_worklists.delay()
    Loan.objects.filter(pk=moved.pk).update(assigned_collector=other_collector)
    Loan.objects.filter(pk=paid.pk).update(status=LoanStatus.PAID)
    build_all_worklists.delay()
    assert sorted(WorklistEntry.objects.values_list("collector_id", "loan_id")) == sorted([
        (collector.pk, kept.pk), (other_collector.pk, moved.pk),
    ])


def test_a_collector_whose_accounts_all_left_gets_an_empty_list(morning, collector, other_collector):
    loan = make_account(collector)
    build_all_worklists.delay()
    Loan.objects.filter(pk=loan.pk).update(assigned_collector=other_collector)
    assert worklist_chunks(work_date=TODAY) == [WorklistChunk(other_collector.pk), WorklistChunk(collector.pk)]
    build_all_worklists.delay()
    assert list(WorklistEntry.objects.values_list("collector_id", "loan_id")) == [(other_collector.pk, loan.pk)]


def test_a_deactivated_collector_has_no_list(morning, collector):
    make_account(collector)
    build_all_worklists.delay()
    collector.is_active = False
    collector.save(update_fields=["is_active"])
    build_worklist_for_collector.delay(collector.pk)
    assert not WorklistEntry.objects.exists()


def test_refresh_rebuilds_one_collectors_list_in_chunks(settings, morning, collector, other_collector, chunk_runs):
    settings.WORKLIST_CHUNK_SIZE = 2
    for _ in range(3):
        make_account(collector)
    make_account(other_collector)
    assert build_worklist_for_collector.delay(collector.pk).get() == 2
    assert {call.kwargs["chunk"].collector_id for call in chunk_runs.call_args_list} == {collector.pk}
    assert WorklistEntry.objects.filter(collector=collector).count() == 3
    assert not WorklistEntry.objects.filter(collector=other_collector).exists()


# --- The same entries as the one-collector build ---------------------------------------------------------------


def _reference_entries(collector, now):
    """The worklist as the one-collector build computed it, from model instances (docs/worklist.md): the oracle
    the chunked build must match entry for entry."""
    today = now.date()
    loans = list(
        Loan.objects.filter(assigned_collector=collector, status=LoanStatus.ACTIVE, due_date__lt=today)
        .select_related("borrower")
    )
    loan_ids = [loan.pk for loan in loans]
    decisions = {}
    for loan_id, numbers in contact_snapshots_for_loans(loans, now).items():
        rows = []
        for phone, snapshot in numbers:
            decision = policy.evaluate(snapshot, channel="call", at=now)
            holds_until = policy.verdict_horizon(snapshot, decision, now)
            rows.append({
                "phone_id": phone.pk, "masked": phone.masked, "owner": phone.owner,
                "relation": phone.third_party.relation if phone.third_party is not None else "",
                "allowed": decision.allowed, "reasons": [str(r.code) for r in decision.reasons],
                "next_allowed_at": decision.next_allowed_at.isoformat() if decision.next_allowed_at else None,
                "zones": list(decision.zones),
                "binding": list(policy.window_opening_zones(snapshot, decision.next_allowed_at))
                if decision.next_allowed_at else [],
                "left": dict(decision.remaining),
                "holds_until": holds_until.astimezone(dt.UTC).isoformat() if holds_until else None,
            })
        decisions[loan_id] = rows
    callbacks = first_open_callbacks(loan_ids, today)
    last_contact = dict(
        ContactAttempt.objects.filter(loan_id__in=loan_ids).values("loan_id")
        .annotate(last=Max("started_at")).values_list("loan_id", "last")
    )
    promises = loans_with_broken_or_due_promises(loan_ids, today)
    entries = []
    for loan in loans:
        rows = decisions.get(loan.pk, [])
        contactable = any(r["allowed"] for r in rows)
        reason_codes: list[str] = []
        next_times = []
        if not contactable:
            for r in rows:
                reason_codes += [c for c in r["reasons"] if c not in reason_codes]
                if r["next_allowed_at"]:
                    next_times.append(r["next_allowed_at"])
            if not rows:
                reason_codes = ["NO_CONSENT"]
        if loan.pk in callbacks:
            group, tiebreak = GROUP_CALLBACK, callbacks[loan.pk].strftime("%Y%m%d%H%M")
        elif loan.pk in promises:
            group, tiebreak = GROUP_PROMISE, "0" if promises[loan.pk] == "broken" else "1"
        else:
            group, tiebreak = GROUP_REST, ""
        last = last_contact.get(loan.pk)
        sort_key = "|".join([
            str(group), tiebreak, str(bucket_rank(loan.days_past_due(today))),
            f"{(Decimal('999999999999.99') - loan.balance):015.2f}",
            last.strftime("%Y%m%d%H%M") if last else "000000000000", loan.loan_ref,
        ])
        next_allowed_at = min(next_times) if next_times and len(next_times) == len(rows) else None
        horizons = [dt.datetime.fromisoformat(r["holds_until"]) for r in rows if r["holds_until"]]
        entries.append((collector.pk, loan.pk, today, group, sort_key, contactable, reason_codes, rows,
                        dt.datetime.fromisoformat(next_allowed_at) if next_allowed_at else None,
                        min(horizons) if horizons else None, now, None))
    return sorted(entries)


def _random_portfolio(rng, collectors):
    """Generated accounts with a bit of everything the list depends on: several numbers, third parties (authorized
    or not), consents missing or withdrawn, US and UK borrowers, restrictions, inconvenient times, attempts and
    conversations, callbacks, promises, loans shared by one borrower, paid and not yet due loans."""
    borrowers = []
    for i in range(24):
        jurisdiction = rng.choice(["CN", "CN", "CN", "US", "UK"])
        zone = {"CN": "Asia/Shanghai", "US": "America/Denver", "UK": "Europe/London"}[jurisdiction]
        borrower = f.BorrowerFactory(jurisdiction=jurisdiction, timezone=zone)
        numbers = {
            "CN": [f"+8613800138{i:03d}", f"+8618612345{i:03d}"],
            "US": [f"+1212555{100 + i:04d}", f"+1303555{100 + i:04d}"],  # a Denver borrower, a New York number
            "UK": [f"+44740012{i:04d}", f"+44207946{i:04d}"],
        }[jurisdiction]
        phones = [f.PhoneNumberFactory(borrower=borrower, e164=e164, region=jurisdiction[:2].replace("UK", "GB"))
                  for e164 in numbers[:rng.randint(1, 2)]]
        if rng.random() < 0.3:
            third_party = f.ThirdPartyContactFactory(borrower=borrower, authorized=rng.random() < 0.7)
            phones.append(f.PhoneNumberFactory(borrower=borrower, third_party=third_party,
                                               e164=f"+8613900139{i:03d}", region="CN"))
        for phone in phones:
            if rng.random() < 0.85:
                f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=60),
                                 withdrawn_at=MORNING - dt.timedelta(days=1) if rng.random() < 0.1 else None)
        if rng.random() < 0.15:
            f.RestrictionFactory(borrower=borrower, kind=rng.choice(["cease_communication", "temporary_hold"]),
                                 starts_at=MORNING - dt.timedelta(days=3),
                                 ends_at=MORNING + dt.timedelta(days=2) if rng.random() < 0.5 else None)
        if rng.random() < 0.1:
            borrower.inconvenient_times.create(weekdays="012", start=dt.time(9), end=dt.time(12))
        borrowers.append((borrower, phones))
    loans = []
    for i in range(40):
        borrower, phones = borrowers[i % len(borrowers)]
        collector = collectors[i % len(collectors)]
        loan = f.LoanFactory(
            borrower=borrower, assigned_collector=collector, balance=Decimal(rng.randrange(100, 900000)) / 100,
            due_date=TODAY - dt.timedelta(days=rng.randrange(-5, 400)),
            status=LoanStatus.PAID if rng.random() < 0.05 else LoanStatus.ACTIVE,
        )
        for _ in range(rng.randrange(0, 7)):
            started = MORNING - dt.timedelta(days=rng.randrange(0, 12), minutes=rng.randrange(1, 600))
            outcome = rng.choice(["no_answer", "voicemail", "not_connected", "conversation"])
            phone = rng.choice(phones)
            ContactAttempt.objects.create(
                loan=loan, phone=phone, borrower=borrower, channel="call", started_at=started,
                ended_at=started + dt.timedelta(minutes=2), outcome=outcome, compliant=True,
                party=("third_party" if phone.third_party_id else "debtor") if outcome == "conversation" else "",
            )
        roll = rng.random()
        if roll < 0.1:
            Callback.objects.create(loan=loan, collector=collector,
                                    due_at=MORNING + dt.timedelta(hours=rng.randint(-3, 5)))
        elif roll < 0.2:
            Promise.objects.create(loan=loan, collector=collector, amount=Decimal("100.00"),
                                   due_date=TODAY - dt.timedelta(days=rng.randint(0, 1)), created_at=MORNING)
        loans.append(loan)
    return loans


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("hour", [10, 22, 23])  # inside the CN window, at its edge, outside it (next allowed times)
def test_the_chunked_job_builds_exactly_the_entries_of_the_one_collector_build(settings, seed, hour, collector,
                                                                               other_collector):
    settings.WORKLIST_CHUNK_SIZE = 7
    now = MORNING.replace(hour=hour, minute=5)
    rng = random.Random(seed)
    with time_machine.travel(now, tick=False):
        _random_portfolio(rng, [collector, other_collector])
        build_all_worklists.delay()
        assert _entries() == sorted(_reference_entries(collector, now) + _reference_entries(other_collector, now))
    assert WorklistEntry.objects.count() > 25
