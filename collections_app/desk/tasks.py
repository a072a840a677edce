"""Celery tasks of the desk. Thin and idempotent: they take ids and call a service."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import partial

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from collections_app.desk.selectors import WorklistChunk, worklist_chunks
from collections_app.desk.services import (
    attempts_close_stale,
    worklist_build_chunk,
    worklist_reevaluate_borrowers,
    worklist_runs_due,
)
from collections_app.workday import collector_zones, desk_zones, work_date_in

__all__ = [
    "build_all_worklists", "build_due_worklists", "build_worklist_chunk", "build_worklist_for_collector",
    "close_stale_attempts", "reevaluate_borrower_worklists",
]


@shared_task(name="collections_app.build_worklist_chunk", acks_late=True, time_limit=600)
def build_worklist_chunk(collector_id: int, work_date: str, after_loan_id: int | None = None,
                         upto_loan_id: int | None = None) -> int:
    """One chunk of one collector's list for `work_date` (ISO date): the loans with after < id <= upto. A rerun
    or a redelivery rewrites the same entries (the service upserts and keeps worked marks)."""
    chunk = WorklistChunk(collector_id, after_loan_id, upto_loan_id)
    return worklist_build_chunk(chunk=chunk, work_date=date.fromisoformat(work_date))


def enqueue_worklist_chunks(chunks: Iterable[WorklistChunk], work_date: date) -> int:
    """One `build_worklist_chunk` task per chunk; returns how many were sent."""
    count = 0
    for chunk in chunks:
        build_worklist_chunk.delay(chunk.collector_id, work_date.isoformat(), chunk.after_loan_id, chunk.upto_loan_id)
        count += 1
    return count


@shared_task(name="collections_app.build_worklist_for_collector", acks_late=True, time_limit=600)
def build_worklist_for_collector(collector_id: int) -> int:
    """The desk's Refresh: one collector's list for today on their team's clock, in the same chunks as the
    nightly job. Returns the number of chunk tasks sent."""
    today = work_date_in(collector_zones([collector_id])[collector_id], timezone.now())
    return enqueue_worklist_chunks(worklist_chunks(work_date=today, collector_id=collector_id), today)


@shared_task(name="collections_app.build_all_worklists", acks_late=True, time_limit=600)
def build_all_worklists(work_date: str | None = None) -> int:
    """Every collector's list, one task per chunk of at most WORKLIST_CHUNK_SIZE loans, so any worker takes a
    share: for `work_date` (ISO date) when given, else for today on each team's clock. Returns the number of
    chunk tasks sent; a rerun sends the same chunks, and they rewrite the same entries."""
    if work_date:
        day = date.fromisoformat(work_date)
        return enqueue_worklist_chunks(worklist_chunks(work_date=day), day)
    now = timezone.now()
    sent = 0
    for zone in desk_zones():
        day = work_date_in(zone, now)
        sent += enqueue_worklist_chunks(worklist_chunks(work_date=day, zone=zone), day)
    return sent


@shared_task(name="collections_app.build_due_worklists", acks_late=True, time_limit=600)
def build_due_worklists() -> int:
    """Beat ("build-worklists", every 15 minutes): the nightly build of each zone's lists, sent once per working
    day as soon as WORKLIST_BUILD_TIME has passed on that zone's clock (05:30 in Shanghai for a Shanghai team,
    05:30 in Chicago for a Chicago one). A run that was missed (beat down at 05:30) is sent by the next one that
    day. Returns the number of chunk tasks sent."""
    with transaction.atomic():  # the runs' rows and their tasks together: a rollback sends nothing
        due = worklist_runs_due(now=timezone.now())
        for chunks, day in due:
            transaction.on_commit(partial(enqueue_worklist_chunks, chunks, day))
    return sum(len(chunks) for chunks, _day in due)


@shared_task(name="collections_app.reevaluate_borrower_worklists", acks_late=True, time_limit=600)
def reevaluate_borrower_worklists(borrower_ids: list[int]) -> int:
    """Today's worklist entries of these borrowers judged again after a fact the policy reads changed (sent on
    commit by collections_app.desk.signals, at most WORKLIST_CHUNK_SIZE borrowers a task). Idempotent: it writes
    the verdict for the moment it runs. Returns the number of entries written."""
    return worklist_reevaluate_borrowers(borrower_ids=borrower_ids)


# A soft limit within the hard one: the settings' default soft limit (9 min) exceeds 300 s, and Celery refuses to
# send a task whose soft limit is the longer (beat could not enqueue this job at all).
@shared_task(name="collections_app.close_stale_attempts", acks_late=True, time_limit=300, soft_time_limit=280)
def close_stale_attempts() -> int:
    return attempts_close_stale()
