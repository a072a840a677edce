"""Celery tasks for complaints."""

__all__: list[str] = []
