"""The collector's desk: building worklists, recording outcomes with their follow-ups, callbacks, notes, and
closing abandoned calls. Every contact rule stays in collections_app.policy; this module only asks it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from collections_app.contact.selectors import contact_snapshots_for_loans
from collections_app.contact.services import attempt_complete
from collections_app.loans.buckets import bucket_rank
from consent_app.history import with_change_reason
from consent_app.models import PhoneNumber, RestrictionKind
from consent_app.services import restriction_place

from .. import policy
from ..models import AttemptOutcome, Callback, ContactAttempt, Loan, LoanStatus, Note, WorklistEntry
from ..plans.selectors import loans_with_broken_or_due_promises
from ..plans.services import promise_create

# --- Worklist -----------------------------------------------------------------------------------------------------

# Priority groups, in order (docs/worklist.md): a callback due today, a promise due or broken, everything else.
GROUP_CALLBACK, GROUP_PROMISE, GROUP_REST = 0, 1, 2


def evaluate_loans(loans: list[Loan], at: datetime, channel: str = "call") -> dict[int, list[dict[str, Any]]]:
    """The policy's decision for every number of every loan, in a fixed number of queries."""
    decisions: dict[int, list[dict[str, Any]]] = {}
    for loan_id, entries in contact_snapshots_for_loans(loans, at).items():
        rows = []
        for phone, snapshot in entries:
            decision = policy.evaluate(snapshot, channel=channel, at=at)
            rows.append({
                "phone_id": phone.pk,
                "masked": phone.masked,
                "owner": phone.owner,
                "relation": phone.third_party.relation if phone.third_party is not None else "",
                "allowed": decision.allowed,
                "reasons": [str(r.code) for r in decision.reasons],
                "next_allowed_at": decision.next_allowed_at.isoformat() if decision.next_allowed_at else None,
            })
        decisions[loan_id] = rows
    return decisions


