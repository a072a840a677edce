"""Contact reads: policy versions in force and the snapshots the engine decides on, each in a bounded number of
queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from consent_app.models import Borrower, Consent, PhoneNumber, Restriction
from consent_app.models import InconvenientTime as InconvenientTimeRow
from consent_app.phones import mask

from .. import policy
from ..models import ContactAttempt, ContactPolicyVersion, PublicHoliday
from .generation import generation_annotations, generation_of
from .pauses import LoadedPauses, pauses_at


class PolicyMissing(Exception):
    """No contact policy version is in force for the borrower's jurisdiction at that instant."""


def _versions_in_force(jurisdictions: Iterable[str], at: datetime) -> QuerySet[ContactPolicyVersion]:
    """The policy versions in effect at `at` in these jurisdictions, the one in force first for each (the latest
    `effective_from`, then the highest version)."""
    # The policy generation comes with each version (two scalar subqueries): the incident pauses in force are
    # then taken from the process's copy (contact/pauses.py) without a query of their own.
    return (
        ContactPolicyVersion.objects.select_related("policy")
        .filter(policy__jurisdiction__in=list(jurisdictions), effective_from__lte=at)
        .annotate(**generation_annotations())
        .order_by("-effective_from", "-version")
    )


def policy_version_in_force(jurisdiction: str, at: datetime) -> ContactPolicyVersion:
    version = _versions_in_force([jurisdiction], at).first()
    if version is None:
        raise PolicyMissing(_("No contact policy is in force for jurisdiction %(j)s.") % {"j": jurisdiction})
    return version


def policy_params(version: ContactPolicyVersion, holidays: Iterable = ()) -> policy.PolicyParams:
    data = {key: getattr(version, key) for key in policy.PRESET_KEYS if key != "code"}
    data["code"] = version.policy.code
    return policy.params_from_preset(data, version=version.version, holidays=frozenset(holidays))


def _lookback_days(params: policy.PolicyParams) -> int:
    return max(params.rolling_window_days, params.conversation_cooldown_days or 0, params.unreachable_after_days) + 1


ATTEMPT_FIELDS = (
    "loan_id", "phone_id", "phone__third_party_id", "channel", "direction", "started_at", "outcome", "party",
)
CONSENT_FIELDS = ("phone_id", "allows_call", "allows_sms", "purpose", "granted_at", "expires_at", "withdrawn_at")
RESTRICTION_FIELDS = ("borrower_id", "kind", "loan_id", "starts_at", "ends_at", "lifted_at")
INCONVENIENT_FIELDS = ("borrower_id", "weekdays", "start", "end")
NUMBER_FIELDS = (
    "id", "borrower_id", "third_party_id", "e164", "status", "zones", "third_party__authorized",
    "third_party__relation",
)

# The engine's enums by stored value: one dict lookup per attempt instead of an enum call (thousands per batch).
_CHANNELS = {c.value: c for c in policy.Channel}
_DIRECTIONS = {d.value: d for d in policy.Direction}
_OUTCOMES = {o.value: o for o in policy.Outcome}
_PARTIES = {p.value: p for p in policy.Party}


@dataclass(frozen=True, slots=True)
class LoanRow:
    """What a snapshot reads of a loan and its borrower. Batches build it from `values()` rows (the nightly
    worklist), single decisions from the model (`LoanRow.of`); no personal data is decrypted for it."""

    pk: int
    borrower_id: int
    status: str
    due_date: date
    jurisdiction: str
    timezone: str
    collector_id: int | None = None  # the assigned collector: a team's incident pause covers their loans

    @classmethod
    def of(cls, loan: Any) -> LoanRow:
        """From a Loan that comes with its borrower (select_related)."""
        borrower = loan.borrower
        return cls(loan.pk, loan.borrower_id, loan.status, loan.due_date, borrower.jurisdiction, borrower.timezone,
                   loan.assigned_collector_id)


