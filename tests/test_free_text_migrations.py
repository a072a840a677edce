"""The migrations that encrypt the free text already stored — consent_app 0002 (a restriction's reason and lift
reason, a number's status-change reasons) and collections_app 0012 (a promise's note, a plan's reason, decision
comment and cancellation reason) — keep every row readable: rows written before them (and their history rows)
read back the same afterwards with no plaintext left in the tables. Status-change reasons move out of the
plaintext change reasons into the encrypted field; a withdrawn promise gets its reason from its audit event and
the change reasons that carried a typed reason are reduced to "withdrawn". Migrating back decrypts the texts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit_app.models import AuditAction
from audit_app.services import audit_log
from collections_app.models import Promise, RepaymentPlan
from consent_app.models import PhoneNumber, Restriction
from tests import factories as f

# Migrating changes the schema: only a transactional test can; serialized_rollback restores the migrations' data.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True),
              pytest.mark.usefixtures("reference_data")]

BEFORE = [("consent_app", "0001_initial"), ("collections_app", "0011_plans")]
AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
PLACED = "Daughter Wang Li says he is in hospital"
LIFTED = "Wang Li: he is home again"
STATUS = "Wang Li answered: not his number"
NOTE = "Will pay after Zhao Lei's surgery"
WITHDRAWN = "Zhao Lei pays it instead"
REASON = "Zhao Lei lost his job"
COMMENT = "Fine given Zhao Lei's letter"
CANCELLED = "Zhao Lei refinanced"
TABLES = ("consent_app_restriction", "consent_app_historicalrestriction", "consent_app_phonenumber",
          "consent_app_historicalphonenumber", "collections_app_promise", "collections_app_historicalpromise",
          "collections_app_repaymentplan", "collections_app_historicalrepaymentplan")


def _migrate(targets):
    return MigrationExecutor(connection).migrate(targets).apps


def _raw(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names are ours
        rows = cursor.fetchall()
    return " ".join(
        (bytes(value).decode("latin-1") if isinstance(value, bytes | memoryview) else str(value))
        for row in rows for value in row
    )


def _consent_rows_as_written_before(apps):
    """A restriction, lifted, with its two history rows, and a number whose status changed, as 0001's code wrote
    them (the history rows by hand: simple_history does not watch migration-state models)."""
    borrower = apps.get_model("consent_app", "Borrower").objects.create(
        borrower_ref="B-MIG-1", full_name="Wang Wei", jurisdiction="CN")
    restriction = apps.get_model("consent_app", "Restriction").objects.create(
        borrower=borrower, kind="dispute", starts_at=AT, reason=PLACED, lifted_at=AT + dt.timedelta(days=1),
        lift_reason=LIFTED)
    history = apps.get_model("consent_app", "HistoricalRestriction")
    for offset, lift_reason, change in ((0, "", "placed"), (1, LIFTED, "lifted")):
        history.objects.create(
            id=restriction.pk, borrower_id=borrower.pk, kind="dispute", starts_at=AT, reason=PLACED,
            lifted_at=AT + dt.timedelta(days=1) if lift_reason else None, lift_reason=lift_reason,
            created_at=AT, history_date=AT + dt.timedelta(days=offset), history_type="+" if not offset else "~",
            history_change_reason=change)
    phone = apps.get_model("consent_app", "PhoneNumber").objects.create(
        borrower=borrower, e164="+8613800138000", blind_index="mig-index", region="CN", status="wrong_number")
    phone_history = apps.get_model("consent_app", "HistoricalPhoneNumber")
    for offset, status, change in ((0, "active", "number added"), (1, "wrong_number", STATUS)):
        phone_history.objects.create(
            id=phone.pk, borrower_id=borrower.pk, e164="+8613800138000", blind_index="mig-index", region="CN",
            kind="mobile", zones=[], status=status, created_at=AT, updated_at=AT,
            history_date=AT + dt.timedelta(days=offset), history_type="+" if not offset else "~",
            history_change_reason=change)
    return restriction.pk, phone.pk


def _plan_rows_as_written_before(apps, loan, collector):
    """A withdrawn promise with a note and a cancelled plan with its texts, with history rows and the withdrawal's
    audit event, as 0011's code wrote them (history rows by hand: simple_history does not watch state models)."""
    common = {"loan_id": loan.pk, "collector_id": collector.pk, "created_at": AT}
    promise = apps.get_model("collections_app", "Promise").objects.create(
        **common, amount=Decimal("100"), due_date=AT.date(), state="cancelled", note=NOTE, cancelled_at=AT)
    promise_history = apps.get_model("collections_app", "HistoricalPromise")
    for offset, state, change in ((0, "pending", "created"), (1, "cancelled", f"pending → cancelled: {WITHDRAWN}")):
        promise_history.objects.create(
            **common, id=promise.pk, amount=Decimal("100"), due_date=AT.date(), state=state, note=NOTE,
            paid_amount=Decimal("0"), history_date=AT + dt.timedelta(hours=offset), history_type="~" if offset else "+",
            history_change_reason=change)
    audit_log(action=AuditAction.PROMISE_CANCELLED, subject_type="collections_app.promise", subject_id=promise.pk,
              data={"loan_ref": loan.loan_ref, "why": "withdrawn", "reason": WITHDRAWN})
    plan_fields = {**common, "kind": "installments", "balance_at_proposal": Decimal("6000"),
                   "agreed_total": Decimal("6000"), "required_level": "supervisor", "reason": REASON,
                   "decision_comment": COMMENT}
    plan = apps.get_model("collections_app", "RepaymentPlan").objects.create(
        **plan_fields, state="cancelled", cancel_reason=CANCELLED, cancelled_at=AT)
    plan_history = apps.get_model("collections_app", "HistoricalRepaymentPlan")
    for offset, state, cancel_reason, change in ((0, "active", "", "pending_approval → active: approved by sup"),
                                                (1, "cancelled", CANCELLED, f"active → cancelled: {CANCELLED}")):
        plan_history.objects.create(
            **plan_fields, id=plan.pk, state=state, cancel_reason=cancel_reason, discount_percent=Decimal("0"),
            exceeded_limits=[], history_date=AT + dt.timedelta(hours=offset), history_type="~",
            history_change_reason=change)
    return promise.pk, plan.pk


