"""Desk reads."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from ..models import Loan
from ..permissions import loans_visible_to


def loan_list_for_user(user: Any) -> QuerySet[Loan]:
    return loans_visible_to(user).select_related("borrower", "assigned_collector").order_by("due_date", "loan_ref")

