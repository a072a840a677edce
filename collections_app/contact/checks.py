"""The pre-check's reads, for one number or a thousand: (loan reference, number as typed, channel, instant) resolved
and given its snapshot in a number of queries that grows neither with the items nor with the borrowers' histories.

1. `check_targets`: the loans with their borrowers, the numbers asked about and the policy generation, in one
   query. A number is found through the blind index of each way it can be read (once if international, once per
   jurisdiction's region if national), then the reading of the loan's borrower's region is the one that counts.
2. `check_snapshots`: the policy versions from the process's copy (contact/versions.py), then every fact the
   engine reads — the numbers' consents, the borrowers' restrictions and inconvenient times, their attempts in the
   lookback and the third parties' whole history — in one UNION ALL (+1 holidays when a version in force blocks
   holidays). Rows are read with `values_list`: no model instance is built and no free text decrypted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    F,
    Field,
    FilteredRelation,
    Q,
    QuerySet,
    TimeField,
    Value,
)
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from consent_app.models import JURISDICTION_REGIONS, Consent, Restriction
from consent_app.models import InconvenientTime as InconvenientTimeRow
from consent_app.phones import ParsedNumber, blind_index, parse_number

from .. import policy
from ..models import ContactAttempt, Loan, PublicHoliday
from .selectors import (
    LoanRow,
    PolicyMissing,
    _attempt_fact,
    _consent_fact,
    _inconvenient_fact,
    _lookback_days,
    _restriction_fact,
)
from .versions import Generation, LoadedVersions, generation_annotations, generation_of, versions_at


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """One question of the dialer: may `phone` (as typed) be contacted about `loan_ref` on `channel` at `at`?
    `item`: its position in a batch, which the batch's audit event names."""

    loan_ref: str
    phone: str
    channel: str
    at: datetime
    item: int = 0


@dataclass(frozen=True, slots=True)
class CheckTarget:
    """What a decision is about: a loan, one of its borrower's numbers and the instant."""

    loan: LoanRow
    number: policy.NumberFact
    at: datetime


# The most checks one batch may ask (POST /api/v1/contact-checks/batch).
BATCH_CHECK_LIMIT = 1_000


class LoanNotFound(Exception):
    """No loan with this reference in the caller's scope."""


@dataclass(frozen=True, slots=True)
class CheckRefusal:
    """A request that cannot be judged: `LoanNotFound`, or a `ValidationError` on `phone` (then `loan_id` is the
    loan's, which was found)."""

    error: Exception
    loan_id: int | None = None


# --- 1. Loans and numbers ----------------------------------------------------------------------------------------

_REGIONS = tuple(sorted(set(JURISDICTION_REGIONS.values())))
Reading = ParsedNumber | ValidationError


def _readings(raw: str) -> dict[str, Reading]:
    """The number read with each jurisdiction's region as the hint for a national number; an international one
    (`+...`, `00...`) reads the same whatever the hint, so it is parsed once."""
    text = raw.strip()
    hints = (None,) if text.startswith(("+", "00")) else _REGIONS
    readings: dict[str, Reading] = {}
    for hint in hints:
        try:
            reading: Reading = parse_number(text, hint)
        except ValidationError as exc:
            reading = exc
        if hint is None:
            return dict.fromkeys(_REGIONS, reading)
        readings[hint] = reading
    return readings


_LOAN_COLUMNS = ("loan_ref", "pk", "borrower_id", "status", "due_date", "borrower__jurisdiction", "borrower__timezone")
_NUMBER_COLUMNS = (
    "asked__id", "asked__blind_index", "asked__third_party_id", "asked__e164", "asked__status", "asked__zones",
    "asked__third_party__authorized",
)


