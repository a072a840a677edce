"""Reads for the complaint screens, each in a bounded number of queries (STYLE.md §7)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from audit_app.models import AuditAction, AuditEvent
from collections_app.permissions import complaints_reviewable_by, complaints_visible_to, get_complaint_for_user_or_404
from consent_app.models import Consent, PhoneNumber, PiiAccess, Restriction, RestrictionKind, RevealPurpose

from ..models import (
    OPEN_COMPLAINT_STATES,
    Complaint,
    ComplaintQueue,
    ContactAttempt,
    Loan,
)
from ..permissions import COLLECTOR, is_compliance

# The evidence panel lists at most this many attempts (the newest are kept): a complaint about frequency on an
# account called 6 times a day for 30 days is 180 rows, well inside.
EVIDENCE_MAX_ATTEMPTS = 500
EVIDENCE_MAX_REVEALS = 500
_UNKNOWN_ZONES = frozenset({"", "Etc/Unknown"})


# --- Lists ------------------------------------------------------------------------------------------------------


def complaint_list_for_user(user: Any, *, view: str = "open") -> QuerySet[Complaint]:
    """The queue: `open` (default), `closed`, `all`, `mine` (assigned to the user) or `compliance` (the compliance
    queue, compliance officers only)."""
    qs = complaints_visible_to(user).select_related("borrower", "loan", "team", "assigned_to")
    if view == "open":
        qs = qs.filter(state__in=OPEN_COMPLAINT_STATES)
    elif view == "closed":
        qs = qs.exclude(state__in=OPEN_COMPLAINT_STATES)
    elif view == "mine":
        qs = qs.filter(assigned_to=user, state__in=OPEN_COMPLAINT_STATES)
    elif view == "compliance":
        if not is_compliance(user):
            return qs.none()
        qs = qs.filter(queue=ComplaintQueue.COMPLIANCE, state__in=OPEN_COMPLAINT_STATES)
    return qs.order_by("resolve_due_at", "pk") if view != "closed" else qs.order_by("-closed_at", "-pk")


def complaint_detail_for_user(user: Any, pk: int) -> Complaint:
    queryset = Complaint.objects.select_related(
        "borrower", "loan", "loan__assigned_collector", "team", "assigned_to", "hold_restriction", "created_by"
    ).prefetch_related("collectors")
    return get_complaint_for_user_or_404(user, pk, queryset)


def account_complaints(user: Any, loan: Loan) -> list[Complaint]:
    """The complaints shown on an account page: this loan's, and the borrower's complaints about no particular
    loan, as far as the user may see them. One query."""
    qs = complaints_visible_to(
        user, Complaint.objects.filter(Q(loan=loan) | Q(borrower_id=loan.borrower_id, loan__isnull=True))
    )
    return list(qs.select_related("hold_restriction").order_by("-received_at", "-pk")[:50])


def reviewable_ids(user: Any, complaints: list[Complaint]) -> set[int]:
    """Which of `complaints` the user may open (detail and evidence). One query, none for a collector."""
    if not complaints:
        return set()
    if is_compliance(user):
        return {c.pk for c in complaints}
    return set(
        complaints_reviewable_by(user).filter(pk__in=[c.pk for c in complaints]).values_list("pk", flat=True)
    )


# --- Intake choices ---------------------------------------------------------------------------------------------


def intake_collectors(loan: Loan) -> QuerySet:
    """Collectors who could be concerned: the loan's collector and everyone who contacted the borrower."""
    attempted = ContactAttempt.objects.filter(borrower_id=loan.borrower_id, collector__isnull=False)
    return (
        get_user_model()
        .objects.filter(groups__name=COLLECTOR)
        .filter(Q(pk=loan.assigned_collector_id) | Q(pk__in=attempted.values("collector_id")))
        .distinct()
        .order_by("username")
    )


def intake_attempts(loan: Loan, *, days: int = 90) -> QuerySet[ContactAttempt]:
    """The borrower's recent attempts to choose from when recording a complaint."""
    since = timezone.now() - timedelta(days=days)
    return (
        ContactAttempt.objects.filter(borrower_id=loan.borrower_id, started_at__gte=since)
        .select_related("phone", "collector")
        .order_by("-started_at")
    )


# --- Evidence panel ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentAsOf:
    consent_id: int
    channels: tuple[str, ...]
    state: str  # active / withdrawn / expired / pending, as the record stood at the attempt
    granted_at: datetime
    expires_at: datetime | None
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class RestrictionAsOf:
    restriction_id: int
    kind: str
    loan_id: int | None
    starts_at: datetime
    ends_at: datetime | None

    @property
    def kind_label(self) -> str:
        return str(RestrictionKind(self.kind).label) if self.kind in RestrictionKind.values else self.kind


