"""Celery application. Tasks run eagerly in local and test settings; production reads the broker from the
environment (CELERY_BROKER_URL)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("collector_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
