"""Writing the desk's notifications (`models.Notification`): what a collector is told when one of their plans is
approved or declined, a hold on one of their accounts is lifted, or an account is assigned to them.

The services of each area call `notifications_send` inside their own transaction, so a notification exists if
and only if what it tells of committed. A leaf module (it imports the models only): loans/ and plans/ call it
without importing the desk's services, which import theirs. A notification holds no text: the list renders it
from its plan and loan (desk.selectors.notifications_of, templates/collections_app/notifications.html).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from ..models import Notification, NotificationKind, RepaymentPlan


# Always inside the caller's transaction (savepoint=False: the one INSERT needs no savepoint of its own).
@transaction.atomic(savepoint=False)
def notifications_send(
    *, kind: NotificationKind, recipients: Iterable[tuple[int | None, int | None]], actor: Any,
    plan: RepaymentPlan | None = None,
) -> list[Notification]:
    """One notification of `kind` per (recipient id, loan id) pair, about `plan` if given. Nobody is told of
    their own act, a pair without a recipient is skipped, and a pair named twice is written once. One INSERT."""
    actor_id = getattr(actor, "pk", None)
    pairs = sorted({(recipient_id, loan_id) for recipient_id, loan_id in recipients
                    if recipient_id is not None and recipient_id != actor_id})
    if not pairs:
        return []
    return Notification.objects.bulk_create([
        Notification(recipient_id=recipient_id, kind=kind, loan_id=loan_id, plan=plan)
        for recipient_id, loan_id in pairs
    ])
