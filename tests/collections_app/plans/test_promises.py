"""Promises to pay: recording, superseding, and being kept by the payments made for them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit_app.models import AuditEvent
from collections_app.models import Promise, PromiseState
from collections_app.plans.services import promise_cancel, promise_create
from tests.collections_app.plans.helpers import NOW, TODAY, days, pay

pytestmark = pytest.mark.django_db
D = Decimal


def test_the_assigned_collector_records_a_promise(loan, collector):
    promise = promise_create(loan=loan, amount="1500", promise_date=days(5), actor=collector, note="salary on the 8th")
    assert promise.state == PromiseState.PENDING and promise.collector == collector and promise.created_at == NOW
    assert AuditEvent.objects.filter(action="promise.created", subject_id=str(promise.pk)).exists()
    assert promise.history.count() == 1


@pytest.mark.parametrize(("amount", "due", "message"), [
    ("1500", days(-1), "in the past"),
    ("1500", days(31), "at most 30 days"),
    ("7000", days(3), "more than the balance (6,000.00 CNY)"),
    ("0", days(3), "must be positive"),
    ("10.001", days(3), "decimal places"),
])
def test_a_bad_promise_is_refused(loan, collector, amount, due, message):
    with pytest.raises(ValidationError) as exc:
        promise_create(loan=loan, amount=amount, promise_date=due, actor=collector)
    assert message in " ".join(exc.value.messages)
    assert not Promise.objects.exists()


def test_a_promise_may_be_for_today(loan, collector):
    assert promise_create(loan=loan, amount="100", promise_date=TODAY, actor=collector).due_date == TODAY


def test_only_the_assigned_collector_records_promises(loan, other_collector, supervisor):
    for user in (other_collector, supervisor):
        with pytest.raises(PermissionDenied):
            promise_create(loan=loan, amount="100", promise_date=days(1), actor=user)


def test_a_new_promise_supersedes_the_pending_one(loan, collector):
    first = promise_create(loan=loan, amount="1000", promise_date=days(3), actor=collector)
    second = promise_create(loan=loan, amount="1200", promise_date=days(5), actor=collector)
    first.refresh_from_db()
    assert first.state == PromiseState.CANCELLED and second.state == PromiseState.PENDING
    assert first.history.first().history_change_reason == "pending → cancelled: superseded by a new promise"


def test_payments_since_the_promise_add_up_until_it_is_kept(loan, collector, now):
    promise = promise_create(loan=loan, amount="1500", promise_date=days(5), actor=collector)
    now.shift(dt.timedelta(days=1))
    pay(loan, "1000")
    promise.refresh_from_db()
    assert promise.state == PromiseState.PENDING and promise.paid_amount == D("1000")
    now.shift(dt.timedelta(days=5))  # the promised date plus one day: within the grace days
    pay(loan, "500")
    promise.refresh_from_db()
    assert promise.state == PromiseState.KEPT and promise.kept_at is not None
    assert AuditEvent.objects.filter(action="promise.kept").count() == 1


def test_a_payment_after_the_grace_days_does_not_keep_the_promise(loan, collector, now):
    promise = promise_create(loan=loan, amount="1500", promise_date=days(5), actor=collector)
    now.shift(dt.timedelta(days=8))  # promised date + 3 days; grace is 2
    pay(loan, "1500")
    promise.refresh_from_db()
    assert promise.state == PromiseState.PENDING and promise.paid_amount == 0


def test_a_payment_dated_before_the_promise_does_not_count(loan, collector):
    promise = promise_create(loan=loan, amount="1500", promise_date=days(5), actor=collector)
    pay(loan, "1500", at=NOW - dt.timedelta(hours=2))
    promise.refresh_from_db()
    assert promise.state == PromiseState.PENDING


def test_a_withdrawn_promise_needs_a_reason(loan, collector, other_collector):
    promise = promise_create(loan=loan, amount="1500", promise_date=days(5), actor=collector)
    with pytest.raises(PermissionDenied):
        promise_cancel(promise=promise, actor=other_collector, reason="x")
    with pytest.raises(ValidationError):
        promise_cancel(promise=promise, actor=collector, reason=" ")
    assert promise_cancel(promise=promise, actor=collector, reason="entered by mistake").state == "cancelled"
