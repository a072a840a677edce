"""Keep today's worklists current when a fact the policy reads changes.

A worklist entry stores the policy's verdict for the account (desk.services). Whatever changes one of the facts
behind it — a consent granted or withdrawn, a restriction or complaint hold placed or lifted, a number's status,
a third party's authorization, declared inconvenient times, an attempt started or completed, a loan reassigned,
paid off or closed — the borrower's entries are judged again once the change has committed, by the task
`collections_app.reevaluate_borrower_worklists`. Model signals catch every path (desk, admin, API, services);
writes that send none (the CSV import's bulk inserts) call `worklists_reevaluate_on_commit` themselves.

One transaction sends one task per WORKLIST_CHUNK_SIZE borrowers it touched, however many rows it wrote. A new
policy version or a public holiday changes the facts of every account: today's lists are rebuilt instead (and
a version that takes effect later is caught by the page itself, which re-judges entries built before it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from consent_app.models import Borrower, Consent, InconvenientTime, PhoneNumber, Restriction, ThirdPartyContact

from ..models import ContactAttempt, ContactPolicyVersion, Loan, PublicHoliday
from .tasks import build_all_worklists, reevaluate_borrower_worklists

_local = threading.local()


def _pending() -> set[int]:
    pending = getattr(_local, "borrower_ids", None)
    if pending is None:
        pending = _local.borrower_ids = set()
    return pending


def forget_pending() -> None:
    """Drop the borrowers gathered by transactions that never committed (the tests' own transactions roll back:
    each test starts without the previous one's)."""
    _pending().clear()


def _send_pending() -> None:
    """The first of a transaction's callbacks sends every borrower gathered so far; the others find none."""
    pending = _pending()
    ids = sorted(pending)
    pending.clear()
    size = settings.WORKLIST_CHUNK_SIZE
    for start in range(0, len(ids), size):
        reevaluate_borrower_worklists.delay(ids[start:start + size])


def worklists_reevaluate_on_commit(borrower_ids: Iterable[int | None]) -> None:
    """Have these borrowers' worklist entries judged again once the current transaction commits (at once
    outside a transaction). Calls within one transaction are gathered: it sends one task per WORKLIST_CHUNK_SIZE
    borrowers, whatever the number of calls. A transaction that rolls back sends nothing; its borrowers may ride
    along with the next commit of the same thread, which only judges them again (idempotent)."""
    ids = {pk for pk in borrower_ids if pk is not None}
    if not ids:
        return
    _pending().update(ids)
    # One callback per call (a savepoint that rolls back discards its own; any that runs sends all). robust: the
    # change has committed, and a failure to judge the list again is logged, not the user's error (the page
    # re-judges what the clock changes, and the nightly build everything).
    transaction.on_commit(_send_pending, robust=True)


def _rebuild_today_on_commit() -> None:
    # Every collector's list for today on their team's clock.
    transaction.on_commit(build_all_worklists.delay, robust=True)


# --- Receivers ----------------------------------------------------------------------------------------------------

# Each watched model and how to read its borrower's id off an instance (without a query where the row has it).
_BORROWER_OF: dict[type[Model], Any] = {
    Borrower: lambda obj: obj.pk,
    PhoneNumber: lambda obj: obj.borrower_id,
    ThirdPartyContact: lambda obj: obj.borrower_id,
    Consent: lambda obj: PhoneNumber.objects.filter(pk=obj.phone_id).values_list("borrower_id", flat=True).first(),
    Restriction: lambda obj: obj.borrower_id,
    InconvenientTime: lambda obj: obj.borrower_id,
    Loan: lambda obj: obj.borrower_id,
    ContactAttempt: lambda obj: obj.borrower_id,
}


def _fact_changed(sender: type, instance: Any, raw: bool = False, **_kwargs: Any) -> None:
    if raw:  # loaddata: fixtures are not facts changing
        return
    worklists_reevaluate_on_commit([_BORROWER_OF[sender](instance)])


def _policy_changed(sender: type, instance: Any, raw: bool = False, **_kwargs: Any) -> None:
    if raw:
        return
    _rebuild_today_on_commit()


def connect() -> None:
    """Called once from CollectionsAppConfig.ready()."""
    for model in _BORROWER_OF:
        uid = f"worklist-recheck-{model._meta.label_lower}"
        post_save.connect(_fact_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_fact_changed, sender=model, dispatch_uid=f"{uid}-delete")
    for model in (ContactPolicyVersion, PublicHoliday):
        uid = f"worklist-rebuild-{model._meta.label_lower}"
        post_save.connect(_policy_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_policy_changed, sender=model, dispatch_uid=f"{uid}-delete")