@dataclass(frozen=True, slots=True)
class NumberRow:
    """A phone number as the worklist stores it with its decision: the columns the engine and the list read (one
    `values()` row with its third party's flags), in place of a PhoneNumber and a ThirdPartyContact instance
    whose other encrypted fields would be decrypted for nothing."""

    pk: int
    borrower_id: int
    third_party_id: int | None
    e164: str
    status: str
    zones: list[str]
    third_party_authorized: bool
    relation: str  # the third party's relation to the borrower, "" for the borrower's own number

    @property
    def masked(self) -> str:
        return mask(self.e164)

    @property
    def owner(self) -> str:
        return "third_party" if self.third_party_id else "debtor"


def _consent_fact(row: tuple) -> policy.ConsentFact:
    phone_id, allows_call, allows_sms, purpose, granted_at, expires_at, withdrawn_at = row
    # The channels in the order of Consent.channels: call, then SMS.
    channels = [ch for ch, on in ((policy.Channel.CALL, allows_call), (policy.Channel.SMS, allows_sms)) if on]
    return policy.ConsentFact(
        number_id=phone_id,
        channels=frozenset(channels),
        purpose=purpose,
        granted_at=granted_at,
        expires_at=expires_at,
        withdrawn_at=withdrawn_at,
    )


def _restriction_fact(row: tuple) -> policy.RestrictionFact:
    _borrower_id, kind, loan_id, starts_at, ends_at, lifted_at = row
    return policy.RestrictionFact(kind=kind, loan_id=loan_id, starts_at=starts_at, ends_at=ends_at, lifted_at=lifted_at)


def _inconvenient_fact(row: tuple) -> policy.InconvenientTime:
    _borrower_id, weekdays, start, end = row
    return policy.InconvenientTime(weekdays=frozenset(int(d) for d in weekdays), start=start, end=end)


def _attempt_fact(row: tuple) -> policy.AttemptFact:
    loan_id, phone_id, third_party_id, channel, direction, started_at, outcome, party = row
    return policy.AttemptFact(
        loan_id=loan_id,
        number_id=phone_id,
        third_party_id=third_party_id,
        channel=_CHANNELS[channel],
        direction=_DIRECTIONS[direction],
        started_at=started_at,
        outcome=_OUTCOMES[outcome] if outcome else None,
        party=_PARTIES[party] if party else None,
    )


def number_fact(
    *, number_id: int, e164: str | None, status: str, third_party_id: int | None, authorized: bool | None,
    zones: Any,
) -> policy.NumberFact:
    """The engine's fact of a number from its columns (a PhoneNumber's, a NumberRow's or a query row's): a third
    party's number is authorised only when it is a third party's and that contact is."""
    return policy.NumberFact(
        number_id=number_id,
        e164=e164 or None,
        status=status,
        owner=policy.Party.THIRD_PARTY if third_party_id else policy.Party.DEBTOR,
        third_party_id=third_party_id,
        third_party_authorized=bool(third_party_id and authorized),
        zones=tuple(zones or ()),
    )


def _number_fact(phone: PhoneNumber) -> policy.NumberFact:
    third_party = phone.third_party
    return number_fact(
        number_id=phone.pk, e164=phone.e164, status=phone.status, third_party_id=phone.third_party_id,
        authorized=bool(third_party and third_party.authorized), zones=phone.zones,
    )


def _number_row_fact(row: NumberRow) -> policy.NumberFact:
    """The same fact as `_number_fact`, from a NumberRow."""
    return number_fact(
        number_id=row.pk, e164=row.e164, status=row.status, third_party_id=row.third_party_id,
        authorized=row.third_party_authorized, zones=row.zones,
    )


def _snapshot(
    *, params: policy.PolicyParams, loan: LoanRow, loan_fact: policy.LoanFact, number: policy.NumberFact, consents,
    restrictions, inconvenient, attempts, pauses: tuple[policy.PauseFact, ...] = (),
) -> policy.Snapshot:
    return policy.Snapshot(
        policy=params,
        loan=loan_fact,
        number=number,
        borrower_timezone=loan.timezone or None,
        consents=tuple(consents),
        restrictions=tuple(restrictions),
        inconvenient_times=tuple(inconvenient),
        attempts=tuple(attempts),
        pauses=pauses,
    )


