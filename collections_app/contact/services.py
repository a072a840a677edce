"""Contact writes (STYLE.md §1): check, start (under the borrower lock), complete and record attempts; contact
policy versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.history import with_change_reason
from consent_app.models import Borrower, Consent, PhoneNumber, PhoneStatus
from consent_app.services import consent_withdraw, phone_set_status
from consent_app.validators import validate_timezone

from .. import policy
from ..models import (
    AttemptOutcome,
    AttemptParty,
    ContactAttempt,
    ContactPolicy,
    ContactPolicyVersion,
    Loan,
)
from ..permissions import api_loans_visible_to
from .checks import BATCH_CHECK_LIMIT, CheckRequest, CheckTarget, LoanNotFound, check_snapshots, check_targets
from .selectors import LoanRow, PolicyMissing, _number_fact, contact_snapshot, open_desk_calls
from .versions import current_generation


def _lock_borrower(borrower_id: int) -> None:
    """Serialise every contact decision about one borrower. Two collectors, or a collector and the dialer,
    must not both pass the check for the last allowed attempt: the check and the reservation happen while this
    row lock is held (SELECT ... FOR UPDATE; a no-op on SQLite, whose writers are serialised anyway)."""
    Borrower.objects.select_for_update().filter(pk=borrower_id).values_list("pk", flat=True).first()


_CHANNELS = frozenset(c.value for c in policy.Channel)


def _check_channel(channel: str) -> None:
    if channel not in _CHANNELS:
        raise ValidationError({"channel": _("Unknown channel.")})


def _check_target(loan: Loan, phone: PhoneNumber) -> None:
    if phone.borrower_id != loan.borrower_id:
        raise ValidationError({"phone": _("This number is not one of the loan's borrower's numbers.")})


def _stored_reasons(decision: policy.Decision) -> list[dict[str, Any]]:
    # Codes and sources are stored; messages are rendered in the reader's language when shown.
    return [
        {"code": str(r.code), "rule": r.rule, "until": r.until.isoformat() if r.until else None}
        for r in decision.reasons
    ]


def contact_check(*, loan: Loan, phone: PhoneNumber, channel: str, at: datetime | None = None) -> policy.Decision:
    """May this number be contacted about this loan on this channel at `at` (default now)? Read-only: two
    queries, the policy generation and the facts (the versions come from the process's copy, contact/versions.py).
    `loan` comes with its borrower, `phone` with its third party."""
    _check_channel(channel)
    _check_target(loan, phone)
    at = at or timezone.now()
    [found] = check_snapshots([CheckTarget(LoanRow.of(loan), _number_fact(phone), at)], current_generation())
    if isinstance(found, PolicyMissing):
        raise found
    snapshot, _version = found
    return policy.evaluate(snapshot, channel=channel, at=at)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One pre-check's answer: the decision, or why there is none (`LoanNotFound`, a `ValidationError` naming the
    field, `PolicyMissing`)."""

    check: CheckRequest
    decision: policy.Decision | None = None
    error: Exception | None = None
    loan_id: int | None = None
    phone_id: int | None = None


def _judge(checks: Sequence[CheckRequest], actor: Any) -> list[CheckResult]:
    """Every check in the same queries (contact/checks.py): loans and numbers, then the facts. The loans are the
    ones the actor may name through the integration API (`permissions.api_loans_visible_to`)."""
    found, generation = check_targets(checks, scope=partial(api_loans_visible_to, actor))
    targets = [item for item in found if isinstance(item, CheckTarget)]
    snapshots = iter(check_snapshots(targets, generation))
    results = []
    for check, item in zip(checks, found, strict=True):
        if not isinstance(item, CheckTarget):
            results.append(CheckResult(check, error=item.error, loan_id=item.loan_id))
            continue
        loan_id, phone_id = item.loan.pk, item.number.number_id
        judged = next(snapshots)
        if check.channel not in _CHANNELS:
            error = ValidationError({"channel": _("Unknown channel.")})
            results.append(CheckResult(check, error=error, loan_id=loan_id, phone_id=phone_id))
        elif isinstance(judged, PolicyMissing):
            results.append(CheckResult(check, error=judged, loan_id=loan_id, phone_id=phone_id))
        else:
            decision = policy.evaluate(judged[0], channel=check.channel, at=check.at)
            results.append(CheckResult(check, decision=decision, loan_id=loan_id, phone_id=phone_id))
    return results


def _codes(decision: policy.Decision) -> list[str]:
    return [str(r.code) for r in decision.reasons]


def contact_check_by_ref(*, check: CheckRequest, actor: Any) -> policy.Decision:
    """The dialer's pre-check: the loan by reference among those the actor may name through the integration API
    (`permissions.api_loans_visible_to`; any other is not found), the number as typed, found through the blind
    index. Raises `LoanNotFound`, a `ValidationError` on `phone` or `PolicyMissing`. The check is part of the
    compliance record: who asked, about what, and the verdict.

    Four queries: the loan with its borrower, the number and the policy generation; the facts; the audit event
    (the only write, one INSERT: no transaction is opened for reads that PostgreSQL's READ COMMITTED would not
    make consistent anyway)."""
    [result] = _judge([check], actor)
    if result.error is not None or result.decision is None:
        raise result.error or LoanNotFound()
    audit_log(
        action=AuditAction.CONTACT_CHECKED, subject_type=Loan._meta.label_lower, subject_id=result.loan_id or "",
        actor=actor,
        data={"loan_ref": check.loan_ref, "phone_id": result.phone_id, "channel": check.channel, "at": check.at,
              "allowed": result.decision.allowed, "reasons": _codes(result.decision), "source": "api"},
    )
    return result.decision


def _refusal(error: Exception | None) -> str:
    if isinstance(error, LoanNotFound):
        return "loan_ref"
    if isinstance(error, PolicyMissing):
        return "policy"
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return ",".join(sorted(error.error_dict))
    return "invalid"


def contact_check_batch(*, checks: Sequence[CheckRequest], actor: Any) -> list[CheckResult]:
    """Up to BATCH_CHECK_LIMIT pre-checks at once, one result per check in the same order (a check whose loan or
    number is not found, or whose jurisdiction has no policy in force, gets its error, the others their
    decision), in the same four queries as one check whatever their number. Checks are judged independently on
    the same history: a pre-check reserves nothing. One audit event lists every check by ids (loan, number),
    its position in the batch and its verdict or the field it was refused on; never a number."""
    if len(checks) > BATCH_CHECK_LIMIT:
        raise ValidationError({"items": _("At most %(n)d items.") % {"n": BATCH_CHECK_LIMIT}})
    results = _judge(checks, actor)
    audit_log(
        action=AuditAction.CONTACT_BATCH_CHECKED, actor=actor,
        data={"source": "api", "checks": [
            {"item": r.check.item, "loan_id": r.loan_id, "phone_id": r.phone_id, "channel": r.check.channel,
             "at": r.check.at, "allowed": r.decision.allowed, "reasons": _codes(r.decision)}
            if r.decision is not None else
            {"item": r.check.item, "loan_id": r.loan_id, "phone_id": r.phone_id, "refused": _refusal(r.error)}
            for r in results
        ]},
    )
    return results


class CallAlreadyOpen(ValidationError):
    """A desk call is already open for this collector or with this borrower: `attempt` is that call."""

    def __init__(self, message: str, attempt: ContactAttempt) -> None:
        super().__init__(message, code="call_open")
        self.attempt = attempt


def _check_no_open_call(*, collector: Any, borrower_id: int, at: datetime) -> None:
    """One open desk call per collector and per borrower: a second Call would spend another of the day's
    attempts on a call nobody makes. Checked under the borrower lock, so two clicks cannot both pass; the
    collector's own open call on another borrower is read without that borrower's lock (a collector starts one
    call at a time from one desk)."""
    open_call = open_desk_calls(at).filter(Q(collector=collector) | Q(borrower_id=borrower_id)).first()
    if open_call is None:
        return
    if open_call.collector_id == getattr(collector, "pk", None):
        raise CallAlreadyOpen(_("You already have a call open: record its outcome first."), open_call)
    raise CallAlreadyOpen(_("Another collector is on a call with this borrower right now."), open_call)


@transaction.atomic
def contact_start(
    *, loan: Loan, phone: PhoneNumber, channel: str, collector: Any, at: datetime | None = None
) -> tuple[ContactAttempt | None, policy.Decision]:
    """A collector starts a call or SMS: re-check the policy under the borrower lock and, if allowed, record an
    in-progress attempt (it counts toward the caps at once). Returns (attempt or None, decision). A call while
    the collector, or anyone, has a desk call open with this borrower raises CallAlreadyOpen."""
    _check_channel(channel)
    _check_target(loan, phone)
    _lock_borrower(loan.borrower_id)
    at = at or timezone.now()
    if channel == "call":
        _check_no_open_call(collector=collector, borrower_id=loan.borrower_id, at=at)
    snapshot, version = contact_snapshot(loan=loan, phone=phone, at=at)
    decision = policy.evaluate(snapshot, channel=channel, at=at)
    if not decision.allowed:
        return None, decision
    attempt = ContactAttempt(
        loan=loan, phone=phone, borrower_id=loan.borrower_id, channel=channel, direction="outbound",
        started_at=at, collector=collector, compliant=True, reasons=[], policy_version=version, source="desk",
    )
    with_change_reason(attempt, "started")
    attempt.save()
    audit_log(
        action=AuditAction.CONTACT_ATTEMPT_RECORDED, subject=attempt, actor=collector,
        data={"loan_ref": loan.loan_ref, "phone_id": phone.pk, "channel": channel, "state": "started",
              "policy": f"{version.policy.code} v{version.version}"},
    )
    return attempt, decision


@transaction.atomic
def inbound_call_start(
    *, loan: Loan, phone: PhoneNumber, collector: Any, at: datetime | None = None
) -> ContactAttempt:
    """The borrower (or a contact of theirs) called in and a collector took the call on the desk: record an
    in-progress inbound attempt, whose outcome the collector records as for any call. Nothing to judge: an inbound
    call is never an attempt (the consumer placed it), though a conversation in it starts the cooldown as the
    policy says. A collector who already has a call open raises CallAlreadyOpen (one call at a time)."""
    _check_target(loan, phone)
    _lock_borrower(loan.borrower_id)
    at = at or timezone.now()
    open_call = open_desk_calls(at).filter(collector=collector).first()
    if open_call is not None:
        raise CallAlreadyOpen(_("You already have a call open: record its outcome first."), open_call)
    _snapshot, version = contact_snapshot(loan=loan, phone=phone, at=at)
    attempt = ContactAttempt(
        loan=loan, phone=phone, borrower_id=loan.borrower_id, channel="call", direction="inbound",
        started_at=at, collector=collector, compliant=True, reasons=[], policy_version=version, source="desk",
    )
    with_change_reason(attempt, "inbound call taken")
    attempt.save()
    audit_log(
        action=AuditAction.CONTACT_ATTEMPT_RECORDED, subject=attempt, actor=collector,
        data={"loan_ref": loan.loan_ref, "phone_id": phone.pk, "channel": "call", "direction": "inbound",
              "state": "started", "policy": f"{version.policy.code} v{version.version}"},
    )
    return attempt


def _apply_consequences(*, attempt: ContactAttempt, actor: Any) -> None:
    """What an outcome changes: a wrong number is marked; an opt-out stops contact of that number (a third
    party's number is marked opted out; the borrower's call consents on that number are withdrawn, PIPL art. 15)."""
    phone = attempt.phone
    if attempt.outcome == AttemptOutcome.WRONG_NUMBER:
        phone_set_status(phone=phone, status=PhoneStatus.WRONG_NUMBER, actor=actor, reason="reported wrong number")
    if attempt.opt_out:
        if phone.third_party_id or attempt.party == AttemptParty.THIRD_PARTY:
            phone_set_status(phone=phone, status=PhoneStatus.OPTED_OUT, actor=actor, reason="asked not to be called")
        else:
            for consent in Consent.objects.filter(phone=phone, withdrawn_at__isnull=True, allows_call=True):
                consent_withdraw(consent=consent, via="opt_out", actor=actor, channels=("call",),
                                 withdrawn_at=attempt.started_at if attempt.started_at < timezone.now() else None)


def _validate_outcome(outcome: str, party: str, phone: PhoneNumber) -> str:
    if outcome not in AttemptOutcome.values:
        raise ValidationError({"outcome": _("Unknown outcome.")})
    if party and party not in AttemptParty.values:
        raise ValidationError({"party": _("Unknown party.")})
    if outcome == AttemptOutcome.CONVERSATION and not party:
        party = AttemptParty.THIRD_PARTY if phone.third_party_id else AttemptParty.DEBTOR
    if outcome != AttemptOutcome.CONVERSATION:
        party = ""
    return party


@transaction.atomic
def attempt_complete(
    *, attempt: ContactAttempt, outcome: str, actor: Any, party: str = "", opt_out: bool = False,
    duration_s: int | None = None, ended_at: datetime | None = None,
) -> ContactAttempt:
    """Record the outcome of an attempt started on the desk. Completing twice is refused."""
    attempt = ContactAttempt.objects.select_for_update().select_related("phone", "loan").get(pk=attempt.pk)
    if attempt.outcome:
        raise ValidationError({"outcome": _("This attempt already has an outcome.")})
    attempt.party = _validate_outcome(outcome, party, attempt.phone)
    attempt.outcome = outcome
    attempt.opt_out = opt_out
    attempt.duration_s = duration_s
    attempt.ended_at = ended_at or timezone.now()
    with_change_reason(attempt, f"outcome {outcome}")
    attempt.save()
    _apply_consequences(attempt=attempt, actor=actor)
    audit_log(
        action=AuditAction.CONTACT_ATTEMPT_RECORDED, subject=attempt, actor=actor,
        data={"loan_ref": attempt.loan.loan_ref, "outcome": outcome, "party": attempt.party, "opt_out": opt_out,
              "state": "completed"},
    )
    return attempt


@transaction.atomic
def attempt_record(
    *,
    external_id: str,
    loan: Loan,
    phone: PhoneNumber,
    channel: str,
    direction: str,
    started_at: datetime,
    outcome: str,
    actor: Any,
    party: str = "",
    opt_out: bool = False,
    collector: Any = None,
    duration_s: int | None = None,
    recording_ref: str = "",
) -> tuple[ContactAttempt, bool]:
    """The dialer reports a contact it made. Idempotent by `external_id`. The verdict is the policy evaluated at
    `started_at` against the history before it; a non-compliant attempt is still recorded, flagged, with its
    reasons. Returns (attempt, created)."""
    if timezone.is_naive(started_at):
        raise ValidationError({"started_at": _("A time zone offset is required.")})
    if started_at > timezone.now() + timedelta(minutes=1):
        raise ValidationError({"started_at": _("An attempt cannot start in the future.")})
    _check_channel(channel)
    if direction not in ("outbound", "inbound"):
        raise ValidationError({"direction": _("Unknown direction.")})
    if duration_s is not None and duration_s < 0:
        raise ValidationError({"duration_s": _("The duration cannot be negative.")})
    _check_target(loan, phone)
    party = _validate_outcome(outcome, party, phone)
    _lock_borrower(loan.borrower_id)
    existing = ContactAttempt.objects.filter(external_id=external_id).first()
    if existing is not None:
        if existing.loan_id != loan.pk or existing.phone_id != phone.pk:
            raise ValidationError({"external_id": _("This attempt id was already used for another contact.")})
        return existing, False
    snapshot, version = contact_snapshot(loan=loan, phone=phone, at=started_at, before=True)
    if direction == "inbound":
        # Inbound calls are never attempts (DESIGN.md): the borrower called us, so there is nothing to judge.
        decision_reasons: list[dict[str, Any]] = []
        compliant = True
    else:
        decision = policy.evaluate(snapshot, channel=channel, at=started_at)
        decision_reasons = _stored_reasons(decision)
        compliant = decision.allowed
    attempt = ContactAttempt(
        loan=loan, phone=phone, borrower_id=loan.borrower_id, channel=channel, direction=direction,
        started_at=started_at, ended_at=started_at + timedelta(seconds=duration_s or 0), outcome=outcome,
        party=party, opt_out=opt_out, collector=collector, duration_s=duration_s, recording_ref=recording_ref,
        external_id=external_id, compliant=compliant, reasons=decision_reasons, policy_version=version,
        source="dialer",
    )
    attempt.full_clean(exclude=["loan", "phone", "borrower", "collector", "policy_version"], validate_unique=False)
    with_change_reason(attempt, "reported by the dialer")
    attempt.save()
    _apply_consequences(attempt=attempt, actor=actor)
    audit_log(
        action=AuditAction.CONTACT_ATTEMPT_RECORDED, subject=attempt, actor=actor,
        data={"loan_ref": loan.loan_ref, "external_id": external_id, "outcome": outcome, "compliant": compliant,
              "reasons": [r["code"] for r in decision_reasons], "state": "reported"},
    )
    return attempt, True


# --- Contact policy versions ------------------------------------------------------------------------------------

EDITABLE_KEYS = sorted(policy.PRESET_KEYS - {"code"})


def policy_version_data(version: ContactPolicyVersion) -> dict[str, Any]:
    """A version's rules as preset-shaped data: the starting point of the next version."""
    return {key: getattr(version, key) for key in EDITABLE_KEYS}


def validate_policy_data(data: dict[str, Any], *, code: str) -> policy.PolicyParams:
    """Check rules the way the engine will read them; a malformed policy must never reach a decision."""
    try:
        validate_timezone(data.get("default_timezone") or "")
    except ValidationError as exc:
        raise ValidationError({"default_timezone": exc.messages}) from exc
    if not data.get("default_timezone"):
        raise ValidationError({"default_timezone": _("A default time zone is required.")})
    windows = data.get("windows")
    if not isinstance(windows, list) or len(windows) != 7:
        raise ValidationError({"windows": _("Seven entries are required, Monday to Sunday.")})
    for i, window in enumerate(windows):
        if window is None:
            continue
        if not (isinstance(window, list | tuple) and len(window) == 2):
            raise ValidationError({"windows": _("Entry %(n)d must be [start, end] or null.") % {"n": i + 1}})
        for value in window:
            try:
                policy.parse_hhmm(value)
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    {"windows": _("Entry %(n)d: times are HH:MM.") % {"n": i + 1}}
                ) from exc
    channels = data.get("channels_allowed")
    if not isinstance(channels, list) or set(channels) - {"call", "sms"}:
        raise ValidationError({"channels_allowed": _("Channels are a list of: call, sms.")})
    sources = data.get("sources")
    if not isinstance(sources, dict) or set(sources) - set(policy.SOURCE_KEYS):
        raise ValidationError(
            {"sources": _("Sources map rule keys (%(keys)s) to their legal source.") %
             {"keys": ", ".join(policy.SOURCE_KEYS)}}
        )
    try:
        return policy.params_from_preset({**data, "code": code})
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("These rules cannot be used: %(error)s") % {"error": exc}) from exc


