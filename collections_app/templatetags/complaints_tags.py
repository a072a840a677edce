"""`{% account_complaints_panel loan user %}`: the complaints card of the account page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..complaints.selectors import account_complaints, reviewable_ids

register = template.Library()


@register.inclusion_tag("collections_app/complaints/_account_panel.html")
def account_complaints_panel(loan: Any, user: Any) -> dict[str, Any]:
    """The account's complaints as far as `user` may see them (a collector: summaries only, never a complaint
    naming another collector), with a link to record one. Two queries (one for a collector)."""
    complaints = account_complaints(user, loan)
    can_open = reviewable_ids(user, complaints)
    now = timezone.now()
    return {
        "loan": loan,
        "rows": [{"complaint": c, "can_open": c.pk in can_open, "overdue": c.is_open and c.is_overdue(now),
                  "hold_active": c.hold_restriction is not None and c.hold_restriction.lifted_at is None}
                 for c in complaints],
    }


@register.inclusion_tag("collections_app/complaints/_report_tables.html")
def complaint_report_tables(report: Any) -> dict[str, Any]:
    """The report's three breakdowns and its total (desk and admin share the tables)."""
    return {
        "sections": [
            (_("By collector"), report.by_collector, "collector"),
            (_("By team"), report.by_team, "team"),
            (_("By category"), report.by_category, "category"),
            (_("Total"), [report.total], "total"),
        ]
    }
