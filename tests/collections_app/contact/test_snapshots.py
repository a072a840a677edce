"""The snapshots the engine decides on, read from the database: a number's snapshot is the same whether it is read
alone (a call, a pre-check, a reported attempt) or with every number of a worklist."""

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.contact.selectors import contact_snapshot, contact_snapshots_for_loans
from collections_app.models import ContactAttempt
from tests import factories as f

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 3 March 2027, 10:00 in Shanghai: inside the CN window.
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def cn_loan(collector):
    with time_machine.travel(MORNING - dt.timedelta(days=300), tick=False):
        loan = f.LoanFactory(assigned_collector=collector, due_date=dt.date(2027, 1, 15))
        own = f.PhoneNumberFactory(borrower=loan.borrower)
        f.ConsentFactory(phone=own, granted_at=MORNING - dt.timedelta(days=300))
        contact = f.ThirdPartyContactFactory(borrower=loan.borrower)
        f.PhoneNumberFactory(borrower=loan.borrower, third_party=contact)
    return loan


def _phones(loan):
    phones = list(loan.borrower.phones.select_related("third_party").order_by("id"))
    own, third_party = sorted(phones, key=lambda p: p.third_party_id is not None)
    return own, third_party


def _attempt(loan, phone, started_at):
    return ContactAttempt.objects.create(
        loan=loan, phone=phone, borrower=loan.borrower, channel="call", direction="outbound",
        started_at=started_at, outcome="no_answer", compliant=True,
    )


def _started(snapshot):
    return sorted(a.started_at for a in snapshot.attempts)


def _ordered(snapshot):
    return dataclasses.replace(snapshot, attempts=tuple(sorted(snapshot.attempts, key=lambda a: a.started_at)))


def test_a_numbers_snapshot_is_the_same_alone_and_in_the_batch(cn_loan):
    own, third_party = _phones(cn_loan)
    recent = _attempt(cn_loan, own, MORNING - dt.timedelta(days=2))
    old_to_the_third_party = _attempt(cn_loan, third_party, MORNING - dt.timedelta(days=200))
    _attempt(cn_loan, own, MORNING - dt.timedelta(days=200))  # beyond the lookback: not history that matters
    _attempt(cn_loan, own, MORNING + dt.timedelta(hours=1))  # after the instant judged
    f.RestrictionFactory(borrower=cn_loan.borrower, kind="dispute")

    batch = dict(contact_snapshots_for_loans([cn_loan], MORNING)[cn_loan.pk])
    for phone in (own, third_party):
        alone, version = contact_snapshot(loan=cn_loan, phone=phone, at=MORNING)
        assert _ordered(alone) == _ordered(batch[phone])
        assert version.policy.jurisdiction == cn_loan.borrower.jurisdiction
    # The borrower's recent history for every number; every contact ever made to a third party for theirs.
    assert _started(batch[own]) == [recent.started_at]
    assert _started(batch[third_party]) == [old_to_the_third_party.started_at, recent.started_at]
    assert [r.kind for r in batch[own].restrictions] == ["dispute"]
    assert len(batch[own].consents) == 1 and batch[third_party].consents == ()


def test_a_reported_attempt_is_judged_on_the_history_strictly_before_it(cn_loan):
    own, _third_party = _phones(cn_loan)
    earlier = _attempt(cn_loan, own, MORNING - dt.timedelta(hours=1))
    same_instant = _attempt(cn_loan, own, MORNING)
    live, _version = contact_snapshot(loan=cn_loan, phone=own, at=MORNING)
    after_the_fact, _version = contact_snapshot(loan=cn_loan, phone=own, at=MORNING, before=True)
    without_one, _version = contact_snapshot(loan=cn_loan, phone=own, at=MORNING, exclude_attempt_id=same_instant.pk)
    assert _started(live) == [earlier.started_at, same_instant.started_at]
    assert _started(after_the_fact) == [earlier.started_at]
    assert _started(without_one) == [earlier.started_at]