def check_targets(
    requests: Sequence[CheckRequest], *, loans: QuerySet[Loan]
) -> tuple[list[CheckTarget | CheckRefusal], Generation]:
    """Each request's loan (looked up in `loans`, the caller's scope) and number, or why not (`CheckRefusal`: the
    loan is not found, or the number is not a number or not one of the loan's borrower's). One query for all of
    them, which also reads the policy generation; none when no request names a loan."""
    readings = {raw: _readings(raw) for raw in {r.phone for r in requests}}
    indexes = {
        blind_index(reading.e164)
        for by_region in readings.values() for reading in by_region.values() if isinstance(reading, ParsedNumber)
    }
    loans_by_ref: dict[str, LoanRow] = {}
    numbers: dict[tuple[int, str], policy.NumberFact] = {}
    generation: Generation = None
    refs = {r.loan_ref for r in requests}
    if refs:
        rows = (
            loans.filter(loan_ref__in=refs)
            .annotate(
                # LEFT JOIN of the borrower's numbers asked about: a loan comes back even when none matches.
                asked=FilteredRelation(
                    "borrower__phones", condition=Q(borrower__phones__blind_index__in=indexes or {""})
                ),
                **generation_annotations(),
            )
            .order_by()
            .values_list(*_LOAN_COLUMNS, *_NUMBER_COLUMNS, "policy_generation", "policy_generation_stamp")
        )
        for (ref, pk, borrower_id, status, due_date, jurisdiction, zone,
             number_id, index, third_party_id, e164, number_status, zones, authorized, value, stamp) in rows:
            generation = generation_of(value, stamp)
            loans_by_ref[ref] = LoanRow(pk, borrower_id, status, due_date, jurisdiction, zone)
            if number_id is not None:
                numbers[(pk, index)] = policy.NumberFact(
                    number_id=number_id,
                    e164=e164 or None,
                    status=number_status,
                    owner=policy.Party.THIRD_PARTY if third_party_id else policy.Party.DEBTOR,
                    third_party_id=third_party_id,
                    third_party_authorized=bool(third_party_id and authorized),
                    zones=tuple(zones or ()),
                )
    results: list[CheckTarget | CheckRefusal] = []
    for request in requests:
        loan = loans_by_ref.get(request.loan_ref)
        if loan is None:
            results.append(CheckRefusal(LoanNotFound()))
            continue
        reading = readings[request.phone].get(JURISDICTION_REGIONS.get(loan.jurisdiction, ""))
        number = None
        if isinstance(reading, ParsedNumber):
            number = numbers.get((loan.pk, blind_index(reading.e164)))
        if number is not None:
            results.append(CheckTarget(loan, number, request.at))
        elif isinstance(reading, ValidationError):
            results.append(CheckRefusal(ValidationError({"phone": reading.messages}), loan.pk))
        else:
            results.append(CheckRefusal(ValidationError({"phone": _("Not a number of this borrower.")}), loan.pk))
    return results, generation


# --- 2. Snapshots ------------------------------------------------------------------------------------------------

# The columns every part of the facts' UNION ALL gives, with their types. A part fills the ones it has from its own
# fields; the others are NULLs cast to the column's type: PostgreSQL resolves a UNION's column types pair by pair,
# left to right, and two untyped NULLs make a text column that the next part's integers or timestamps cannot join.
_FACT_COLUMNS: dict[str, Field] = {
    "f_id": BigIntegerField(),  # the attempt's id (an attempt found by both halves is read once)
    "f_borrower": BigIntegerField(),
    "f_loan": BigIntegerField(),
    "f_phone": BigIntegerField(),
    "f_third_party": BigIntegerField(),
    "f_t1": DateTimeField(),
    "f_t2": DateTimeField(),
    "f_t3": DateTimeField(),
    "f_s1": CharField(),
    "f_s2": CharField(),
    "f_s3": CharField(),
    "f_s4": CharField(),
    "f_b1": BooleanField(),
    "f_b2": BooleanField(),
    "f_time1": TimeField(),
    "f_time2": TimeField(),
}
_CONSENT = {"f_phone": "phone_id", "f_b1": "allows_call", "f_b2": "allows_sms", "f_s1": "purpose",
            "f_t1": "granted_at", "f_t2": "expires_at", "f_t3": "withdrawn_at"}
_RESTRICTION = {"f_borrower": "borrower_id", "f_s1": "kind", "f_loan": "loan_id", "f_t1": "starts_at",
                "f_t2": "ends_at", "f_t3": "lifted_at"}
_INCONVENIENT = {"f_borrower": "borrower_id", "f_s1": "weekdays", "f_time1": "start", "f_time2": "end"}
_ATTEMPT = {"f_id": "pk", "f_borrower": "borrower_id", "f_loan": "loan_id", "f_phone": "phone_id",
            "f_third_party": "phone__third_party_id", "f_s1": "channel", "f_s2": "direction", "f_t1": "started_at",
            "f_s3": "outcome", "f_s4": "party"}


def _facts(queryset: QuerySet[Any], kind: str, columns: dict[str, str]) -> QuerySet[Any]:
    values: dict[str, Any] = {
        name: F(columns[name]) if name in columns else Cast(Value(None), field)
        for name, field in _FACT_COLUMNS.items()
    }
    return queryset.order_by().annotate(f_kind=Value(kind), **values).values_list("f_kind", *_FACT_COLUMNS)


def _holidays_between(jurisdictions: Iterable[str], start: datetime, end: datetime) -> dict[str, frozenset]:
    found: dict[str, set] = {}
    for jurisdiction, day in PublicHoliday.objects.filter(
        jurisdiction__in=list(jurisdictions),
        date__gte=(start - timedelta(days=2)).date(),
        date__lte=(end + timedelta(days=400)).date(),
    ).values_list("jurisdiction", "date"):
        found.setdefault(jurisdiction, set()).add(day)
    return {j: frozenset(days) for j, days in found.items()}


