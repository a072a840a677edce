"""Celery tasks for complaints: thin and idempotent (STYLE.md §4)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .services import complaint_escalate_overdue

__all__ = ["escalate_overdue_complaints"]


@shared_task(name="collections_app.escalate_overdue_complaints", acks_late=True, soft_time_limit=9 * 60,
             time_limit=10 * 60)
def escalate_overdue_complaints() -> int:
    """Hourly (beat: "escalate-overdue-complaints"): move complaints past a deadline to the compliance queue.
    Each complaint is escalated once (`escalated_at` is the claim), so a rerun or a redelivery changes nothing."""
    return len(complaint_escalate_overdue(now=timezone.now()))
