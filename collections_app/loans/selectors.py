"""Loan reads shared by the admin and the desk."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from ..models import Loan, LoanStatus
from .buckets import CURRENT, bucket_named


def loans_in_bucket(loans: QuerySet[Loan], label: str, today: date) -> QuerySet[Loan]:
    """The loans of `loans` in the days-past-due bucket `label` on `today` (CURRENT: not past due, or not active),
    computed on the due date as Loan.days_past_due does; an unknown label matches none."""
    if label == CURRENT:
        return loans.filter(~Q(status=LoanStatus.ACTIVE) | Q(due_date__gte=today))
    bucket = bucket_named(label)
    if bucket is None:
        return loans.none()
    earliest, latest = bucket.due_dates(today)
    condition = Q(status=LoanStatus.ACTIVE, due_date__lte=latest)
    if earliest is not None:
        condition &= Q(due_date__gte=earliest)
    return loans.filter(condition)
