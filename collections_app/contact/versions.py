"""Contact policy versions through a per-process cache keyed by the policy generation.

`PolicyGeneration` is one row that changes, in the writer's transaction, whenever a policy or a version is saved
or deleted (contact/signals.py; `policy_generation_bump` for any other change decisions must see at once). A
decision reads the generation — one tiny query, or a subquery of a query it runs anyway
(`generation_annotations`) — and takes its versions from `versions_at(generation)`: from memory when this process
last loaded that very generation, else from the database (every version of every policy: a few dozen rows), which
then becomes the process's copy. So a new version is used by the very next decision in every process, and no
decision ever runs on versions older than the generation it read.

Loaded inside the reader's transaction, the copy is what that transaction sees: a version not yet committed is in
the copy of its own transaction's generation only (another process, reading the committed generation, reloads).
The stamp in the key, new at each bump, keeps a rolled-back bump from ever matching again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import policy
from ..models import ContactPolicyVersion
from .generation import (
    Generation,
    GenerationCache,
    current_generation,
    generation_annotations,
    generation_of,
    policy_generation_bump,
)
from .selectors import policy_params

__all__ = ["Generation", "LoadedVersions", "current_generation", "generation_annotations", "generation_of",
           "policy_generation_bump", "versions_at"]

@dataclass(frozen=True)
class LoadedVersions:
    """Every policy version as of one generation. Immutable once built, so threads share it without a lock."""

    generation: Generation
    # Per jurisdiction, the order in which the one in force is found: latest effective_from, then highest version.
    by_jurisdiction: dict[str, tuple[ContactPolicyVersion, ...]]
    # The engine's parameters of each version (by pk), without holidays: built once per load, not per decision.
    params_by_version: dict[int, policy.PolicyParams]

    def in_force(self, jurisdiction: str, at: datetime) -> ContactPolicyVersion | None:
        """The version a decision at `at` follows: the latest one in effect by then (a check at a past instant
        follows the version in force at that instant)."""
        for version in self.by_jurisdiction.get(jurisdiction, ()):
            if version.effective_from <= at:
                return version
        return None

    def params(self, version: ContactPolicyVersion, holidays: frozenset = frozenset()) -> policy.PolicyParams:
        if holidays:
            return policy_params(version, holidays)
        return self.params_by_version[version.pk]


def _load(generation: Generation) -> LoadedVersions:
    by_jurisdiction: dict[str, list[ContactPolicyVersion]] = {}
    for version in ContactPolicyVersion.objects.select_related("policy").order_by("-effective_from", "-version"):
        by_jurisdiction.setdefault(version.policy.jurisdiction, []).append(version)
    versions = [v for group in by_jurisdiction.values() for v in group]
    return LoadedVersions(
        generation=generation,
        by_jurisdiction={j: tuple(group) for j, group in by_jurisdiction.items()},
        params_by_version={v.pk: policy_params(v) for v in versions},
    )


_cache = GenerationCache(_load)


def versions_at(generation: Generation) -> LoadedVersions:
    """The policy versions as of `generation`, which the caller has just read from the database."""
    return _cache.get(generation)
