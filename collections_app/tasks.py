"""Celery tasks of every collections area. Each is thin (ids in, a service called) and idempotent because
acks_late may run it twice (STYLE.md §4). Celery's autodiscovery imports `<app>.tasks`; this module imports
each area's task module so their tasks register under their stable `name=` strings."""

from .complaints.tasks import *  # noqa: F403
from .desk.tasks import *  # noqa: F403
from .plans.tasks import *  # noqa: F403