@transaction.atomic
def worklist_build(*, collector: Any, now: datetime | None = None) -> int:
    """Rebuild today's worklist of one collector. Idempotent: entries are replaced, `worked_at` is kept."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    loans = list(
        Loan.objects.filter(assigned_collector=collector, status=LoanStatus.ACTIVE, due_date__lt=today)
        .select_related("borrower")
    )
    loan_ids = [loan.pk for loan in loans]
    decisions = evaluate_loans(loans, now)
    callbacks = dict(
        Callback.objects.filter(
            loan_id__in=loan_ids, done_at__isnull=True, cancelled_at__isnull=True, due_at__date__lte=today
        ).values("loan_id").annotate(first=Max("due_at")).values_list("loan_id", "first")
    )
    last_contact = dict(
        ContactAttempt.objects.filter(loan_id__in=loan_ids).values("loan_id")
        .annotate(last=Max("started_at")).values_list("loan_id", "last")
    )
    promises = loans_with_broken_or_due_promises(loan_ids, today)
    worked = dict(
        WorklistEntry.objects.filter(collector=collector, work_date=today, worked_at__isnull=False)
        .values_list("loan_id", "worked_at")
    )
    WorklistEntry.objects.filter(collector=collector, work_date=today).delete()
    entries = []
    for loan in loans:
        rows = decisions.get(loan.pk, [])
        allowed = [r for r in rows if r["allowed"]]
        contactable = bool(allowed)
        reason_codes: list[str] = []
        next_times: list[str] = []
        if not contactable:
            for r in rows:
                reason_codes += [c for c in r["reasons"] if c not in reason_codes]
                if r["next_allowed_at"]:
                    next_times.append(r["next_allowed_at"])
            if not rows:
                reason_codes = ["NO_CONSENT"]
        if loan.pk in callbacks:
            group = GROUP_CALLBACK
            tiebreak = callbacks[loan.pk].strftime("%Y%m%d%H%M")
        elif loan.pk in promises:
            group, tiebreak = GROUP_PROMISE, "0" if promises[loan.pk] == "broken" else "1"
        else:
            group, tiebreak = GROUP_REST, ""
        last = last_contact.get(loan.pk)
        balance_rank = f"{(Decimal('999999999999.99') - loan.balance):015.2f}"
        sort_key = "|".join([
            str(group), tiebreak, str(bucket_rank(loan.days_past_due(today))), balance_rank,
            last.strftime("%Y%m%d%H%M") if last else "000000000000", loan.loan_ref,
        ])
        entries.append(WorklistEntry(
            collector=collector, loan=loan, work_date=today, priority=group, sort_key=sort_key,
            contactable=contactable, reason_codes=reason_codes, decisions=rows,
            next_allowed_at=min(next_times) if next_times and len(next_times) == len(rows) else None,
            built_at=now, worked_at=worked.get(loan.pk),
        ))
    WorklistEntry.objects.bulk_create(entries)
    return len(entries)


def worklist_mark_worked(*, collector: Any, loan: Loan, now: datetime | None = None) -> None:
    now = now or timezone.now()
    WorklistEntry.objects.filter(
        collector=collector, loan=loan, work_date=timezone.localdate(now), worked_at__isnull=True
    ).update(worked_at=now)


# --- Callbacks and notes ------------------------------------------------------------------------------------------


@transaction.atomic
def callback_schedule(*, loan: Loan, collector: Any, due_at: datetime, actor: Any,
                      phone: PhoneNumber | None = None) -> Callback:
    """Schedule a callback, only at a time the policy will allow (judged on today's history); otherwise refuse
    and propose the next allowed time."""
    if timezone.is_naive(due_at):
        raise ValidationError({"callback_at": _("A time zone is required.")})
    if due_at <= timezone.now():
        raise ValidationError({"callback_at": _("A callback must be in the future.")})
    # One snapshot load for all the borrower's own numbers (fixed queries), not a check per number.
    entries = contact_snapshots_for_loans([loan], due_at).get(loan.pk, [])
    candidates = [(p, s) for p, s in entries if (p.pk == phone.pk if phone is not None else not p.third_party_id)]
    proposals = []
    for candidate, snapshot in candidates:
        decision = policy.evaluate(snapshot, channel="call", at=due_at)
        if decision.allowed:
            phone = candidate
            break
        if decision.next_allowed_at:
            proposals.append(decision.next_allowed_at)
    else:
        if proposals:
            local = timezone.localtime(min(proposals), timezone=loan.borrower.zoneinfo)
            raise ValidationError({"callback_at": _(
                "The policy does not allow a call then. Next allowed: %(when)s (borrower's time)."
            ) % {"when": local.strftime("%Y-%m-%d %H:%M")}})
        raise ValidationError({"callback_at": _("The policy does not allow calling this borrower.")})
    callback = Callback(loan=loan, phone=phone, collector=collector, due_at=due_at)
    with_change_reason(callback, "scheduled")
    callback.save()
    audit_log(action=AuditAction.CALLBACK_SCHEDULED, subject=callback, actor=actor,
              data={"loan_ref": loan.loan_ref, "due_at": due_at})
    return callback


@transaction.atomic
def hold_until_place(*, loan: Loan, until: date | None, reason: str, actor: Any, whole_borrower: bool = False):
    """A temporary hold until the start of `until` on the borrower's clock (open-ended without a date): the
    borrower's "not before the 20th" during a call, or a supervisor's pause of one loan."""
    now = timezone.now()
    ends_at = loan.borrower.start_of_local_day(until) if until else None
    if ends_at is not None and ends_at <= now:
        raise ValidationError({"hold_until": _("The hold must end in the future.")})
    return restriction_place(borrower=loan.borrower, loan=None if whole_borrower else loan,
                             kind=RestrictionKind.TEMPORARY_HOLD, starts_at=now, ends_at=ends_at, reason=reason,
                             actor=actor)


@transaction.atomic
def note_add(*, loan: Loan, text: str, actor: Any) -> Note:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"note": _("The note is empty.")})
    if len(text) > 4000:
        raise ValidationError({"note": _("A note has at most 4,000 characters.")})
    note = Note(loan=loan, author=actor, text=text)
    with_change_reason(note, "added")
    note.save()
    audit_log(action=AuditAction.NOTE_ADDED, subject=note, actor=actor, data={"loan_ref": loan.loan_ref})
    return note


# --- Outcome with follow-ups --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUps:
    callback_at: datetime | None = None
    promise_amount: Decimal | None = None
    promise_date: date | None = None
    dispute: bool = False
    cease: bool = False
    hold_until: date | None = None
    note: str = ""


@transaction.atomic
def outcome_record(
    *, attempt: ContactAttempt, outcome: str, actor: Any, party: str = "", opt_out: bool = False,
    duration_s: int | None = None, follow_ups: FollowUps = FollowUps(),
) -> ContactAttempt:
    """Record a call's outcome and, in the same transaction, what was agreed: a callback, a promise, a dispute,
    a cease request, a hold, a note. Anything invalid rolls the whole outcome back, so nothing is half-saved."""
    if attempt.collector_id != getattr(actor, "pk", None):
        raise ValidationError(_("Only the collector who started this call can record its outcome."))
    loan = Loan.objects.select_related("borrower").get(pk=attempt.loan_id)
    attempt = attempt_complete(attempt=attempt, outcome=outcome, actor=actor, party=party, opt_out=opt_out,
                               duration_s=duration_s)
    now = timezone.now()
    if follow_ups.cease:
        # Reg F 12 CFR 1006.6(c); the borrower's refusal stops collection contact until lifted.
        restriction_place(borrower=loan.borrower, kind=RestrictionKind.CEASE_COMMUNICATION, starts_at=now,
                          reason=_("Borrower asked that communication stop (during a call)."), actor=actor)
    if follow_ups.dispute:
        restriction_place(borrower=loan.borrower, loan=loan, kind=RestrictionKind.DISPUTE, starts_at=now,
                          reason=_("Borrower disputes the debt (during a call)."), actor=actor)
    if follow_ups.hold_until:
        hold_until_place(loan=loan, until=follow_ups.hold_until, whole_borrower=True, actor=actor,
                         reason=_("Borrower asked not to be called before this date."))
    if follow_ups.promise_amount is not None or follow_ups.promise_date is not None:
        if follow_ups.promise_amount is None or follow_ups.promise_date is None:
            raise ValidationError({"promise_amount": _("A promise needs an amount and a date.")})
        promise_create(loan=loan, amount=follow_ups.promise_amount, promise_date=follow_ups.promise_date,
                       actor=actor, attempt=attempt)
    if follow_ups.callback_at:
        callback_schedule(loan=loan, collector=actor, due_at=follow_ups.callback_at, actor=actor)
    if follow_ups.note:
        note_add(loan=loan, text=follow_ups.note, actor=actor)
    Callback.objects.filter(loan=loan, collector=actor, done_at__isnull=True, cancelled_at__isnull=True,
                            due_at__lte=now + timedelta(minutes=30)).update(done_at=now)
    worklist_mark_worked(collector=actor, loan=loan, now=now)
    return attempt


# --- Abandoned calls ----------------------------------------------------------------------------------------------


def attempts_close_stale(*, now: datetime | None = None) -> int:
    """Close in-progress calls nobody completed within ATTEMPT_STALE_MINUTES. They are closed as `no_answer`:
    an attempt of unknown outcome keeps counting toward the caps (the conservative reading of Reg F
    1006.14(b)(3), which excludes only calls known not to have connected). Idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ATTEMPT_STALE_MINUTES)
    closed = 0
    for attempt_id in ContactAttempt.objects.filter(
        Q(outcome="") & Q(started_at__lt=cutoff)
    ).values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            attempt = ContactAttempt.objects.select_for_update().filter(pk=attempt_id, outcome="").first()
            if attempt is None:
                continue  # completed meanwhile
            attempt.outcome = AttemptOutcome.NO_ANSWER
            attempt.ended_at = now
            with_change_reason(attempt, "closed automatically: no outcome recorded in time")
            attempt.save(update_fields=["outcome", "ended_at"])
            audit_log(action=AuditAction.CONTACT_ATTEMPT_RECORDED, subject=attempt, actor=None,
                      data={"state": "closed_stale", "outcome": attempt.outcome})
            closed += 1
    return closed
