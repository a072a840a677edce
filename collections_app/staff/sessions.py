"""The session engine (SESSION_ENGINE): database sessions that know whose they are (models.staff.UserSession), so
that deactivating a user ends their sessions with one indexed DELETE."""

from ..models.staff import UserSessionStore as SessionStore

__all__ = ["SessionStore"]
