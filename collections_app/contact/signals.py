"""A policy or a version saved or deleted — by the service, the admin or anything else — bumps the policy
generation in the same transaction, so every process's copy of the versions (contact/versions.py) is reloaded at
its next decision. A team's members saved or deleted bump it too: a team's incident pause covers its collectors'
loans, and the pauses' copy (contact/pauses.py) holds the members. Connected in `CollectionsAppConfig.ready()`."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from ..models import ContactPolicy, ContactPolicyVersion, TeamMember
from .generation import policy_generation_bump


def _policy_changed(sender: Any, **kwargs: Any) -> None:
    policy_generation_bump()


def connect() -> None:
    for model in (ContactPolicy, ContactPolicyVersion, TeamMember):
        label = model._meta.label_lower
        post_save.connect(_policy_changed, sender=model, dispatch_uid=f"policy-generation-save-{label}")
        post_delete.connect(_policy_changed, sender=model, dispatch_uid=f"policy-generation-delete-{label}")
