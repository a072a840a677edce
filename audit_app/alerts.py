"""Operations alerts: what must reach a person, not only a log file — a background job that failed for good, a break
in the audit chain. Each alert is one ERROR log line (logger ``audit_app.alerts``) and one e-mail to
settings.ALERT_EMAILS (through the configured EMAIL_BACKEND).

Alerts name tasks, task ids, exception classes, event ids and chain positions; never a failed task's exception
message (it can quote a row), a number, a name or any other borrower data. The traceback stays in the worker's
log. (A job beat could not send is quoted with beat's reason: the broker's or Celery's, about no row.)
The same alert is sent at most once per ALERT_THROTTLE_SECONDS by each process, so a job failing every second
(the sealer while the database is down) does not flood the mailbox.

This module imports no model: config/celery.py connects `task_failure_alert` to Celery's task_failure signal, and
beat runs with `AlertingScheduler` (CELERY_BEAT_SCHEDULER), which alerts when a due job cannot even be sent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from celery.beat import PersistentScheduler, ScheduleEntry
from django.conf import settings
from django.core.mail import send_mail
from kombu import Producer

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[Collector Desk alert] "
MAX_LINES = 50

_last_sent: dict[str, float] = {}
_lock = threading.Lock()


def _due(key: str) -> bool:
    """Whether the alert `key` may be sent now (and, if so, remember that it was)."""
    now = time.monotonic()
    with _lock:
        last = _last_sent.get(key)
        if last is not None and now - last < settings.ALERT_THROTTLE_SECONDS:
            return False
        _last_sent[key] = now
        return True


def alert_send(*, key: str, subject: str, lines: Sequence[str]) -> bool:
    """Log `subject` and `lines` as one ERROR record and mail them to ALERT_EMAILS. Returns False when the same
    `key` was alerted within ALERT_THROTTLE_SECONDS (nothing is sent). Never raises: a mail server that is down is
    itself logged, and the caller (a failing task, a verification) carries on."""
    if not _due(key):
        logger.warning("ALERT %s (repeated within %s s: not sent again)", subject, settings.ALERT_THROTTLE_SECONDS)
        return False
    shown = list(lines[:MAX_LINES])
    if len(lines) > MAX_LINES:
        shown.append(f"... and {len(lines) - MAX_LINES} more")
    logger.error("ALERT %s: %s", subject, "; ".join(shown))
    recipients = list(settings.ALERT_EMAILS)
    if not recipients:
        logger.error("ALERT_EMAILS is empty: the alert above was not mailed to anyone")
        return True
    try:
        send_mail(subject=SUBJECT_PREFIX + subject, message="\n".join(shown) + "\n", from_email=None,
                  recipient_list=recipients)
    except Exception as exc:  # the alert is in the log already; a mail failure must not hide the original one
        logger.error("the alert above could not be mailed (%s)", type(exc).__name__)
    return True


def task_failure_alert(sender: Any = None, task_id: str | None = None, exception: BaseException | None = None,
                       **kwargs: Any) -> None:
    """Celery's task_failure handler: a task of settings.ALERT_TASKS (every beat job and the nightly job's
    subtasks) failed for good (retries exhausted, or an error that is not retried)."""
    name = getattr(sender, "name", "") or ""
    if name not in settings.ALERT_TASKS:
        return
    failure = type(exception).__name__ if exception is not None else "unknown error"
    alert_send(
        key=f"task:{name}",
        subject=f"background job {name} failed",
        lines=[f"task {name} (id {task_id}) failed: {failure}", "The worker's log has the traceback."],
    )


class AlertingScheduler(PersistentScheduler):
    """beat's default scheduler, plus an alert when a due job cannot be sent (the broker is down, the task's
    options are refused): no task runs then, so no task_failure signal would tell anyone. beat itself logs the
    error and tries again at the job's next time."""

    def apply_async(self, entry: ScheduleEntry, producer: Producer | None = None, advance: bool = True,
                    **kwargs: Any) -> Any:
        try:
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        except Exception as exc:
            # SchedulingError's text names the entry and the broker's or Celery's reason; jobs take no arguments.
            alert_send(key=f"beat:{entry.name}", subject=f"beat could not send the job {entry.task}",
                       lines=[f"scheduled job {entry.name} ({entry.task}) was not sent: {exc}"])
            raise
