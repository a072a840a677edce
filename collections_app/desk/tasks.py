"""Celery tasks of the desk. Thin and idempotent: they take ids and call a service."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model

from collections_app.desk.services import attempts_close_stale, worklist_build

from ..models import Loan, LoanStatus

__all__ = ["build_all_worklists", "build_worklist_for_collector", "close_stale_attempts"]


@shared_task(name="collections_app.build_worklist_for_collector", acks_late=True, time_limit=600)
def build_worklist_for_collector(collector_id: int) -> int:
    collector = get_user_model().objects.filter(pk=collector_id, is_active=True).first()
    if collector is None:
        return 0
    return worklist_build(collector=collector)


@shared_task(name="collections_app.build_all_worklists", acks_late=True, time_limit=600)
def build_all_worklists() -> int:
    """Nightly: one subtask per collector with active loans, so any worker can take a share of the work."""
    collector_ids = (
        Loan.objects.filter(status=LoanStatus.ACTIVE, assigned_collector__isnull=False)
        .values_list("assigned_collector_id", flat=True).distinct()
    )
    count = 0
    for collector_id in collector_ids:
        build_worklist_for_collector.delay(collector_id)
        count += 1
    return count


@shared_task(name="collections_app.close_stale_attempts", acks_late=True, time_limit=300)
def close_stale_attempts() -> int:
    return attempts_close_stale()
