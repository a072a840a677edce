"""The lifecycles of promises, plans and installments: one transition table, one function that applies it.

    plan:        proposed ──► active                       (within the collector's limits)
                 proposed ──► pending_approval ──► active   (approved by the supervisor or compliance)
                                               └─► declined (the approver refused; terminal)
                 proposed | pending_approval | active ──► cancelled (withdrawn; terminal)
                 active ──► completed (every installment paid) | broken (an installment unpaid after its grace)
    promise:     pending ──► kept | broken | cancelled (superseded by a newer promise, or withdrawn)
    installment: pending ──► paid | broken | cancelled (its plan ended first)

Every other move raises `IllegalTransition`, a ValidationError naming the object and both states.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models

from consent_app.history import with_change_reason

from ..models import Installment, InstallmentState, PlanState, Promise, PromiseState, RepaymentPlan
from ..states import check_transition, is_allowed

TRANSITIONS: dict[type[models.Model], dict[str, frozenset[str]]] = {
    RepaymentPlan: {
        PlanState.PROPOSED: frozenset({PlanState.PENDING_APPROVAL, PlanState.ACTIVE, PlanState.CANCELLED}),
        PlanState.PENDING_APPROVAL: frozenset({PlanState.ACTIVE, PlanState.DECLINED, PlanState.CANCELLED}),
        PlanState.ACTIVE: frozenset({PlanState.COMPLETED, PlanState.BROKEN, PlanState.CANCELLED}),
        PlanState.COMPLETED: frozenset(),
        PlanState.BROKEN: frozenset(),
        PlanState.CANCELLED: frozenset(),
        PlanState.DECLINED: frozenset(),
    },
    Promise: {
        PromiseState.PENDING: frozenset({PromiseState.KEPT, PromiseState.BROKEN, PromiseState.CANCELLED}),
        PromiseState.KEPT: frozenset(),
        PromiseState.BROKEN: frozenset(),
        PromiseState.CANCELLED: frozenset(),
    },
    Installment: {
        InstallmentState.PENDING: frozenset({InstallmentState.PAID, InstallmentState.BROKEN,
                                             InstallmentState.CANCELLED}),
        InstallmentState.PAID: frozenset(),
        InstallmentState.BROKEN: frozenset(),
        InstallmentState.CANCELLED: frozenset(),
    },
}

# The timestamp field set when an object enters a state.
STAMPS: dict[str, str] = {
    "active": "activated_at",
    "completed": "completed_at",
    "broken": "broken_at",
    "cancelled": "cancelled_at",
    "declined": "decided_at",
    "kept": "kept_at",
    "paid": "paid_at",
}


def can_transition(model: type[models.Model], from_state: str, to_state: str) -> bool:
    return is_allowed(TRANSITIONS[model], from_state, to_state)


def transition(obj: Any, to_state: str, *, at: datetime, reason: str, save: bool = True) -> None:
    """Move `obj` to `to_state` if the table allows it, stamp the time, and save with a history change reason.
    The caller holds the row lock (and the loan's) and writes the audit event in the same transaction."""
    from_state = obj.state
    check_transition(TRANSITIONS[type(obj)], obj, from_state, to_state)
    obj.state = to_state
    stamp = STAMPS.get(to_state)
    if stamp and hasattr(obj, stamp):
        setattr(obj, stamp, at)
    if save:
        # simple_history's change-reason column holds 100 characters.
        with_change_reason(obj, f"{from_state} → {to_state}: {reason}"[:100])
        obj.save()