def _holidays(jurisdictions: Iterable[str], at: datetime) -> dict[str, list]:
    found: dict[str, list] = {}
    for jurisdiction, day in PublicHoliday.objects.filter(
        jurisdiction__in=list(jurisdictions),
        date__gte=(at - timedelta(days=2)).date(),
        date__lte=(at + timedelta(days=400)).date(),
    ).values_list("jurisdiction", "date"):
        found.setdefault(jurisdiction, []).append(day)
    return found


def _pauses_of(versions: dict[str, ContactPolicyVersion]) -> LoadedPauses | None:
    """The incident pauses as of the generation read with the versions (`_versions_in_force`)."""
    for version in versions.values():
        generation = generation_of(getattr(version, "policy_generation", None),
                                   getattr(version, "policy_generation_stamp", None))
        return pauses_at(generation)
    return None


N = TypeVar("N")  # what a caller gets back with each snapshot: a PhoneNumber, or a NumberRow


def _build_snapshots(
    loans: list[LoanRow],
    versions: dict[str, ContactPolicyVersion],
    numbers_by_borrower: dict[int, list[tuple[N, policy.NumberFact]]],
    at: datetime,
    *,
    before: bool = False,
    exclude_attempt_id: int | None = None,
    borrowers: QuerySet | None = None,
) -> dict[int, list[tuple[N, policy.Snapshot]]]:
    """The snapshot of every given number of every loan's borrower, judged under the version in force in the
    borrower's jurisdiction (`versions`; a loan whose jurisdiction has none is left out), in a fixed number of
    queries: 1 consents, 2 restrictions, 3 inconvenient times, 4 attempts (+1 holidays when a policy blocks
    holidays). Rows are read with `values_list`, so no model instance is built and no free text is decrypted.

    The attempts are the borrower's within the policy's lookback plus, for a third party's number, every contact
    ever made to that person (third-party contact limits count them all). `before=True` keeps only the history
    strictly before `at` (judging an attempt after the fact); `exclude_attempt_id` leaves one attempt out.

    `borrowers`, the loans' borrower ids as a subquery, when `numbers_by_borrower` holds every number of those
    borrowers: the queries then filter on it in SQL rather than on lists of ids (see
    `contact_snapshots_for_loan_rows`)."""
    borrower_ids = {loan.borrower_id for loan in loans}
    numbers = [fact for borrower_id in borrower_ids for _n, fact in numbers_by_borrower.get(borrower_id, [])]
    of_borrowers: Any = borrower_ids if borrowers is None else borrowers
    of_numbers = (
        Q(phone_id__in=[n.number_id for n in numbers]) if borrowers is None else Q(phone__borrower_id__in=borrowers)
    )
    loaded_pauses = _pauses_of(versions)
    blocked = [j for j, v in versions.items() if v.holidays_blocked]
    holidays = _holidays(blocked, at) if blocked else {}
    params = {j: policy_params(v, holidays.get(j, [])) for j, v in versions.items()}

    consents: dict[int, list] = {}
    for row in Consent.objects.filter(of_numbers).values_list(*CONSENT_FIELDS):
        consents.setdefault(row[0], []).append(_consent_fact(row))
    restrictions: dict[int, list] = {}
    for row in Restriction.objects.filter(borrower_id__in=of_borrowers).values_list(*RESTRICTION_FIELDS):
        restrictions.setdefault(row[0], []).append(_restriction_fact(row))
    inconvenient: dict[int, list] = {}
    for row in InconvenientTimeRow.objects.filter(borrower_id__in=of_borrowers).values_list(*INCONVENIENT_FIELDS):
        inconvenient.setdefault(row[0], []).append(_inconvenient_fact(row))

    lookback = max((_lookback_days(p) for p in params.values()), default=8)
    third_party_ids = {n.third_party_id for n in numbers if n.third_party_id}
    # order_by(): the halves of a compound query carry no ordering of their own; the union is ordered as a whole.
    until = ContactAttempt.objects.filter(**{"started_at__lt" if before else "started_at__lte": at}).order_by()
    if exclude_attempt_id is not None:
        until = until.exclude(pk=exclude_attempt_id)
    # The borrowers' window and the third parties' whole history as two halves of one UNION ALL: each half has
    # its index (borrower, started_at; the third party's numbers), where one OR across the number's join made
    # PostgreSQL scan every attempt ever made for every batch. An attempt in both halves is read once (by id).
    fields = ("pk", "borrower_id", *ATTEMPT_FIELDS)
    history = until.filter(
        borrower_id__in=of_borrowers, started_at__gte=at - timedelta(days=lookback)
    ).values_list(*fields)
    if third_party_ids:
        history = history.union(until.filter(phone__third_party_id__in=third_party_ids).values_list(*fields), all=True)
    attempts_by_borrower: dict[int, list] = {}
    attempts_by_third_party: dict[int, list] = {}
    read: set[int] = set()
    for pk, borrower_id, *row in history.order_by("-started_at"):
        if pk in read:
            continue
        read.add(pk)
        attempt = _attempt_fact(tuple(row))
        attempts_by_borrower.setdefault(borrower_id, []).append((attempt.started_at, attempt))
        if attempt.third_party_id:
            attempts_by_third_party.setdefault(attempt.third_party_id, []).append(attempt)

    result: dict[int, list[tuple[N, policy.Snapshot]]] = {}
    for loan in loans:
        jurisdiction_params = params.get(loan.jurisdiction)
        if jurisdiction_params is None:
            continue
        since = at - timedelta(days=_lookback_days(jurisdiction_params))
        # What every number of the loan shares, built once per loan (the tuples are immutable, so shared safely).
        recent = tuple(fact for when, fact in attempts_by_borrower.get(loan.borrower_id, []) if when >= since)
        loan_fact = policy.LoanFact(loan_id=loan.pk, status=loan.status, due_date=loan.due_date)
        loan_restrictions = tuple(restrictions.get(loan.borrower_id, ()))
        loan_inconvenient = tuple(inconvenient.get(loan.borrower_id, ()))
        loan_pauses = loaded_pauses.facts_for(loan.jurisdiction, loan.collector_id) if loaded_pauses else ()
        entries = []
        for number, fact in numbers_by_borrower.get(loan.borrower_id, []):
            attempts = recent
            if fact.third_party_id:
                seen = set(map(id, recent))
                attempts = recent + tuple(
                    a for a in attempts_by_third_party.get(fact.third_party_id, []) if id(a) not in seen
                )
            entries.append((number, _snapshot(
                params=jurisdiction_params, loan=loan, loan_fact=loan_fact, number=fact,
                consents=consents.get(fact.number_id, ()), restrictions=loan_restrictions,
                inconvenient=loan_inconvenient, attempts=attempts, pauses=loan_pauses,
            )))
        result[loan.pk] = entries
    return result


