"""Celery tasks for the desk."""

__all__: list[str] = []
