"""What people type on promises and plans — a promise's note and why it was withdrawn, a plan's reason, the
approver's comment, why a plan was cancelled — is stored encrypted (also in the history tables), kept whole up to
the limit and refused beyond it (never cut short), and never copied into a change reason or an audit event."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from audit_app.models import AuditEvent
from collections_app.models import PlanState, Promise, PromiseState, RepaymentPlan
from collections_app.plans.services import (
    plan_approve,
    plan_cancel,
    plan_decline,
    plan_propose,
    promise_cancel,
    promise_create,
)
from consent_app.models import FREE_TEXT_MAX_LENGTH
from tests.collections_app.plans.helpers import days, schedule

pytestmark = pytest.mark.django_db

# Sentinels: a third party's name and health, what these fields end up holding in practice.
NOTE = "Pays when sister Chen Jing is out of hospital"
WITHDRAWN = "Chen Jing will pay it off instead"
REASON = "Lost his job; Chen Jing helps with rent"
COMMENT = "Ok given Chen Jing's letter"
CANCELLED = "Chen Jing found a cheaper loan"
NAME = "Chen Jing"


def _raw_text(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names are ours
        rows = cursor.fetchall()
    assert rows, f"{table} is empty: the test would prove nothing"
    return " ".join(
        (value.tobytes() if isinstance(value, memoryview) else value).decode("latin-1")
        if isinstance(value, bytes | memoryview) else str(value)
        for row in rows for value in row
    )


@pytest.fixture
def written(loan, collector, supervisor):
    """A withdrawn promise with a note, a declined plan and an approved-then-cancelled plan, all with texts."""
    promise = promise_create(loan=loan, amount="500", promise_date=days(5), actor=collector, note=NOTE)
    promise_cancel(promise=promise, actor=collector, reason=WITHDRAWN)
    declined = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector,
                            reason=REASON)
    plan_decline(plan=declined, actor=supervisor, comment=COMMENT)
    approved = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector,
                            reason=REASON)
    plan_approve(plan=approved, actor=supervisor, comment=COMMENT)
    plan_cancel(plan=approved, actor=collector, reason=CANCELLED)
    return {"promise": promise, "declined": declined, "approved": approved}


@pytest.mark.parametrize("table", [
    "collections_app_promise", "collections_app_historicalpromise",
    "collections_app_repaymentplan", "collections_app_historicalrepaymentplan",
])
def test_the_texts_are_encrypted_at_rest_and_in_history(written, table):
    assert NAME not in _raw_text(table)


def test_the_texts_read_back_whole_from_the_rows(written):
    promise = Promise.objects.get(pk=written["promise"].pk)
    assert (promise.note, promise.cancel_reason, promise.state) == (NOTE, WITHDRAWN, PromiseState.CANCELLED)
    declined = RepaymentPlan.objects.get(pk=written["declined"].pk)
    assert (declined.reason, declined.decision_comment) == (REASON, COMMENT)
    approved = RepaymentPlan.objects.get(pk=written["approved"].pk)
    assert (approved.decision_comment, approved.cancel_reason, approved.state) == (
        COMMENT, CANCELLED, PlanState.CANCELLED)
    assert approved.history.first().cancel_reason == CANCELLED


def test_no_text_reaches_a_change_reason_or_the_audit_log(written):
    changes = [*Promise.history.values_list("history_change_reason", flat=True),
               *RepaymentPlan.history.values_list("history_change_reason", flat=True)]
    assert not any(NAME in (change or "") for change in changes)
    assert "pending → cancelled: withdrawn" in changes and "active → cancelled: withdrawn" in changes
    assert NAME not in json.dumps(list(AuditEvent.objects.values_list("data", flat=True)))


def test_the_plan_page_shows_the_texts_from_the_row(client, written, collector):
    client.force_login(collector)
    body = client.get(reverse("plans:plan_detail", args=[written["approved"].pk])).content.decode()
    for text in (REASON, CANCELLED):
        assert text.replace("'", "&#x27;") in body


LONGEST, TOO_LONG = "x" * FREE_TEXT_MAX_LENGTH, "x" * (FREE_TEXT_MAX_LENGTH + 1)


def test_a_promise_note_is_kept_whole_up_to_the_limit_and_refused_beyond(loan, collector):
    with pytest.raises(ValidationError) as refused:
        promise_create(loan=loan, amount="500", promise_date=days(5), actor=collector, note=TOO_LONG)
    assert "note" in refused.value.message_dict and not Promise.objects.exists()
    promise = promise_create(loan=loan, amount="500", promise_date=days(5), actor=collector, note=LONGEST)
    assert Promise.objects.get(pk=promise.pk).note == LONGEST


@pytest.mark.parametrize("write", ["promise_cancel", "plan_propose", "plan_approve", "plan_decline", "plan_cancel"])
def test_a_reason_or_comment_beyond_the_limit_is_refused_and_changes_nothing(loan, collector, supervisor, write):
    promise = promise_create(loan=loan, amount="500", promise_date=days(5), actor=collector)
    calls = {
        "promise_cancel": lambda text: promise_cancel(promise=promise, actor=collector, reason=text),
        "plan_propose": lambda text: plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8),
                                                  actor=collector, reason=text),
    }
    if write not in calls:
        plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector,
                            reason="r")
        calls = {
            "plan_approve": lambda text: plan_approve(plan=plan, actor=supervisor, comment=text),
            "plan_decline": lambda text: plan_decline(plan=plan, actor=supervisor, comment=text),
            "plan_cancel": lambda text: plan_cancel(plan=plan, actor=collector, reason=text),
        }
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        calls[write](TOO_LONG)
    assert AuditEvent.objects.count() == before
    assert Promise.objects.get(pk=promise.pk).state == PromiseState.PENDING
    assert not RepaymentPlan.objects.exclude(state=PlanState.PENDING_APPROVAL).exists()


def test_an_approval_with_a_comment_too_long_is_refused_not_approved_without_it(client, loan, collector, supervisor):
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector, reason="r")
    client.force_login(supervisor)
    response = client.post(reverse("plans:plan_approve", args=[plan.pk]), {"comment": TOO_LONG})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.state == PlanState.PENDING_APPROVAL and plan.decision_comment == ""
    assert any("2000" in str(m) for m in get_messages(response.wsgi_request))


def test_cancelling_with_a_reason_too_long_says_so_on_the_page(client, loan, collector):
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector, reason="r")
    client.force_login(collector)
    response = client.post(reverse("plans:plan_cancel", args=[plan.pk]), {"reason": TOO_LONG})
    assert RepaymentPlan.objects.get(pk=plan.pk).state == PlanState.PENDING_APPROVAL
    assert response.status_code == 422
    assert "2000" in " ".join(response.context["cancel_form"].errors["reason"])
    response = client.post(reverse("plans:plan_cancel", args=[plan.pk]), {"reason": LONGEST})
    assert RepaymentPlan.objects.get(pk=plan.pk).cancel_reason == LONGEST


def test_the_promise_form_accepts_a_long_note(client, loan, collector):
    client.force_login(collector)
    url = reverse("plans:promise_create", args=[loan.loan_ref])
    client.post(url, {"amount": "500.00", "promise_date": days(5).isoformat(), "note": "y" * 1500})
    assert Promise.objects.get().amount == Decimal("500.00") and Promise.objects.get().note == "y" * 1500