@transaction.atomic
def policy_version_create(
    *, policy_obj: ContactPolicy, data: dict[str, Any], actor: Any, change_note: str,
    effective_from: datetime | None = None,
) -> ContactPolicyVersion:
    """Publish a new version of a policy. It applies to decisions from `effective_from` (default now)."""
    if not change_note.strip():
        raise ValidationError({"change_note": _("Say what changed and why.")})
    unknown = set(data) - set(EDITABLE_KEYS)
    if unknown:
        raise ValidationError(_("Unknown rule keys: %(keys)s") % {"keys": ", ".join(sorted(unknown))})
    validate_policy_data(data, code=policy_obj.code)
    effective_from = effective_from or timezone.now()
    if timezone.is_naive(effective_from):
        raise ValidationError({"effective_from": _("A time zone offset is required.")})
    # Lock the policy row so two officers publishing at once get consecutive version numbers.
    ContactPolicy.objects.select_for_update().filter(pk=policy_obj.pk).first()
    latest = ContactPolicyVersion.objects.filter(policy=policy_obj).aggregate(m=Max("version"))["m"] or 0
    version = ContactPolicyVersion(
        policy=policy_obj, version=latest + 1, effective_from=effective_from, change_note=change_note,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        **{key: data[key] for key in EDITABLE_KEYS},
    )
    with_change_reason(version, change_note[:100])
    version.save()
    audit_log(
        action=AuditAction.POLICY_VERSION_CREATED, subject=version, actor=actor,
        # The change note is on the version row; the audit log holds no free text.
        data={"policy": policy_obj.code, "version": version.version, "effective_from": effective_from},
    )
    return version
