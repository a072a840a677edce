"""`{% load plans_tags %}{% account_plans_panel loan user %}`: the account's promises and plans with their
installments and states, and the actions the user may take. A fixed number of queries (see account_plans).
`{{ plan.created_at|waiting:now }}`: how long a plan has waited for its approver."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils.translation import gettext as _

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


@register.filter
def waiting(since: datetime | None, now: datetime) -> str:
    """How long something has waited since `since`, for a queue: "waiting 25 min", "waiting 3 h",
    "waiting 2 d 5 h" (whole units, rounded down)."""
    if since is None:
        return ""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    if minutes < 60:
        return _("waiting %(n)d min") % {"n": minutes}
    hours = minutes // 60
    if hours < 24:
        return _("waiting %(n)d h") % {"n": hours}
    return _("waiting %(days)d d %(hours)d h") % {"days": hours // 24, "hours": hours % 24}
