"""Celery tasks for plans."""

__all__: list[str] = []
