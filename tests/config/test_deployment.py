"""What the production processes are started with: the production settings' Celery semantics, the Procfile, the
gunicorn settings and the systemd units in deploy/."""

from __future__ import annotations

import importlib
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from honcho.environ import parse_procfile

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "s", "DJANGO_ALLOWED_HOSTS": "desk.example.com",
    "DATABASE_URL": "postgres://u@db.example.com:5432/collector_desk", "CELERY_BROKER_URL": "redis://r:6379/0",
    "FERNET_KEYS": "k1", "BLIND_INDEX_KEY": "b", "AUDIT_CHAIN_KEYS": "p1:c", "AUDIT_CHECKPOINT_SIGNING_KEY": "x",
    "ALERT_EMAILS": "compliance@example.com",
}


def _production_settings(monkeypatch, **env):
    for key, value in {**PRODUCTION_ENV, **env}.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.delitem(sys.modules, "config.settings.production", raising=False)
    try:
        return importlib.import_module("config.settings.production")
    finally:
        sys.modules.pop("config.settings.production", None)


def test_production_tasks_are_acknowledged_late_requeued_when_a_worker_dies_and_reserved_one_at_a_time(monkeypatch):
    production = _production_settings(monkeypatch)
    assert production.CELERY_TASK_ALWAYS_EAGER is False
    assert production.CELERY_TASK_ACKS_LATE is True
    assert production.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert production.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    # A dead worker's task comes back only after the longest task could have finished: no task runs twice at once.
    assert production.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > 1800
    assert production.ALERT_EMAILS == ["compliance@example.com"]


def test_production_refuses_to_start_without_an_alert_address(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="ALERT_EMAILS"):
        _production_settings(monkeypatch, ALERT_EMAILS=None)


def test_the_deployable_entry_points_default_to_the_production_settings():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", "import os, config; print(os.environ['DJANGO_SETTINGS_MODULE'])"],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "config.settings.production"


def test_the_procfile_runs_gunicorn_a_worker_and_beat_on_the_production_settings():
    processes = parse_procfile((ROOT / "Procfile").read_text()).processes
    assert list(processes) == ["web", "worker", "beat"]
    assert "gunicorn config.wsgi --config deploy/gunicorn.conf.py" in processes["web"]
    assert "celery -A config worker" in processes["worker"]
    assert "celery -A config beat" in processes["beat"]
    assert all("config.settings.production" in command for command in processes.values())


def test_gunicorn_takes_its_sizes_and_timeouts_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "5")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "20")
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert (conf["bind"], conf["workers"], conf["threads"], conf["timeout"]) == (["127.0.0.1:8123"], 3, 5, 20)
    assert conf["worker_class"] == "gthread" and conf["accesslog"] is None


def test_every_task_can_be_sent_its_soft_time_limit_within_the_hard_one():
    # Celery refuses to send a task whose soft limit is the longer; beat would never enqueue such a job.
    celery_app.loader.import_default_modules()
    tasks = {name: task for name, task in celery_app.tasks.items()
             if name.startswith(("audit_app.", "collections_app."))}
    assert "collections_app.close_stale_attempts" in tasks
    refused = {name: (task.soft_time_limit, task.time_limit) for name, task in tasks.items()
               if task.soft_time_limit and task.time_limit and task.soft_time_limit > task.time_limit}
    assert refused == {}


@pytest.mark.parametrize("unit", ["collector-desk-web.service", "collector-desk-worker@.service",
                                  "collector-desk-beat.service"])
def test_each_systemd_unit_reads_the_environment_file_and_restarts(unit):
    text = (ROOT / "deploy" / unit).read_text()
    assert "EnvironmentFile=/etc/collector-desk/collector-desk.env" in text
    assert "Environment=DJANGO_SETTINGS_MODULE=config.settings.production" in text
    assert "Restart=always" in text
