"""Celery tasks for plans: thin and idempotent (STYLE.md §4)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from celery import shared_task
from django.utils import timezone

from .services import promises_mark_broken

__all__ = ["detect_broken_promises"]


@shared_task(name="collections_app.detect_broken_promises", acks_late=True, soft_time_limit=9 * 60,
             time_limit=10 * 60)
def detect_broken_promises(today: str | None = None) -> dict[str, int]:
    """Daily (beat: "detect-broken-promises"): mark promises and installments broken after the grace days.
    `today` (ISO date) defaults to the local date; a rerun changes nothing."""
    day = date.fromisoformat(today) if today else timezone.localdate()
    return asdict(promises_mark_broken(today=day))
