"""The dialer's list scrub (GET /api/v1/contactable): every number of the active loans, page by page, each judged as
a batch pre-check judges it — the same snapshots (contact/checks.py `check_snapshots`) and the same engine — in a
number of queries that does not grow with the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.phones import mask

from .. import policy
from ..models import Loan, LoanStatus
from ..permissions import api_loans_visible_to
from .checks import CheckTarget, LoanScope, check_snapshots
from .selectors import LoanRow, PolicyMissing, number_fact
from .versions import Generation, generation_annotations, generation_of

# The most (loan, number) pairs one page of the contactable list holds.
SCRUB_PAGE_LIMIT = 500
_CHANNELS = frozenset(c.value for c in policy.Channel)


@dataclass(frozen=True, slots=True)
class ScrubRow:
    """One (loan, number) of the list: the target to judge and what the answer shows of it."""

    loan_ref: str
    borrower_ref: str
    masked: str
    target: CheckTarget


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """One pair with its decision, or `PolicyMissing` when no policy is in force for its borrower's jurisdiction at
    the instant."""

    row: ScrubRow
    decision: policy.Decision | None = None
    error: PolicyMissing | None = None


_PAIR_FIELDS = (
    "loan_ref", "pk", "borrower_id", "status", "due_date", "borrower__jurisdiction", "borrower__timezone",
    "borrower__borrower_ref", "assigned_collector_id", "borrower__phones__id", "borrower__phones__e164",
    "borrower__phones__third_party_id",
    "borrower__phones__status", "borrower__phones__zones", "borrower__phones__third_party__authorized",
    "policy_generation", "policy_generation_stamp",
)


@cache
def _active_loans() -> QuerySet[Loan]:
    """The active loans with the policy generation, built once per process (as checks.py builds its queryset)."""
    return Loan.objects.annotate(**generation_annotations()).filter(status=LoanStatus.ACTIVE)


def scrub_targets(
    *, at: datetime, after: tuple[int, int] | None, limit: int, scope: LoanScope, collector_id: int | None = None
) -> tuple[list[ScrubRow], Generation, bool]:
    """Up to `limit` (loan, number) pairs after `after` (a loan id and a number id) of the active loans in `scope`
    that may be collectible at `at`, assigned to `collector_id` when given. Returns the rows, the policy generation
    read with them and whether more rows follow. One query whatever `limit`.

    "May be collectible": due before the end of the instant's UTC day. The engine then judges the borrower's own
    day, so a loan due that very day where the borrower lives gets its NOT_COLLECTIBLE decision, not a guess."""
    # The number's conditions in one filter() with the loan's: one join to the numbers, not one per condition.
    condition = Q(due_date__lte=at.astimezone(UTC).date(), borrower__phones__isnull=False)
    if collector_id is not None:
        condition &= Q(assigned_collector_id=collector_id)
    if after is not None:
        loan_id, number_id = after
        condition &= Q(pk__gt=loan_id) | Q(pk=loan_id, borrower__phones__id__gt=number_id)
    # Filtered before values_list: the columns then reuse the filter's join to the numbers (a filter after them
    # would join the numbers a second time, and give each pair once per number of the borrower). The number is
    # decrypted to be masked in the answer and read by the engine (an invalid number is refused), as the desk's
    # worklist reads it.
    pairs: Any = scope(_active_loans()).filter(condition).order_by("pk", "borrower__phones__id")
    found = list(pairs.values_list(*_PAIR_FIELDS)[: limit + 1])
    rows: list[ScrubRow] = []
    generation: Generation = None
    for (ref, pk, borrower_id, status, due_date, jurisdiction, zone, borrower_ref, assigned_id, number_id, e164,
         third_party_id, number_status, zones, authorized, value, stamp) in found[:limit]:
        generation = generation_of(value, stamp)
        number = number_fact(number_id=number_id, e164=e164, status=number_status, third_party_id=third_party_id,
                             authorized=authorized, zones=zones)
        # The assigned collector: a team's incident pause covers the loans of its collectors.
        loan = LoanRow(pk, borrower_id, status, due_date, jurisdiction, zone, assigned_id)
        rows.append(ScrubRow(ref, borrower_ref, mask(e164), CheckTarget(loan, number, at)))
    return rows, generation, len(found) > limit


def _codes(decision: policy.Decision) -> list[str]:
    return [str(r.code) for r in decision.reasons]


def contact_scrub(
    *, channel: str, at: datetime, actor: Any, collector: Any = None, after: tuple[int, int] | None = None,
    limit: int = SCRUB_PAGE_LIMIT,
) -> tuple[list[ScrubResult], bool]:
    """One page of (loan, number) pairs of the active loans in the actor's API scope
    (`permissions.api_loans_visible_to`), of `collector`'s loans when given, in (loan, number) order after `after`,
    each judged at `at` on `channel`. Returns the page and whether more pairs follow.

    Three queries whatever the page's size: the pairs with the policy generation; the facts (+1 holidays when a
    version in force blocks them); the audit event, one per page in the batch pre-check's shape (loan and number
    ids with their verdicts, never a number). A scrub reserves nothing, as a pre-check does not."""
    if channel not in _CHANNELS:
        raise ValidationError({"channel": _("Unknown channel.")})
    if not 1 <= limit <= SCRUB_PAGE_LIMIT:
        raise ValidationError({"limit": _("At most %(n)d items.") % {"n": SCRUB_PAGE_LIMIT}})
    rows, generation, more = scrub_targets(
        at=at, after=after, limit=limit, scope=partial(api_loans_visible_to, actor),
        collector_id=collector.pk if collector is not None else None,
    )
    results = []
    for row, judged in zip(rows, check_snapshots([r.target for r in rows], generation), strict=True):
        if isinstance(judged, PolicyMissing):
            results.append(ScrubResult(row, error=judged))
        else:
            results.append(ScrubResult(row, decision=policy.evaluate(judged[0], channel=channel, at=at)))
    audit_log(
        action=AuditAction.CONTACT_BATCH_CHECKED, actor=actor,
        data={"source": "api.contactable", "channel": channel, "at": at,
              "collector": collector.get_username() if collector is not None else None, "checks": [
                  {"item": i, "loan_id": r.row.target.loan.pk, "phone_id": r.row.target.number.number_id,
                   "allowed": r.decision.allowed, "reasons": _codes(r.decision)} if r.decision is not None else
                  {"item": i, "loan_id": r.row.target.loan.pk, "phone_id": r.row.target.number.number_id,
                   "refused": "policy"}
                  for i, r in enumerate(results)
              ]},
    )
    return results, more