def _check_consent_rows(restriction_id, phone_id):
    restriction = Restriction.objects.get(pk=restriction_id)
    assert (restriction.reason, restriction.lift_reason) == (PLACED, LIFTED)
    assert [(h.reason, h.lift_reason) for h in restriction.history.order_by("history_date")] == [
        (PLACED, ""), (PLACED, LIFTED)]
    phone = PhoneNumber.objects.get(pk=phone_id)
    assert phone.last_status_reason == STATUS
    assert [(h.history_change_reason, h.last_status_reason) for h in phone.history.order_by("history_date")] == [
        ("number added", ""), ("status changed", STATUS)]


def _check_plan_rows(promise_id, plan_id):
    promise = Promise.objects.get(pk=promise_id)
    assert (promise.note, promise.cancel_reason) == (NOTE, WITHDRAWN)
    assert [(h.note, h.cancel_reason, h.history_change_reason) for h in promise.history.order_by("history_date")] == [
        (NOTE, "", "created"), (NOTE, WITHDRAWN, "pending → cancelled: withdrawn")]
    plan = RepaymentPlan.objects.get(pk=plan_id)
    assert (plan.reason, plan.decision_comment, plan.cancel_reason) == (REASON, COMMENT, CANCELLED)
    assert [(h.cancel_reason, h.history_change_reason) for h in plan.history.order_by("history_date")] == [
        ("", "pending_approval → active: approved by sup"), (CANCELLED, "active → cancelled: withdrawn")]


def test_existing_texts_are_encrypted_and_read_back_after_migrating_and_back_again(collector):
    loan = f.LoanFactory(assigned_collector=collector)
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        apps = _migrate(BEFORE)
        restriction_id, phone_id = _consent_rows_as_written_before(apps)
        promise_id, plan_id = _plan_rows_as_written_before(apps, loan, collector)
        assert PLACED in _raw("consent_app_restriction") and NOTE in _raw("collections_app_promise")  # plaintext

        _migrate(latest)
        _check_consent_rows(restriction_id, phone_id)
        _check_plan_rows(promise_id, plan_id)
        for table in TABLES:
            assert "Wang Li" not in _raw(table) and "Zhao Lei" not in _raw(table), table

        apps = _migrate(BEFORE)
        back = apps.get_model("consent_app", "Restriction").objects.get(pk=restriction_id)
        assert (back.reason, back.lift_reason) == (PLACED, LIFTED)
        changes = apps.get_model("consent_app", "HistoricalPhoneNumber").objects.order_by("history_date")
        assert list(changes.values_list("history_change_reason", flat=True)) == ["number added", STATUS]
        plan = apps.get_model("collections_app", "RepaymentPlan").objects.get(pk=plan_id)
        assert (plan.reason, plan.decision_comment, plan.cancel_reason) == (REASON, COMMENT, CANCELLED)
        assert apps.get_model("collections_app", "Promise").objects.get(pk=promise_id).note == NOTE
    finally:
        _migrate(latest)
