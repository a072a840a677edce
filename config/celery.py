"""Celery application. Tasks run eagerly in local and test settings; production reads the broker from the
environment (CELERY_BROKER_URL).

The default settings module is production's, as in wsgi.py and asgi.py: `config/__init__.py` imports this module
first, so its default is the one `gunicorn config.wsgi` and `celery -A config worker|beat` get (manage.py picks
local settings for development, pytest the test settings)."""

import os

from celery import Celery
from celery.signals import task_failure

from audit_app.alerts import task_failure_alert

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("collector_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A beat job (or a subtask of the nightly job) that fails for good raises an operations alert (audit_app.alerts).
task_failure.connect(task_failure_alert, weak=False)
