"""Celery tasks of the collections app. Tasks are thin: they take ids, reload, and call a service; every task is
idempotent because acks_late may run it twice (STYLE.md §4). Area task modules are imported here so Celery's
autodiscovery (which imports `<app>.tasks`) registers them."""

from .complaints.tasks import *  # noqa: F403
from .desk_tasks import *  # noqa: F403
from .plans.tasks import *  # noqa: F403
