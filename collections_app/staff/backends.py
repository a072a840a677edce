"""The desk's authentication backend: Django's ModelBackend, loading a signed-in user together with their own
settings (`StaffProfile`), their team membership and team, so the reader's clock (`collections_app.workday.
reader_zone`, activated per request by `collections_app.http.ReaderTimeZoneMiddleware`) costs no query of its
own. The policy generation comes with the user (two scalar subqueries), so the desk's incident banner takes the
pauses in force from the process's copy (contact/pauses.py) without a query of its own."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from ..contact.generation import generation_annotations


class DeskModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        users = (get_user_model()._default_manager.select_related("staff_profile", "team_membership__team")
                 .annotate(**generation_annotations()))
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
