"""Proposing plans (validation, approval limits per role, routing) and deciding them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from audit_app.models import AuditEvent
from collections_app.contact.services import attempt_record
from collections_app.models import ApprovalLimit, PlanState, RepaymentPlan, TeamMember
from collections_app.plans.services import plan_approve, plan_cancel, plan_decline, plan_propose
from collections_app.states import IllegalTransition
from tests import factories as f
from tests.collections_app.plans.helpers import days, schedule

pytestmark = pytest.mark.django_db


def _actions(obj):
    return list(AuditEvent.objects.filter(subject_type=obj._meta.label_lower, subject_id=str(obj.pk))
                .order_by("id").values_list("action", flat=True))


def _errors(exc):
    return " ".join(m for ms in exc.value.message_dict.values() for m in ms)


# --- Validation --------------------------------------------------------------------------------------------------


def test_a_plan_within_the_collectors_limits_is_active_at_once(loan, collector):
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 6), actor=collector)
    assert plan.state == PlanState.ACTIVE and plan.required_level == "collector"
    assert plan.approver is None and plan.exceeded_limits == []
    assert plan.installments.count() == 6
    assert [h.state for h in plan.history.order_by("history_id")] == ["proposed", "active"]
    assert _actions(plan) == ["plan.proposed", "plan.activated"]


@pytest.mark.parametrize(("sched", "message"), [
    ([(days(-1), Decimal("6000"))], "in the past"),
    ([(days(7), Decimal("3000")), (days(37), Decimal("2000"))],
     "add up to 5,000.00 CNY, not the agreed total 6,000.00 CNY"),
    ([(days(7), Decimal("5950")), (days(37), Decimal("50"))], "below the minimum of 100.00 CNY"),
    ([(days(7), Decimal("3000")), (days(400), Decimal("3000"))], "at most 365 days"),
    ([(days(61), Decimal("6000"))], "at most 60 days away"),
    ([(days(37), Decimal("3000")), (days(7), Decimal("3000"))], "increasing order"),
    ([(days(7), Decimal("3000")), (days(7), Decimal("3000"))], "increasing order"),
    ([], "at least one installment"),
    (schedule("6000", 25, every=7), "At most 24 installments"),
])
def test_a_schedule_breaking_a_rule_is_refused(loan, collector, sched, message):
    with pytest.raises(ValidationError) as exc:
        plan_propose(loan=loan, kind="installments", schedule=sched, actor=collector, reason="x")
    assert message in _errors(exc)
    assert not RepaymentPlan.objects.exists()


def test_the_limits_come_from_settings(loan, collector):
    with override_settings(PLAN_MIN_INSTALLMENT=Decimal("2000")), pytest.raises(ValidationError) as exc:
        plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 6), actor=collector)
    assert "below the minimum of 2,000.00 CNY" in _errors(exc)


def test_an_installment_plan_covers_the_whole_balance(loan, collector):
    with pytest.raises(ValidationError) as exc:
        plan_propose(loan=loan, kind="installments", agreed_total="5000", schedule=schedule("5000", 2),
                     actor=collector)
    assert "a smaller total is a settlement" in _errors(exc)


def test_a_settlement_is_for_less_than_the_balance_and_records_its_discount(loan, collector):
    with pytest.raises(ValidationError):
        plan_propose(loan=loan, kind="settlement", agreed_total="6000", schedule=schedule("6000", 1),
                     actor=collector)
    plan = plan_propose(loan=loan, kind="settlement", agreed_total="5700", schedule=schedule("5700", 2),
                        actor=collector)
    assert plan.discount_percent == Decimal("5.00") and plan.state == PlanState.ACTIVE


def test_a_discount_beyond_the_hard_maximum_is_refused_for_everyone(loan, collector):
    with pytest.raises(ValidationError) as exc:
        plan_propose(loan=loan, kind="settlement", agreed_total="2000", schedule=schedule("2000", 1),
                     actor=collector, reason="hardship")
    assert "at most 60" in _errors(exc)


def test_only_the_assigned_collector_proposes(loan, other_collector, supervisor):
    for user in (other_collector, supervisor):
        with pytest.raises(PermissionDenied):
            plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 2), actor=user)


def test_a_loan_has_one_open_plan_at_a_time(loan, collector):
    plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 2), actor=collector)
    with pytest.raises(ValidationError, match="already has an open plan"):
        plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 3), actor=collector)


def test_a_paid_loan_gets_no_plan(loan, collector):
    loan.status, loan.balance = "paid", Decimal("0")
    loan.save()
    with pytest.raises(ValidationError, match="Only an active loan"):
        plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 2), actor=collector)


def test_a_plan_may_name_the_conversation_it_was_agreed_in(loan, collector):
    phone = f.PhoneNumberFactory(borrower=loan.borrower)
    attempt, _ = attempt_record(external_id="D-1", loan=loan, phone=phone, channel="call", direction="inbound",
                                started_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
                                outcome="conversation", actor=collector)
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 2), actor=collector,
                        attempt=attempt)
    assert plan.contact_attempt == attempt
    other = f.LoanFactory(assigned_collector=collector)
    with pytest.raises(ValidationError, match="another loan"):
        plan_propose(loan=other, kind="installments", schedule=schedule(other.balance, 2), actor=collector,
                     attempt=attempt)


# --- Approval limits per role ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "total", "sched", "exceeded"), [
    ("installments", "6000", schedule("6000", 8), ["installments"]),
    ("settlement", "5100", schedule("5100", 2), ["discount"]),  # 15 %
    ("installments", "6000", [(days(20), Decimal("6000"))], ["first_payment_delay"]),
])
def test_beyond_the_collectors_limits_the_plan_waits_for_the_team_supervisor(
    loan, collector, supervisor, kind, total, sched, exceeded
):
    plan = plan_propose(loan=loan, kind=kind, agreed_total=total, schedule=sched, actor=collector,
                        reason="borrower lost their job")
    assert plan.state == PlanState.PENDING_APPROVAL
    assert plan.required_level == "supervisor" and plan.approver == supervisor
    assert plan.exceeded_limits == exceeded
    assert [h.state for h in plan.history.order_by("history_id")] == ["proposed", "pending_approval"]
    assert _actions(plan) == ["plan.proposed", "plan.submitted"]


def test_beyond_the_collectors_limits_a_reason_is_required(loan, collector):
    with pytest.raises(ValidationError) as exc:
        plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector, reason="  ")
    assert "give the reason" in _errors(exc)


@pytest.mark.parametrize(("kind", "total", "sched"), [
    ("installments", "6000", schedule("6000", 13, every=14)),
    ("settlement", "3900", schedule("3900", 2)),  # 35 %
    ("installments", "6000", [(days(45), Decimal("6000"))]),
])
def test_beyond_the_supervisors_limits_the_plan_goes_to_compliance(loan, collector, kind, total, sched):
    plan = plan_propose(loan=loan, kind=kind, agreed_total=total, schedule=sched, actor=collector, reason="r")
    assert plan.state == PlanState.PENDING_APPROVAL
    assert plan.required_level == "compliance" and plan.approver is None


def test_a_collector_without_a_team_is_routed_to_compliance(loan, collector):
    TeamMember.objects.filter(user=collector).delete()
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector, reason="r")
    assert plan.required_level == "compliance"


def test_the_limits_edited_in_admin_replace_the_defaults(loan, collector):
    ApprovalLimit.objects.filter(role="Collector").update(max_installments=12, max_discount_percent=Decimal("0"),
                                                          max_first_payment_delay_days=30)
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector)
    assert plan.state == PlanState.ACTIVE


def test_the_migration_installed_default_limits():
    assert dict(ApprovalLimit.objects.values_list("role", "max_installments")) == {"Collector": 6, "Supervisor": 12}


def test_without_rows_the_default_limits_of_the_settings_apply(loan, collector):
    ApprovalLimit.objects.all().delete()
    assert plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 6), actor=collector).state == "active"


# --- Decisions ---------------------------------------------------------------------------------------------------


@pytest.fixture
def pending(loan, collector):
    return plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8), actor=collector,
                        reason="needs more time")


@pytest.fixture
def for_compliance(loan, collector):
    return plan_propose(loan=loan, kind="settlement", agreed_total="3900", schedule=schedule("3900", 2),
                        actor=collector, reason="medical bills")


def test_the_supervisor_approves_with_a_comment(pending, supervisor):
    plan = plan_approve(plan=pending, actor=supervisor, comment="ok for 8")
    assert plan.state == PlanState.ACTIVE and plan.decided_by == supervisor and plan.decision_comment == "ok for 8"
    assert plan.history.order_by("-history_id").first().history_change_reason.startswith("pending_approval → active")
    event = AuditEvent.objects.filter(action="plan.approved").get()
    assert event.actor == supervisor and event.data["commented"] is True and "ok for 8" not in str(event.data)


def test_the_supervisor_declines_with_a_required_comment(pending, supervisor):
    with pytest.raises(ValidationError):
        plan_decline(plan=pending, actor=supervisor, comment="")
    plan = plan_decline(plan=pending, actor=supervisor, comment="too long")
    assert plan.state == PlanState.DECLINED and plan.decided_at is not None
    assert set(plan.installments.values_list("state", flat=True)) == {"cancelled"}
    assert _actions(plan)[-1] == "plan.declined"


def test_a_collector_cannot_approve(pending, collector, other_collector):
    for user in (collector, other_collector):
        with pytest.raises(PermissionDenied):
            plan_approve(plan=pending, actor=user)
    assert RepaymentPlan.objects.get().state == PlanState.PENDING_APPROVAL


def test_a_supervisor_cannot_approve_outside_their_team(pending, other_supervisor):
    with pytest.raises(PermissionDenied):
        plan_approve(plan=pending, actor=other_supervisor)
    with pytest.raises(PermissionDenied):
        plan_decline(plan=pending, actor=other_supervisor, comment="no")


def test_a_supervisor_cannot_approve_beyond_their_limits(for_compliance, supervisor):
    with pytest.raises(PermissionDenied):
        plan_approve(plan=for_compliance, actor=supervisor)


def test_any_compliance_officer_approves_beyond_the_supervisors_limits(for_compliance, compliance):
    another = f.make_compliance("compliance_two")
    plan = plan_approve(plan=for_compliance, actor=another, comment="hardship documented")
    assert plan.state == PlanState.ACTIVE and plan.decided_by == another
    assert compliance != another


def test_compliance_may_also_decide_a_supervisor_level_plan(pending, compliance):
    assert plan_decline(plan=pending, actor=compliance, comment="no").state == PlanState.DECLINED


def test_deciding_twice_is_an_illegal_transition(pending, supervisor):
    plan_approve(plan=pending, actor=supervisor)
    with pytest.raises(IllegalTransition, match="“active” to “active”"):
        plan_approve(plan=pending, actor=supervisor)
    with pytest.raises(IllegalTransition, match="“active” to “declined”"):
        plan_decline(plan=pending, actor=supervisor, comment="changed my mind")


def test_an_approval_after_the_first_date_passed_is_refused(pending, supervisor, now):
    now.shift(dt.timedelta(days=8))
    with pytest.raises(ValidationError, match="has passed"):
        plan_approve(plan=pending, actor=supervisor)


def test_cancelling_a_plan_needs_a_reason_and_ends_its_installments(pending, collector, other_collector):
    with pytest.raises(PermissionDenied):
        plan_cancel(plan=pending, actor=other_collector, reason="x")
    with pytest.raises(ValidationError):
        plan_cancel(plan=pending, actor=collector, reason="")
    plan = plan_cancel(plan=pending, actor=collector, reason="borrower will pay in full")
    assert plan.state == PlanState.CANCELLED and plan.cancel_reason == "borrower will pay in full"
    assert set(plan.installments.values_list("state", flat=True)) == {"cancelled"}
    with pytest.raises(IllegalTransition):
        plan_cancel(plan=plan, actor=collector, reason="again")


def test_the_team_supervisor_may_cancel_an_active_plan(loan, collector, supervisor):
    plan = plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 2), actor=collector)
    assert plan_cancel(plan=plan, actor=supervisor, reason="fraud suspected").state == PlanState.CANCELLED
