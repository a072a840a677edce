"""Operations alerts: a beat job that fails for good, and a break found by the nightly verification of the audit
chain, each reach compliance as an ERROR log line and an e-mail to ALERT_EMAILS — naming the job or the events,
never the data."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from celery import shared_task
from celery.beat import ScheduleEntry
from celery.schedules import crontab

from audit_app import alerts
from audit_app.models import AuditAction, AuditEvent
from audit_app.services import audit_chain_seal, audit_log
from audit_app.tasks import seal_chain, verify_chain_scheduled
from config.celery import app as celery_app
from tests.audit_app.helpers import tamper

PERSONAL = "Zhang San +8613800138000"


@pytest.fixture(autouse=True)
def fresh_throttle():
    """Each test starts as a fresh worker process would: no alert sent yet."""
    alerts._last_sent.clear()
    yield
    alerts._last_sent.clear()


@shared_task(name="tests.audit_app.unscheduled_job")
def unscheduled_job() -> None:
    raise RuntimeError(PERSONAL)


@shared_task(name="tests.audit_app.misconfigured_job", time_limit=5, soft_time_limit=10)
def misconfigured_job() -> None:
    """Celery refuses to send it: its soft time limit exceeds its hard one."""


def _alert_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "audit_app.alerts"]


def test_a_failed_beat_job_logs_an_error_and_mails_the_alert_addresses(mailoutbox, caplog, settings):
    with mock.patch("audit_app.tasks.audit_chain_seal", side_effect=RuntimeError(PERSONAL)):
        assert seal_chain.apply(throw=False).failed()  # as in a worker: the failure is handled, not raised
    [record] = _alert_records(caplog)
    assert record.levelno == logging.ERROR and "audit_app.seal_chain" in record.getMessage()
    [mail] = mailoutbox
    assert mail.to == settings.ALERT_EMAILS == ["compliance-alerts@example.test"]
    assert "audit_app.seal_chain" in mail.subject
    assert "RuntimeError" in mail.body
    assert PERSONAL not in mail.body + mail.subject + record.getMessage()


def test_a_failing_task_outside_the_schedule_raises_no_alert(mailoutbox, caplog):
    assert unscheduled_job.apply(throw=False).failed()
    assert mailoutbox == [] and _alert_records(caplog) == []


def test_a_job_failing_again_within_the_throttle_is_logged_but_mailed_once(mailoutbox, caplog):
    with mock.patch("audit_app.tasks.audit_chain_seal", side_effect=RuntimeError(PERSONAL)):
        for _ in range(3):
            assert seal_chain.apply(throw=False).failed()
    assert len(mailoutbox) == 1
    assert [r.levelname for r in _alert_records(caplog)] == ["ERROR", "WARNING", "WARNING"]


def test_beat_alerts_when_a_due_job_cannot_even_be_sent(mailoutbox, caplog, tmp_path):
    scheduler = alerts.AlertingScheduler(app=celery_app, schedule_filename=str(tmp_path / "schedule"), lazy=True)
    entry = ScheduleEntry(name="nightly-misconfigured", task="tests.audit_app.misconfigured_job",
                          schedule=crontab(hour=5, minute=30), app=celery_app)
    scheduler.apply_entry(entry)  # beat logs the error and carries on, as it does for every due job
    [mail] = mailoutbox
    assert "beat could not send the job tests.audit_app.misconfigured_job" in mail.subject
    assert "soft_time_limit must be less than or equal to time_limit" in mail.body
    assert [r.levelname for r in _alert_records(caplog)] == ["ERROR"]


def test_beat_runs_with_the_alerting_scheduler(settings):
    assert settings.CELERY_BEAT_SCHEDULER == "audit_app.alerts:AlertingScheduler"
    assert celery_app.conf.beat_scheduler == "audit_app.alerts:AlertingScheduler"


def test_a_mail_server_that_is_down_does_not_hide_the_alert(settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens there
    assert alerts.alert_send(key="test", subject="something failed", lines=["details"]) is True
    assert [r.levelname for r in _alert_records(caplog)] == ["ERROR", "ERROR"]
    assert "could not be mailed" in caplog.text


def test_every_job_that_alerts_is_a_registered_task_and_every_beat_job_alerts(settings):
    celery_app.loader.import_default_modules()
    assert set(settings.ALERT_TASKS) <= set(celery_app.tasks)
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= set(settings.ALERT_TASKS)
    assert any(entry["task"] == "audit_app.verify_chain" for entry in settings.CELERY_BEAT_SCHEDULE.values())


@pytest.fixture
def sealed_events(db):
    for n in range(3):
        audit_log(action=AuditAction.LOAN_CREATED, subject_type="loan", subject_id=n + 1, data={"n": n})
    audit_chain_seal()
    return list(AuditEvent.objects.order_by("seq"))


def test_the_nightly_verification_of_an_intact_chain_sends_nothing(sealed_events, mailoutbox, caplog):
    assert verify_chain_scheduled.apply().get() == 0
    assert mailoutbox == [] and _alert_records(caplog) == []


def test_the_nightly_verification_alerts_compliance_when_it_finds_a_break(sealed_events, mailoutbox, caplog):
    edited = sealed_events[1]
    tamper("UPDATE audit_app_auditevent SET data = %s WHERE id = %s", ['{"n": 99}', edited.pk])
    assert verify_chain_scheduled.apply().get() >= 1
    [mail] = mailoutbox
    assert "audit chain" in mail.subject
    assert f"event {edited.pk}: hash does not match" in mail.body
    assert "99" not in mail.body.replace(str(edited.pk), "")
    [record] = _alert_records(caplog)
    assert record.levelno == logging.ERROR and f"event {edited.pk}" in record.getMessage()