@dataclass
class EvidenceAttempt:
    attempt: ContactAttempt
    concerned: bool
    masked_number: str
    local_times: list[tuple[str, datetime]]
    reason_codes: list[dict[str, Any]]
    consents: list[ConsentAsOf] = field(default_factory=list)
    restrictions: list[RestrictionAsOf] = field(default_factory=list)


@dataclass(frozen=True)
class Reveal:
    at: datetime
    actor: str
    number: str  # masked; empty when the borrower's record (name, id) was opened rather than a number
    field: str
    reason: str


@dataclass
class Evidence:
    since: datetime
    until: datetime
    attempts: list[EvidenceAttempt]
    reveals: list[Reveal]
    attempts_truncated: bool
    reveals_truncated: bool

    @property
    def non_compliant_count(self) -> int:
        return sum(1 for a in self.attempts if not a.attempt.compliant)


class _AsOf:
    """The rows of one history table grouped by object, resolving "the row in force at t" by bisection."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._by_object: dict[int, tuple[list[datetime], list[dict[str, Any]]]] = {}
        grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:  # already ordered by history_date, history_id
            grouped[row["id"]].append(row)
        for object_id, object_rows in grouped.items():
            self._by_object[object_id] = ([r["history_date"] for r in object_rows], object_rows)

    def at(self, when: datetime) -> list[dict[str, Any]]:
        """Every object as recorded at `when` (the latest history row at or before it), deleted ones left out."""
        found = []
        for dates, rows in self._by_object.values():
            i = bisect_right(dates, when)
            if i and rows[i - 1]["history_type"] != "-":
                found.append(rows[i - 1])
        return found


def _consent_state(row: dict[str, Any], at: datetime) -> str:
    # Consent.state_at, applied to the historical row (the record as it stood then, not as corrected since).
    if row["withdrawn_at"] and row["withdrawn_at"] <= at:
        return "withdrawn"
    if row["expires_at"] and row["expires_at"] <= at:
        return "expired"
    if row["granted_at"] > at:
        return "pending"
    return "active"


def _restriction_in_force(row: dict[str, Any], at: datetime) -> bool:
    return (
        row["starts_at"] <= at
        and (row["lifted_at"] is None or row["lifted_at"] > at)
        and (row["ends_at"] is None or row["ends_at"] > at)
    )


def _local_times(at: datetime, borrower_zone: str, phone_zones: list[str]) -> list[tuple[str, datetime]]:
    zones: list[str] = []
    for key in (borrower_zone, *phone_zones):
        if key and key not in _UNKNOWN_ZONES and key not in zones:
            zones.append(key)
    result = []
    for key in zones:
        try:
            result.append((key, at.astimezone(ZoneInfo(key))))
        except (KeyError, ValueError):
            continue
    return result


def _reveal_reason(data: dict[str, Any], reasons: dict[int, str]) -> str:
    """The reason a reveal gave: a number's typed one on its access record; a borrower's name or national id
    revealed in admin carries its purpose's code (shown by its label); events written before the access record
    existed carry the reason themselves."""
    if data.get("access_id") in reasons:
        return str(reasons[data["access_id"]])
    reason = str(data.get("reason", ""))
    return str(RevealPurpose(reason).label) if reason in RevealPurpose.values else reason


def complaint_evidence(complaint: Complaint, *, now: datetime) -> Evidence:
    """What the reviewer needs in front of them, in five queries whatever the history length (six when numbers
    were revealed):
    1 the attempts around the complaint (the ones concerned, and the borrower's from COMPLAINT_EVIDENCE_LOOKBACK_DAYS
    before receipt until the complaint closed or now), with their number, collector, loan and policy version;
    2 the borrower's numbers; 3 the history of their consents; 4 the history of their restrictions;
    5 the personal-data reveals of the borrower's numbers and record (audit events); 6 the reasons given for the
    reveals (their encrypted `PiiAccess` rows, which the events name: the audit log holds no free text).
    Consents and restrictions are shown as recorded at each attempt (simple_history rows), resolved in Python."""
    borrower = complaint.borrower
    since = complaint.received_at - timedelta(days=settings.COMPLAINT_EVIDENCE_LOOKBACK_DAYS)
    until = complaint.closed_at or now
    concerned = Complaint.attempts.through.objects.filter(complaint_id=complaint.pk, contactattempt_id=OuterRef("pk"))
    attempt_rows = list(
        ContactAttempt.objects.filter(
            Q(pk__in=Complaint.attempts.through.objects.filter(complaint_id=complaint.pk).values("contactattempt_id"))
            | Q(borrower_id=borrower.pk, started_at__gte=since, started_at__lte=until)
        )
        .annotate(concerned=Exists(concerned))
        .select_related("collector", "loan", "policy_version__policy")
        .order_by("-started_at", "-pk")[: EVIDENCE_MAX_ATTEMPTS + 1]
    )
    attempts_truncated = len(attempt_rows) > EVIDENCE_MAX_ATTEMPTS
    attempt_rows = list(reversed(attempt_rows[:EVIDENCE_MAX_ATTEMPTS]))

    phones = {p.pk: p for p in PhoneNumber.objects.filter(borrower_id=borrower.pk)}
    consent_history = _AsOf(list(
        Consent.history.filter(phone_id__in=list(phones))
        .order_by("history_date", "history_id")
        .values("id", "phone_id", "allows_call", "allows_sms", "granted_at", "expires_at", "withdrawn_at",
                "history_date", "history_type")
    ))
    restriction_history = _AsOf(list(
        Restriction.history.filter(borrower_id=borrower.pk)
        .order_by("history_date", "history_id")
        .values("id", "loan_id", "kind", "starts_at", "ends_at", "lifted_at", "history_date", "history_type")
    ))

    evidence_attempts = []
    for attempt in attempt_rows:
        at = attempt.started_at
        phone = phones[attempt.phone_id]  # attempts of this borrower are on this borrower's numbers
        consents = [
            ConsentAsOf(
                consent_id=row["id"],
                channels=tuple(c for c, on in (("call", row["allows_call"]), ("sms", row["allows_sms"])) if on),
                state=_consent_state(row, at), granted_at=row["granted_at"], expires_at=row["expires_at"],
                withdrawn_at=row["withdrawn_at"],
            )
            for row in consent_history.at(at)
            if row["phone_id"] == attempt.phone_id
        ]
        restrictions = [
            RestrictionAsOf(
                restriction_id=row["id"], kind=row["kind"], loan_id=row["loan_id"], starts_at=row["starts_at"],
                ends_at=row["ends_at"],
            )
            for row in restriction_history.at(at)
            if _restriction_in_force(row, at) and row["loan_id"] in (None, attempt.loan_id)
        ]
        evidence_attempts.append(EvidenceAttempt(
            attempt=attempt,
            concerned=attempt.concerned,
            masked_number=phone.masked,
            local_times=_local_times(at, borrower.primary_zone, list(phone.zones or [])),
            reason_codes=[{"code": r.get("code", ""), "rule": r.get("rule", "")} for r in attempt.reasons or []],
            consents=sorted(consents, key=lambda c: c.consent_id),
            restrictions=sorted(restrictions, key=lambda r: r.restriction_id),
        ))

    reveal_rows = list(
        AuditEvent.objects.filter(action=AuditAction.PII_REVEALED)
        .filter(
            Q(subject_type="consent_app.phonenumber", subject_id__in=[str(pk) for pk in phones])
            | Q(subject_type="consent_app.borrower", subject_id=str(borrower.pk))
        )
        .order_by("-occurred_at", "-id")
        .values("occurred_at", "actor_label", "subject_type", "subject_id", "data")[: EVIDENCE_MAX_REVEALS + 1]
    )
    reveals_truncated = len(reveal_rows) > EVIDENCE_MAX_REVEALS
    reveal_rows = reveal_rows[:EVIDENCE_MAX_REVEALS]
    access_ids = {data["access_id"] for data in (row["data"] or {} for row in reveal_rows) if "access_id" in data}
    reasons = dict(PiiAccess.objects.filter(pk__in=access_ids).values_list("pk", "reason")) if access_ids else {}
    reveals = []
    for row in reveal_rows:
        data = row["data"] or {}
        number = ""
        if row["subject_type"] == "consent_app.phonenumber":
            revealed = phones.get(int(row["subject_id"]))
            number = revealed.masked if revealed is not None else "-"
        reveals.append(Reveal(
            at=row["occurred_at"], actor=row["actor_label"], number=number, field=str(data.get("field", "")),
            reason=_reveal_reason(data, reasons),
        ))
    return Evidence(
        since=since, until=until, attempts=evidence_attempts, reveals=reveals,
        attempts_truncated=attempts_truncated, reveals_truncated=reveals_truncated,
    )