def _versions_by_jurisdiction(jurisdictions: Iterable[str], at: datetime) -> dict[str, ContactPolicyVersion]:
    versions: dict[str, ContactPolicyVersion] = {}
    for version in _versions_in_force(jurisdictions, at):
        versions.setdefault(version.policy.jurisdiction, version)
    return versions


def contact_snapshot(
    *, loan: Any, phone: Any, at: datetime, before: bool = False, exclude_attempt_id: int | None = None
) -> tuple[policy.Snapshot, ContactPolicyVersion]:
    """Everything the engine needs for one decision, in a fixed number of queries whatever the history length:
    1 policy version in force (with the policy generation, so the incident pauses come from the process's copy:
    contact/pauses.py), 2 consents of the number, 3 restrictions, 4 declared inconvenient times, 5 the attempt
    history that matters (+1 holidays when the policy blocks holidays; +1 the pauses when this process has not yet
    read them at this generation).

    `loan` must come with its borrower (select_related) and `phone` with its third party. `before=True`
    judges an attempt against the history strictly before `at` (recording an attempt after the fact)."""
    borrower: Borrower = loan.borrower
    version = policy_version_in_force(borrower.jurisdiction, at)
    snapshots = _build_snapshots(
        [LoanRow.of(loan)], {borrower.jurisdiction: version}, {borrower.pk: [(phone, _number_fact(phone))]}, at,
        before=before, exclude_attempt_id=exclude_attempt_id,
    )
    [(_phone, snapshot)] = snapshots[loan.pk]
    return snapshot, version


