"""The pre-check's reads, for one number or a thousand: (loan reference, number as typed, channel, instant) resolved
and given its snapshot in a number of queries that grows neither with the items nor with the borrowers' histories.

1. `check_targets`: the loans with their borrowers, their numbers and the policy generation, in one query. The
   number asked about is found by its blind index, read with the loan's borrower's region as the hint for a
   national number (parsed once per region at most, whatever the batch).
2. `check_snapshots`: the policy versions and the incident pauses from the process's copies (contact/versions.py,
   contact/pauses.py), then every fact the
   engine reads — the numbers' consents, the borrowers' restrictions and inconvenient times, their attempts in the
   lookback and the third parties' whole history — in one UNION ALL (+1 holidays when a version in force blocks
   holidays). Rows are read with `values_list`: no model instance is built and no free text decrypted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    F,
    Field,
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
from .pauses import pauses_at
from .selectors import (
    LoanRow,
    PolicyMissing,
    _attempt_fact,
    _consent_fact,
    _inconvenient_fact,
    _lookback_days,
    _restriction_fact,
    number_fact,
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

Reading = ParsedNumber | ValidationError


def _read(raw: str, region: str, readings: dict[tuple[str, str], Reading]) -> Reading:
    """The number as typed, read with `region` as the hint for a national number; each (number, region) once."""
    text = raw.strip()
    # An international number (`+...`, `00...`) reads the same whatever the hint.
    key = (text, "" if text.startswith(("+", "00")) else region)
    if key not in readings:
        try:
            readings[key] = parse_number(text, key[1] or None)
        except ValidationError as exc:
            readings[key] = exc
    return readings[key]


@cache
def _loans_with_numbers() -> QuerySet[Loan, tuple[Any, ...]]:
    """Loans as rows with their borrower's zone and jurisdiction, each of the borrower's numbers (a LEFT JOIN: a
    borrower without one still gives its loan) and the policy generation. Built once per process: building a
    queryset (its joins and subqueries) costs more than running it, and each check only adds its filter. No
    number is decrypted: the one asked about is known, it is what the caller sent."""
    # Typed as Any: the type checker's plugin cannot see the annotations that values_list names.
    loans: Any = Loan.objects.annotate(**generation_annotations()).order_by()
    return loans.values_list(
        "loan_ref", "pk", "borrower_id", "status", "due_date", "borrower__jurisdiction", "borrower__timezone",
        "assigned_collector_id", "borrower__phones__id", "borrower__phones__blind_index",
        "borrower__phones__third_party_id", "borrower__phones__status", "borrower__phones__zones",
        "borrower__phones__third_party__authorized",
        "policy_generation", "policy_generation_stamp",
    )


LoanScope = Callable[[QuerySet[Loan, Any]], QuerySet[Loan, Any]]


def check_targets(
    requests: Sequence[CheckRequest], *, scope: LoanScope
) -> tuple[list[CheckTarget | CheckRefusal], Generation]:
    """Each request's loan and number, or why not (`CheckRefusal`: the loan is not found, or the number is not a
    number or not one of the loan's borrower's). `scope` narrows a queryset of loans to the caller's (a
    `permissions` scope bound to the user): a loan outside it is not found. One query for all of them, which also
    reads the policy generation; none when no request names a loan."""
    readings: dict[tuple[str, str], Reading] = {}
    loans_by_ref: dict[str, LoanRow] = {}
    # The borrowers' numbers by (loan, blind index), as (id, third party, status, zones, authorized).
    numbers: dict[tuple[int, str], tuple] = {}
    generation: Generation = None
    refs = {r.loan_ref for r in requests}
    if refs:
        for (ref, pk, borrower_id, status, due_date, jurisdiction, zone, collector_id, number_id, index, *number,
             value, stamp) in scope(_loans_with_numbers()).filter(loan_ref__in=refs):
            generation = generation_of(value, stamp)
            loans_by_ref[ref] = LoanRow(pk, borrower_id, status, due_date, jurisdiction, zone, collector_id)
            if number_id is not None:
                numbers[(pk, index)] = (number_id, *number)
    results: list[CheckTarget | CheckRefusal] = []
    for request in requests:
        loan = loans_by_ref.get(request.loan_ref)
        if loan is None:
            results.append(CheckRefusal(LoanNotFound()))
            continue
        reading = _read(request.phone, JURISDICTION_REGIONS.get(loan.jurisdiction, ""), readings)
        found = numbers.get((loan.pk, blind_index(reading.e164))) if isinstance(reading, ParsedNumber) else None
        if found is not None and isinstance(reading, ParsedNumber):
            number_id, third_party_id, number_status, zones, authorized = found
            # The number sent stands for the stored one: its blind index is this one's.
            number = number_fact(number_id=number_id, e164=reading.e164, status=number_status,
                                 third_party_id=third_party_id, authorized=authorized, zones=zones)
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


@cache
def _fact_parts() -> dict[str, QuerySet[Any]]:
    """The parts of the facts' UNION ALL before their filters, built once per process (as `_loans_with_numbers`)."""
    return {
        "consents": _facts(Consent.objects.all(), "c", _CONSENT),
        "restrictions": _facts(Restriction.objects.all(), "r", _RESTRICTION),
        "inconvenient": _facts(InconvenientTimeRow.objects.all(), "i", _INCONVENIENT),
        "attempts": _facts(ContactAttempt.objects.all(), "a", _ATTEMPT),
    }


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
    # The incident pauses of the same generation: from the process's copy, no query while it is current.
    paused = pauses_at(generation)
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
    base = _fact_parts()
    parts = [
        base["consents"].filter(phone_id__in=number_ids),
        base["restrictions"].filter(borrower_id__in=borrower_ids),
        base["inconvenient"].filter(borrower_id__in=borrower_ids),
        # The borrowers' attempts in the lookback and the third parties' whole history, each half on its own index.
        base["attempts"].filter(borrower_id__in=borrower_ids, started_at__gte=earliest, started_at__lte=latest),
    ]
    if third_party_ids:
        parts.append(base["attempts"].filter(phone__third_party_id__in=third_party_ids, started_at__lte=latest))

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
            pauses=paused.facts_for(target.loan.jurisdiction, target.loan.collector_id),
        )
        results.append((snapshot, version))
    return results


def _missing(target: CheckTarget) -> PolicyMissing:
    return PolicyMissing(
        _("No contact policy is in force for jurisdiction %(j)s.") % {"j": target.loan.jurisdiction}
    )