def check_snapshots(
    targets: Sequence[CheckTarget], generation: Generation
) -> list[tuple[policy.Snapshot, Any] | PolicyMissing]:
    """Each target's (snapshot, policy version), or `PolicyMissing` when no version is in force in its borrower's
    jurisdiction at its instant. `generation` is the one the caller read (with the targets, or on its own)."""
    if not targets:
        return []
    loaded: LoadedVersions = versions_at(generation)
    versions = [loaded.in_force(t.loan.jurisdiction, t.at) for t in targets]
    judged = [(i, t, v) for i, (t, v) in enumerate(zip(targets, versions, strict=True)) if v is not None]
    if not judged:
        return [_missing(t) for t in targets]

    ats = [t.at for _i, t, _v in judged]
    blocked = {t.loan.jurisdiction for _i, t, v in judged if v.holidays_blocked}
    holidays = _holidays_between(blocked, min(ats), max(ats)) if blocked else {}
    params = {
        i: loaded.params(v, holidays.get(t.loan.jurisdiction, frozenset()) if v.holidays_blocked else frozenset())
        for i, t, v in judged
    }
    earliest = min(t.at - timedelta(days=_lookback_days(params[i])) for i, t, _v in judged)
    latest = max(ats)

    borrower_ids = {t.loan.borrower_id for _i, t, _v in judged}
    number_ids = {t.number.number_id for _i, t, _v in judged}
    third_party_ids = {t.number.third_party_id for _i, t, _v in judged if t.number.third_party_id}
    parts = [
        _facts(Consent.objects.filter(phone_id__in=number_ids), "c", _CONSENT),
        _facts(Restriction.objects.filter(borrower_id__in=borrower_ids), "r", _RESTRICTION),
        _facts(InconvenientTimeRow.objects.filter(borrower_id__in=borrower_ids), "i", _INCONVENIENT),
        # The borrowers' attempts in the lookback and the third parties' whole history, each half on its own index.
        _facts(ContactAttempt.objects.filter(
            borrower_id__in=borrower_ids, started_at__gte=earliest, started_at__lte=latest), "a", _ATTEMPT),
    ]
    if third_party_ids:
        parts.append(_facts(ContactAttempt.objects.filter(
            phone__third_party_id__in=third_party_ids, started_at__lte=latest), "a", _ATTEMPT))

    consents: dict[int, list[policy.ConsentFact]] = {}
    restrictions: dict[int, list[policy.RestrictionFact]] = {}
    inconvenient: dict[int, list[policy.InconvenientTime]] = {}
    attempts: dict[int, policy.AttemptFact] = {}
    attempt_borrower: dict[int, int] = {}
    for (kind, pk, borrower_id, loan_id, phone_id, third_party_id, t1, t2, t3, s1, s2, s3, s4, b1, b2,
         time1, time2) in parts[0].union(*parts[1:], all=True):
        if kind == "c":
            consents.setdefault(phone_id, []).append(_consent_fact((phone_id, b1, b2, s1, t1, t2, t3)))
        elif kind == "r":
            restrictions.setdefault(borrower_id, []).append(
                _restriction_fact((borrower_id, s1, loan_id, t1, t2, t3)))
        elif kind == "i":
            inconvenient.setdefault(borrower_id, []).append(_inconvenient_fact((borrower_id, s1, time1, time2)))
        elif pk not in attempts:
            attempts[pk] = _attempt_fact((loan_id, phone_id, third_party_id, s1, s2, t1, s3, s4 or ""))
            attempt_borrower[pk] = borrower_id

    # Newest first, as the engine reads a history.
    by_borrower: dict[int, list[policy.AttemptFact]] = {}
    by_third_party: dict[int, list[policy.AttemptFact]] = {}
    for pk, fact in sorted(attempts.items(), key=lambda item: item[1].started_at, reverse=True):
        by_borrower.setdefault(attempt_borrower[pk], []).append(fact)
        if fact.third_party_id:
            by_third_party.setdefault(fact.third_party_id, []).append(fact)

    results: list[tuple[policy.Snapshot, Any] | PolicyMissing] = []
    for i, (target, version) in enumerate(zip(targets, versions, strict=True)):
        if version is None:
            results.append(_missing(target))
            continue
        at = target.at
        target_params = params[i]
        since = at - timedelta(days=_lookback_days(target_params))
        history = tuple(a for a in by_borrower.get(target.loan.borrower_id, ()) if since <= a.started_at <= at)
        if target.number.third_party_id:
            seen = set(map(id, history))
            history += tuple(
                a for a in by_third_party.get(target.number.third_party_id, ())
                if a.started_at <= at and id(a) not in seen
            )
        snapshot = policy.Snapshot(
            policy=target_params,
            loan=policy.LoanFact(loan_id=target.loan.pk, status=target.loan.status, due_date=target.loan.due_date),
            number=target.number,
            borrower_timezone=target.loan.timezone or None,
            consents=tuple(consents.get(target.number.number_id, ())),
            restrictions=tuple(restrictions.get(target.loan.borrower_id, ())),
            inconvenient_times=tuple(inconvenient.get(target.loan.borrower_id, ())),
            attempts=history,
        )
        results.append((snapshot, version))
    return results


def _missing(target: CheckTarget) -> PolicyMissing:
    return PolicyMissing(
        _("No contact policy is in force for jurisdiction %(j)s.") % {"j": target.loan.jurisdiction}
    )
