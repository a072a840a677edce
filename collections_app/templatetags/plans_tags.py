"""`{% load plans_tags %}{% account_plans_panel loan user %}`: the account's promises and plans with their
installments and states, and the actions the user may take. A fixed number of queries (see account_plans)."""

from __future__ import annotations

from typing import Any

from django import template

from collections_app.models import PlanState
from collections_app.permissions import may_cancel, may_negotiate
from collections_app.plans.selectors import account_plans

register = template.Library()


@register.inclusion_tag("collections_app/plans/panel.html", takes_context=True)
def account_plans_panel(context: template.Context, loan: Any, user: Any) -> dict[str, Any]:
    data = account_plans(loan)
    open_plan = data.open_plan
    return {
        "loan": loan,
        "promises": data.promises,
        "plans": data.plans,
        "can_negotiate": may_negotiate(user, loan),
        "can_cancel": may_cancel(user, loan),
        "can_propose": may_negotiate(user, loan) and open_plan is None,
        "open_plan": open_plan,
        "active_state": PlanState.ACTIVE,
        "csrf_token": context.get("csrf_token"),
    }
