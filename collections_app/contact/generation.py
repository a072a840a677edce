"""The policy generation: one row that changes, in the writer's transaction, whenever what the decisions read
from their configuration changes (policy versions: contact/versions.py; incident pauses: contact/pauses.py)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

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


class _Loaded(Protocol):
    @property
    def generation(self) -> Generation: ...


L = TypeVar("L", bound=_Loaded)


class GenerationCache(Generic[L]):
    """A process's copy of what `load(generation)` reads, kept while the generation stays the same. Reads take no
    lock (one attribute read); a reload takes one, so threads that find the copy outdated at once load it once,
    and the copy is only ever replaced whole. With no generation row (None) nothing is kept."""

    def __init__(self, load: Callable[[Generation], L]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._loaded: L | None = None

    def get(self, generation: Generation) -> L:
        loaded = self._loaded
        if generation is not None and loaded is not None and loaded.generation == generation:
            return loaded
        with self._lock:
            loaded = self._loaded
            if generation is not None and loaded is not None and loaded.generation == generation:
                return loaded
            loaded = self._load(generation)
            if generation is not None:
                self._loaded = loaded
            return loaded
