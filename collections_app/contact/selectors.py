"""Contact reads: policy versions in force and the snapshots the engine decides on, each in a bounded number of
queries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from consent_app.models import Borrower, Consent, PhoneNumber, Restriction
from consent_app.models import InconvenientTime as InconvenientTimeRow

from .. import policy
from ..models import ContactAttempt, ContactPolicyVersion, PublicHoliday


class PolicyMissing(Exception):
    """No contact policy version is in force for the borrower's jurisdiction at that instant."""


def _versions_in_force(jurisdictions: Iterable[str], at: datetime) -> QuerySet[ContactPolicyVersion]:
    """The policy versions in effect at `at` in these jurisdictions, the one in force first for each (the latest
    `effective_from`, then the highest version)."""
    return (
        ContactPolicyVersion.objects.select_related("policy")
        .filter(policy__jurisdiction__in=list(jurisdictions), effective_from__lte=at)
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


def _consent_fact(c: Consent) -> policy.ConsentFact:
    return policy.ConsentFact(
        number_id=c.phone_id,
        channels=frozenset(policy.Channel(ch) for ch in c.channels),
        purpose=c.purpose,
        granted_at=c.granted_at,
        expires_at=c.expires_at,
        withdrawn_at=c.withdrawn_at,
    )


def _restriction_fact(r: Restriction) -> policy.RestrictionFact:
    return policy.RestrictionFact(
        kind=r.kind, loan_id=r.loan_id, starts_at=r.starts_at, ends_at=r.ends_at, lifted_at=r.lifted_at
    )


def _inconvenient_fact(row: InconvenientTimeRow) -> policy.InconvenientTime:
    return policy.InconvenientTime(weekdays=frozenset(int(d) for d in row.weekdays), start=row.start, end=row.end)


def _attempt_fact(row: dict[str, Any]) -> policy.AttemptFact:
    return policy.AttemptFact(
        loan_id=row["loan_id"],
        number_id=row["phone_id"],
        third_party_id=row["phone__third_party_id"],
        channel=policy.Channel(row["channel"]),
        direction=policy.Direction(row["direction"]),
        started_at=row["started_at"],
        outcome=policy.Outcome(row["outcome"]) if row["outcome"] else None,
        party=policy.Party(row["party"]) if row["party"] else None,
    )


def _number_fact(phone: PhoneNumber) -> policy.NumberFact:
    third_party = phone.third_party
    return policy.NumberFact(
        number_id=phone.pk,
        e164=phone.e164 or None,
        status=phone.status,
        owner=policy.Party.THIRD_PARTY if phone.third_party_id else policy.Party.DEBTOR,
        third_party_id=phone.third_party_id,
        third_party_authorized=bool(third_party and third_party.authorized),
        zones=tuple(phone.zones or ()),
    )


def _snapshot(
    *, params: policy.PolicyParams, loan: Any, phone: PhoneNumber, consents, restrictions, inconvenient, attempts
) -> policy.Snapshot:
    return policy.Snapshot(
        policy=params,
        loan=policy.LoanFact(loan_id=loan.pk, status=loan.status, due_date=loan.due_date),
        number=_number_fact(phone),
        borrower_timezone=loan.borrower.timezone or None,
        consents=tuple(consents),
        restrictions=tuple(restrictions),
        inconvenient_times=tuple(inconvenient),
        attempts=tuple(attempts),
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


def _build_snapshots(
    loans: list[Any],
    versions: dict[str, ContactPolicyVersion],
    phones_by_borrower: dict[int, list[PhoneNumber]],
    at: datetime,
    *,
    before: bool = False,
    exclude_attempt_id: int | None = None,
) -> dict[int, list[tuple[PhoneNumber, policy.Snapshot]]]:
    """The snapshot of every given number of every loan's borrower, judged under the version in force in the
    borrower's jurisdiction (`versions`; a loan whose jurisdiction has none is left out), in a fixed number of
    queries: 1 consents, 2 restrictions, 3 inconvenient times, 4 attempts (+1 holidays when a policy blocks
    holidays).

    The attempts are the borrower's within the policy's lookback plus, for a third party's number, every contact
    ever made to that person (third-party contact limits count them all). `before=True` keeps only the history
    strictly before `at` (judging an attempt after the fact); `exclude_attempt_id` leaves one attempt out."""
    borrower_ids = {loan.borrower_id for loan in loans}
    phones = [phone for borrower_id in borrower_ids for phone in phones_by_borrower.get(borrower_id, [])]
    blocked = [j for j, v in versions.items() if v.holidays_blocked]
    holidays = _holidays(blocked, at) if blocked else {}
    params = {j: policy_params(v, holidays.get(j, [])) for j, v in versions.items()}

    consents: dict[int, list] = {}
    for c in Consent.objects.filter(phone_id__in=[phone.pk for phone in phones]):
        consents.setdefault(c.phone_id, []).append(_consent_fact(c))
    restrictions: dict[int, list] = {}
    for r in Restriction.objects.filter(borrower_id__in=borrower_ids):
        restrictions.setdefault(r.borrower_id, []).append(_restriction_fact(r))
    inconvenient: dict[int, list] = {}
    for row in InconvenientTimeRow.objects.filter(borrower_id__in=borrower_ids):
        inconvenient.setdefault(row.borrower_id, []).append(_inconvenient_fact(row))

    lookback = max((_lookback_days(p) for p in params.values()), default=8)
    third_party_ids = {p.third_party_id for p in phones if p.third_party_id}
    window = Q(borrower_id__in=borrower_ids, started_at__gte=at - timedelta(days=lookback))
    if third_party_ids:
        window |= Q(phone__third_party_id__in=third_party_ids)
    history = ContactAttempt.objects.filter(window, **{"started_at__lt" if before else "started_at__lte": at})
    if exclude_attempt_id is not None:
        history = history.exclude(pk=exclude_attempt_id)
    attempts_by_borrower: dict[int, list] = {}
    attempts_by_third_party: dict[int, list] = {}
    for row in history.values("borrower_id", *ATTEMPT_FIELDS):
        fact = _attempt_fact(row)
        attempts_by_borrower.setdefault(row["borrower_id"], []).append((row["started_at"], fact))
        if row["phone__third_party_id"]:
            attempts_by_third_party.setdefault(row["phone__third_party_id"], []).append(fact)

    result: dict[int, list[tuple[PhoneNumber, policy.Snapshot]]] = {}
    for loan in loans:
        jurisdiction_params = params.get(loan.borrower.jurisdiction)
        if jurisdiction_params is None:
            continue
        since = at - timedelta(days=_lookback_days(jurisdiction_params))
        recent = [fact for when, fact in attempts_by_borrower.get(loan.borrower_id, []) if when >= since]
        entries = []
        for phone in phones_by_borrower.get(loan.borrower_id, []):
            attempts = list(recent)
            if phone.third_party_id:
                seen = set(map(id, attempts))
                attempts += [a for a in attempts_by_third_party.get(phone.third_party_id, []) if id(a) not in seen]
            entries.append((phone, _snapshot(
                params=jurisdiction_params, loan=loan, phone=phone, consents=consents.get(phone.pk, []),
                restrictions=restrictions.get(loan.borrower_id, []),
                inconvenient=inconvenient.get(loan.borrower_id, []), attempts=attempts,
            )))
        result[loan.pk] = entries
    return result


def contact_snapshot(
    *, loan: Any, phone: Any, at: datetime, before: bool = False, exclude_attempt_id: int | None = None
) -> tuple[policy.Snapshot, ContactPolicyVersion]:
    """Everything the engine needs for one decision, in a fixed number of queries whatever the history length:
    1 policy version in force, 2 consents of the number, 3 restrictions, 4 declared inconvenient times,
    5 the attempt history that matters (+1 holidays when the policy blocks holidays).

    `loan` must come with its borrower (select_related) and `phone` with its third party. `before=True`
    judges an attempt against the history strictly before `at` (recording an attempt after the fact)."""
    borrower: Borrower = loan.borrower
    version = policy_version_in_force(borrower.jurisdiction, at)
    snapshots = _build_snapshots(
        [loan], {borrower.jurisdiction: version}, {borrower.pk: [phone]}, at,
        before=before, exclude_attempt_id=exclude_attempt_id,
    )
    [(_phone, snapshot)] = snapshots[loan.pk]
    return snapshot, version


def contact_snapshots_for_loans(
    loans: Iterable[Any], at: datetime
) -> dict[int, list[tuple[PhoneNumber, policy.Snapshot]]]:
    """Snapshots for every number of every given loan's borrower, for worklists and the account page, in a fixed
    number of queries whatever the number of loans, numbers or attempts: 1 policy versions, 2 numbers,
    3 consents, 4 restrictions, 5 inconvenient times, 6 attempts (+1 holidays when a policy blocks holidays).
    Loans must come with their borrowers. A loan whose jurisdiction has no policy in force is left out."""
    loans = list(loans)
    if not loans:
        return {}
    versions: dict[str, ContactPolicyVersion] = {}
    for version in _versions_in_force({loan.borrower.jurisdiction for loan in loans}, at):
        versions.setdefault(version.policy.jurisdiction, version)
    phones_by_borrower: dict[int, list[PhoneNumber]] = {}
    for phone in (
        PhoneNumber.objects.filter(borrower_id__in={loan.borrower_id for loan in loans})
        .select_related("third_party").order_by("id")
    ):
        phones_by_borrower.setdefault(phone.borrower_id, []).append(phone)
    return _build_snapshots(loans, versions, phones_by_borrower, at)


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
