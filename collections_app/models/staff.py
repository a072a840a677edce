"""Staff accounts: the sessions table, which knows whose session each row is.

Django's database sessions keep the user id inside the encoded session data, so ending one user's sessions would
mean decoding every row. This table is the session table itself (SESSION_ENGINE = collections_app.staff.sessions,
Django's documented way of extending the database backend) with the user id in an indexed column, written on every
save: it stays right when the session key changes (sign-in, password change) and when a session ends, which a
mapping filled on sign-in would not.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from consent_app.validators import canonical_timezone, validate_timezone

# The session key django.contrib.auth stores the signed-in user's id under.
AUTH_USER_ID_KEY = "_auth_user_id"
# A session in use has its end moved (SESSION_COOKIE_AGE from now) at most this often: the idle limit is then exact
# to within this much, and a desk page's requests do not each write the session row.
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)


class UserSession(AbstractBaseSession):
    # The signed-in user's id (no foreign key: a session may outlive the user row, and is then ignored by auth).
    user_id = models.IntegerField(null=True, blank=True, db_index=True)

    @classmethod
    def get_session_store_class(cls) -> type[UserSessionStore]:
        return UserSessionStore


class UserSessionStore(DatabaseSessionStore):
    """Database sessions stored in UserSession, with the signed-in user's id in its own column."""

    _stored_expiry: datetime | None = None

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def _get_session_from_db(self) -> Any:
        row = super()._get_session_from_db()  # type: ignore[misc]  # Django's, not in the stubs
        self._stored_expiry = row.expire_date if row is not None else None
        return row

    def touch_if_due(self) -> None:
        """Idle expiry: a session read in this request whose stored end is more than SESSION_TOUCH_INTERVAL behind
        a fresh one is marked modified, so the session middleware saves it with a new end (now + the age)."""
        if self._stored_expiry is None or self.modified:
            return
        fresh = timezone.now() + timedelta(seconds=self.get_session_cookie_age())
        if fresh - self._stored_expiry >= SESSION_TOUCH_INTERVAL:
            self.modified = True

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        row = cast(UserSession, super().create_model_instance(data))
        try:
            row.user_id = int(data[AUTH_USER_ID_KEY])
        except (KeyError, TypeError, ValueError):
            row.user_id = None
        return row


class StaffProfile(models.Model):
    """A desk user's own settings. ``time_zone`` is the clock the user reads the desk and the admin in; empty
    means the user's team's zone, then the desk's (TIME_ZONE)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, validators=[validate_timezone],
                                 help_text=_("An IANA zone such as Asia/Shanghai; empty: the team's zone."))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return f"profile of {self.user_id}"

    def clean(self) -> None:
        self.time_zone = canonical_timezone(self.time_zone)  # a legacy name is stored as the zone it links to
