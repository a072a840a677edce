"""Reads shared by views and services, each in a bounded number of queries."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from consent_app.models import Consent, PhoneNumber, Restriction

from .models import Loan
from .permissions import loans_visible_to


def loan_list_for_user(user: Any) -> QuerySet[Loan]:
    return loans_visible_to(user).select_related("borrower", "assigned_collector").order_by("due_date", "loan_ref")


def loan_detail_for_user(user: Any, loan_ref: str) -> Loan:
    from .permissions import get_loan_for_user_or_404

    queryset = Loan.objects.select_related("borrower", "assigned_collector").prefetch_related(
        Prefetch(
            "borrower__phones",
            queryset=PhoneNumber.objects.select_related("third_party").prefetch_related(
                Prefetch("consents", queryset=Consent.objects.order_by("-granted_at"))
            ),
        ),
        Prefetch("borrower__restrictions", queryset=Restriction.objects.order_by("-starts_at")),
        "payments",
    )
    return get_loan_for_user_or_404(user, loan_ref, queryset)
