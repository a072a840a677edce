"""Days-past-due buckets: the one reader of settings.COLLECTION_BUCKETS (a leaf module). A loan's bucket, the
worklist's order and bucket filter, the loan admin's filter and the demo portfolio all go through it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings

# The label of a loan that is not past due (or not active): it is in none of the configured buckets.
CURRENT = "current"


@dataclass(frozen=True)
class Bucket:
    """An inclusive range of days past due; `high` None is open-ended."""

    label: str
    low: int
    high: int | None

    def contains(self, days_past_due: int) -> bool:
        return days_past_due >= self.low and (self.high is None or days_past_due <= self.high)

    def due_dates(self, today: date) -> tuple[date | None, date]:
        """(earliest, latest) due date of an active loan in this bucket on `today`; earliest None: open-ended.

        dpd >= low  <=>  due_date <= today - low ; dpd <= high  <=>  due_date >= today - high."""
        latest = today - timedelta(days=self.low)
        earliest = today - timedelta(days=self.high) if self.high is not None else None
        return earliest, latest


def buckets() -> list[Bucket]:
    """The configured buckets, from the least to the most overdue. Read on every call, so that overridden
    settings apply."""
    return [Bucket(label, low, high) for label, low, high in settings.COLLECTION_BUCKETS]


def bucket_labels() -> list[str]:
    return [bucket.label for bucket in buckets()]


def bucket_named(label: str) -> Bucket | None:
    """The configured bucket with this label (None for CURRENT or an unknown label)."""
    return next((bucket for bucket in buckets() if bucket.label == label), None)


def bucket_for(days_past_due: int) -> str:
    """The bucket label of a number of days past due, or CURRENT when not past due. A number past due that no
    range contains (a gap in the configuration) gets the last bucket's label."""
    if days_past_due <= 0:
        return CURRENT
    configured = buckets()
    for bucket in configured:
        if bucket.contains(days_past_due):
            return bucket.label
    return configured[-1].label


def bucket_rank(days_past_due: int) -> int:
    """The worklist's sort rank, higher buckets first: 0 for the most overdue bucket, then counting up; a number
    of days no bucket contains (not past due) ranks after every bucket."""
    configured = buckets()
    for index, bucket in enumerate(configured):
        if bucket.contains(days_past_due):
            return len(configured) - 1 - index
    return len(configured)