def contact_snapshots_for_loans(
    loans: Iterable[Any], at: datetime
) -> dict[int, list[tuple[PhoneNumber, policy.Snapshot]]]:
    """Snapshots for every number of every given loan's borrower, for the account page and callbacks, in a fixed
    number of queries whatever the number of loans, numbers or attempts: 1 policy versions, 2 numbers,
    3 consents, 4 restrictions, 5 inconvenient times, 6 attempts (+1 holidays when a policy blocks holidays).
    Loans must come with their borrowers. A loan whose jurisdiction has no policy in force is left out."""
    rows = [LoanRow.of(loan) for loan in loans]
    if not rows:
        return {}
    versions = _versions_by_jurisdiction({row.jurisdiction for row in rows}, at)
    numbers_by_borrower: dict[int, list[tuple[PhoneNumber, policy.NumberFact]]] = {}
    for phone in (
        PhoneNumber.objects.filter(borrower_id__in={row.borrower_id for row in rows})
        .select_related("third_party").order_by("id")
    ):
        numbers_by_borrower.setdefault(phone.borrower_id, []).append((phone, _number_fact(phone)))
    return _build_snapshots(rows, versions, numbers_by_borrower, at)


def contact_snapshots_for_loan_rows(
    loans: Iterable[LoanRow], at: datetime, *, borrowers: QuerySet | None = None
) -> dict[int, list[tuple[NumberRow, policy.Snapshot]]]:
    """The same snapshots as `contact_snapshots_for_loans`, in the same queries, from LoanRows and with each
    number as a NumberRow: for the nightly worklist, where a model instance per loan, borrower, number and third
    party (and decrypting their names) would cost more than the decisions themselves.

    `borrowers`: the same loans' borrower ids as a subquery (`loans_queryset.values("borrower_id")`). The queries
    then filter on it instead of on lists of hundreds of ids, which psycopg would parse placeholder by placeholder
    in Python (about 10 µs each, several milliseconds per query for a chunk of 500 loans)."""
    rows = list(loans)
    if not rows:
        return {}
    versions = _versions_by_jurisdiction({row.jurisdiction for row in rows}, at)
    numbers_by_borrower: dict[int, list[tuple[NumberRow, policy.NumberFact]]] = {}
    of_borrowers: Any = {row.borrower_id for row in rows} if borrowers is None else borrowers
    for pk, borrower_id, third_party_id, e164, status, zones, authorized, relation in (
        PhoneNumber.objects.filter(borrower_id__in=of_borrowers).order_by("id").values_list(*NUMBER_FIELDS)
    ):
        number = NumberRow(pk, borrower_id, third_party_id, e164, status, zones, bool(authorized), relation or "")
        numbers_by_borrower.setdefault(borrower_id, []).append((number, _number_row_fact(number)))
    return _build_snapshots(rows, versions, numbers_by_borrower, at, borrowers=borrowers)


def decision_as_dict(decision: policy.Decision) -> dict[str, Any]:
    """The public JSON shape of a decision (API, stored verdicts, UI)."""
    return {
        "allowed": decision.allowed,
        "reasons": [
            {
                "code": str(r.code),
                "message": str(r.message),
                "rule": r.rule,
                "until": r.until.isoformat() if r.until else None,
            }
            for r in decision.reasons
        ],
        "next_allowed_at": decision.next_allowed_at.isoformat() if decision.next_allowed_at else None,
        "local_times": {zone: t.isoformat() for zone, t in decision.local_times.items()},
        "policy": {"code": decision.policy_code, "version": decision.policy_version},
    }


# --- Open desk calls ---------------------------------------------------------------------------------------------


def open_desk_calls(at: datetime) -> QuerySet[ContactAttempt]:
    """Desk calls started and not yet given an outcome, newer than the abandoned-call timeout (an older one is
    abandoned: attempts_close_stale closes it as no answer, and it no longer holds anyone up)."""
    return ContactAttempt.objects.filter(
        channel="call", source="desk", outcome="",
        started_at__gte=at - timedelta(minutes=settings.ATTEMPT_STALE_MINUTES),
    ).order_by("-started_at")


def open_call_of(collector: Any, at: datetime) -> ContactAttempt | None:
    """The collector's own open desk call, if any (one query): the desk links back to it."""
    return open_desk_calls(at).filter(collector=collector).select_related("loan").first()
