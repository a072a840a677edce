"""Two workers run the escalation job at the same moment (beat overlap, or acks_late redelivery): each overdue
complaint is escalated exactly once. select_for_update does nothing on SQLite, so this runs on PostgreSQL only."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, connections

from audit_app.models import AuditAction, AuditEvent
from collections_app.complaints.services import complaint_escalate_overdue
from tests import factories as f

from .helpers import MORNING, make_cn_loan, open_complaint

WORKERS = 6


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reference_data")
def test_concurrent_escalation_runs_escalate_each_complaint_once():
    supervisor, team = f.make_supervisor("race_sup", "Race team")
    loan = make_cn_loan(f.make_collector("race_col", team))
    with time_machine.travel(MORNING - dt.timedelta(days=20), tick=False):
        complaints = [open_complaint(loan, None, category="other") for _ in range(5)]
    barrier = threading.Barrier(WORKERS)
    escalated: list[int] = []
    errors: list[BaseException] = []

    def work():
        try:
            barrier.wait(timeout=30)
            escalated.extend(complaint_escalate_overdue(now=MORNING))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(escalated) == sorted(c.pk for c in complaints)
    assert AuditEvent.objects.filter(action=AuditAction.COMPLAINT_ESCALATED).count() == len(complaints)
