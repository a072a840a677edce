"""The policy generation: one row that changes, in the writer's transaction, whenever what the decisions read
from their configuration changes (policy versions: contact/versions.py; incident pauses: contact/pauses.py)."""

from __future__ import annotations

import uuid

from django.db.models import F, Subquery
from django.utils import timezone

from ..models import PolicyGeneration

# (value, stamp) of the PolicyGeneration row; None when the row is missing (a database emptied by a test's flush):
# then nothing is kept, every decision loads the versions afresh.
Generation = tuple[int, uuid.UUID] | None


def generation_annotations() -> dict[str, Subquery]:
    """Two scalar subqueries (`policy_generation`, `policy_generation_stamp`) to fold the generation into a query
    the decision runs anyway; read them back with `generation_of(row)`."""
    row = PolicyGeneration.objects.filter(pk=1)
    return {
        "policy_generation": Subquery(row.values("value")[:1]),
        "policy_generation_stamp": Subquery(row.values("stamp")[:1]),
    }


def generation_of(value: int | None, stamp: uuid.UUID | None) -> Generation:
    return None if value is None or stamp is None else (value, stamp)


def current_generation() -> Generation:
    """The generation, in one query (for a decision that has no other query to fold it into)."""
    row = PolicyGeneration.objects.filter(pk=1).values_list("value", "stamp").first()
    return None if row is None else generation_of(*row)


def policy_generation_bump() -> None:
    """Every process reloads its policy versions at its next decision. Call it in the transaction of the change,
    so the change and the bump commit together (a bump without its change only costs a reload)."""
    changed = PolicyGeneration.objects.filter(pk=1).update(
        value=F("value") + 1, stamp=uuid.uuid4(), changed_at=timezone.now()
    )
    if not changed:
        PolicyGeneration.objects.get_or_create(pk=1, defaults={"value": 1, "changed_at": timezone.now()})
