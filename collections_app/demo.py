"""The demo portfolio behind `manage.py seed_demo` (development only): users, a team and ~120 loans with
numbers, consents, restrictions, third-party contacts and payments, all generated (Faker with a fixed seed,
numbers from fictional or reserved-looking ranges) and all written through the services, so the demo has the
same history and audit trail as real data.

Idempotent: fixed refs (DEMO-B0001, DEMO-L0001, ...) and upserts; consents, restrictions and third parties are
added only to a borrower that has none yet; an existing loan is left as it is (its due date was set relative to
the day it was created, and re-dating it daily would write history for nothing).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from faker import Faker

from collections_app.loans.buckets import buckets
from collections_app.loans.services import loan_assign, loan_upsert, payment_record
from consent_app.models import Borrower, Consent, PhoneNumber, Restriction, ThirdPartyContact
from consent_app.services import (
    PhoneInput,
    ThirdPartyInput,
    borrower_upsert,
    consent_grant,
    consent_withdraw,
    restriction_place,
    third_party_upsert,
)

from .models import Loan, LoanStatus, Payment, Team, TeamMember
from .permissions import COLLECTOR, COMPLIANCE, SUPERVISOR

DEMO_PASSWORD = "demo-pass-2026"
SEED = 2026
REASON = "demo seed"
CN_BORROWERS, US_BORROWERS, UK_BORROWERS = 90, 6, 4
TWO_LOAN_BORROWERS = 20  # the first 20 borrowers have two loans: 100 borrowers, 120 loans

# (username, role group, is_staff, is_superuser). Supervisors and compliance officers work in the admin.
DEMO_USERS = (
    ("admin", None, True, True),
    ("supervisor1", SUPERVISOR, True, False),
    ("compliance1", COMPLIANCE, True, False),
    ("collector1", COLLECTOR, False, False),
    ("collector2", COLLECTOR, False, False),
)

# US borrowers: the address zone, and a number from another zone for half of them (a Denver borrower on a New
# York number may be called 10:00-21:00 Eastern only: the policy must intersect both zones).
_US_PROFILES = (
    ("America/Denver", "303"), ("America/Denver", "212"), ("America/Chicago", "312"),
    ("America/Los_Angeles", "646"), ("America/Phoenix", "602"), ("America/New_York", "720"),
)
_UK_NUMBERS = ("20 7946 0{:03d}", "117 496 0{:03d}")  # Ofcom's drama ranges (London, Bristol)


@dataclass
class SeedResult:
    users_created: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _BorrowerSpec:
    """One generated borrower, drawn before anything is written."""

    ref: str
    jurisdiction: str
    name: str
    national_id: str
    zone: str
    phones: list[str]
    contact: str | None  # the name of a third-party contact, for every 4th borrower


@dataclass(frozen=True)
class _LoanSpec:
    """One generated loan of a `_BorrowerSpec` (by its ref)."""

    ref: str
    borrower: str
    currency: str
    principal: Decimal
    balance: Decimal
    status: str
    due_date: date
    collector: Any
    pay_days_ago: int


def _cn_number(n: int) -> str:
    """+86 138 0013 8xxx: a block used in examples everywhere; valid for phonenumbers."""
    return f"+86 138 0013 {8000 + n:04d}"


def _us_number(area: str, n: int) -> str:
    return f"+1 {area} 555 {2000 + n:04d}"  # 555-2xxx: valid per phonenumbers, unlike 555-01xx


def _uk_number(n: int) -> str:
    return "+44 " + _UK_NUMBERS[n % 2].format(n)


def ensure_users(password: str) -> list[str]:
    """Create the demo users (password set on creation only) and their roles. Returns the new usernames."""
    User = get_user_model()
    created_names = []
    for username, group, is_staff, is_superuser in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": is_staff, "is_superuser": is_superuser,
                                         "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
            created_names.append(username)
        if group:
            user.groups.add(Group.objects.get(name=group))
    supervisor = User.objects.get(username="supervisor1")
    team, _created = Team.objects.get_or_create(name="Team A", defaults={"supervisor": supervisor})
    for username in ("collector1", "collector2"):
        TeamMember.objects.get_or_create(user=User.objects.get(username=username), defaults={"team": team})
    return created_names


def _dpd_plan(rng: random.Random, count: int) -> list[int]:
    """Days past due for `count` active loans, cycling through "current" and every configured bucket."""
    ranges = [(-30, 0)] + [(b.low, b.high if b.high is not None else b.low + 400) for b in buckets()]
    return [rng.randint(*ranges[i % len(ranges)]) for i in range(count)]


@transaction.atomic
def seed_demo(*, password: str = DEMO_PASSWORD, actor: Any = None) -> SeedResult:
    result = SeedResult(users_created=ensure_users(password))
    User = get_user_model()
    collectors = [User.objects.get(username="collector1"), User.objects.get(username="collector2")]
    now = timezone.now()
    today = timezone.localdate()

    # Everything random is drawn before anything is written, from seeded generators, so the data is the same
    # on every machine and every run whatever already exists.
    fake_cn, fake_us, fake_uk = Faker("zh_CN"), Faker("en_US"), Faker("en_GB")
    for fake in (fake_cn, fake_us, fake_uk):
        fake.seed_instance(SEED)
    rng = random.Random(SEED)

    borrowers: list[_BorrowerSpec] = []
    for i in range(1, CN_BORROWERS + US_BORROWERS + UK_BORROWERS + 1):
        # The draws keep their order (name, then national id, then the contact's name): the data stays the same.
        if i <= CN_BORROWERS:
            jurisdiction, name, national_id, zone = "CN", fake_cn.name(), fake_cn.ssn(), "Asia/Shanghai"
            phones = [_cn_number(i)] + ([_cn_number(100 + i)] if i % 3 == 0 else [])
        elif i <= CN_BORROWERS + US_BORROWERS:
            zone, area = _US_PROFILES[(i - CN_BORROWERS - 1) % len(_US_PROFILES)]
            jurisdiction, name, national_id = "US", fake_us.name(), ""
            phones = [_us_number(area, i)]
        else:
            jurisdiction, name, national_id, zone = "UK", fake_uk.name(), "", "Europe/London"
            phones = [_uk_number(i)]
        contact = (fake_cn.name() if jurisdiction == "CN" else fake_us.name()) if i % 4 == 0 else None
        borrowers.append(_BorrowerSpec(
            ref=f"DEMO-B{i:04d}", jurisdiction=jurisdiction, name=name, national_id=national_id, zone=zone,
            phones=phones, contact=contact,
        ))

    loan_count = len(borrowers) + TWO_LOAN_BORROWERS
    inactive = [LoanStatus.PAID] * 6 + [LoanStatus.SETTLED] * 5 + [LoanStatus.CLOSED] * 5 + [LoanStatus.WRITTEN_OFF] * 4
    statuses = [LoanStatus.ACTIVE] * (loan_count - len(inactive)) + inactive
    rng.shuffle(statuses)
    dpds = iter(_dpd_plan(rng, loan_count))
    loans: list[_LoanSpec] = []
    for k in range(loan_count):
        owner = borrowers[k] if k < len(borrowers) else borrowers[k - len(borrowers)]
        currency = {"CN": "CNY", "US": "USD", "UK": "GBP"}[owner.jurisdiction]
        principal = Decimal(rng.randrange(20, 500) * (100 if currency == "CNY" else 10))
        dpd = next(dpds)
        loans.append(_LoanSpec(
            ref=f"DEMO-L{k + 1:04d}", borrower=owner.ref, currency=currency, principal=principal,
            balance=(principal * Decimal(rng.randrange(20, 100)) / 100).quantize(Decimal("0.01")),
            status=statuses[k], due_date=today - timedelta(days=dpd if statuses[k] == LoanStatus.ACTIVE
                                                           else rng.randrange(30, 300)),
            collector=collectors[k % 2], pay_days_ago=rng.randrange(1, 25),
        ))

    by_ref: dict[str, Borrower] = {}
    for i, spec in enumerate(borrowers, start=1):
        borrower, _created = borrower_upsert(
            borrower_ref=spec.ref, full_name=spec.name, national_id=spec.national_id,
            timezone_name=spec.zone, jurisdiction=spec.jurisdiction,
            phones=[PhoneInput(number=n) for n in spec.phones], actor=actor, reason=REASON,
        )
        by_ref[spec.ref] = borrower
        _seed_consents(borrower, i, now, actor)
        if spec.contact and not borrower.third_parties.exists():
            number = _cn_number(300 + i) if spec.jurisdiction == "CN" else (
                _us_number("415", 300 + i) if spec.jurisdiction == "US" else _uk_number(300 + i))
            authorized = i % 8 == 0  # half the named contacts authorized collection contact, half did not
            third_party_upsert(
                borrower=borrower, actor=actor,
                data=ThirdPartyInput(
                    contact_ref="C1", name=spec.contact, relation="sibling" if authorized else "friend",
                    authorized=authorized, authorization_evidence="loan application, section 7" if authorized else "",
                    phones=(PhoneInput(number=number),),
                ),
            )

    for loan_spec in loans:
        borrower = by_ref[loan_spec.borrower]
        loan = Loan.objects.filter(loan_ref=loan_spec.ref).first()
        if loan is None:
            paid_off = loan_spec.status == LoanStatus.PAID
            loan, _created = loan_upsert(
                loan_ref=loan_spec.ref, borrower=borrower, principal=loan_spec.principal, balance=loan_spec.balance,
                currency=loan_spec.currency, due_date=loan_spec.due_date,
                # A paid loan is created active and paid off below, as it happens in life.
                status=LoanStatus.ACTIVE if paid_off else loan_spec.status, actor=actor, reason=REASON,
            )
        loan = loan_assign(loan=loan, collector=loan_spec.collector, actor=actor, reason=REASON)
        loan_no = int(loan_spec.ref[-4:])
        external_id = f"DEMO-P{loan_no:04d}"
        # Paid a few days before the first seeding: a re-run (another day) must not offer a different time.
        if Payment.objects.filter(external_id=external_id).exists():
            continue
        if loan_spec.status == LoanStatus.PAID:
            payment_record(external_id=external_id, loan=loan, amount=loan_spec.balance,
                           paid_at=now - timedelta(days=loan_spec.pay_days_ago), actor=actor)
        elif loan_spec.status == LoanStatus.ACTIVE and loan_no % 3 == 0:
            payment_record(external_id=external_id, loan=loan,
                           amount=(loan_spec.balance / 10).quantize(Decimal("0.01")),
                           paid_at=now - timedelta(days=loan_spec.pay_days_ago), actor=actor)

    _seed_restrictions(by_ref, now, actor)
    result.counts = {
        "borrowers": Borrower.objects.filter(borrower_ref__startswith="DEMO-").count(),
        "loans": Loan.objects.filter(loan_ref__startswith="DEMO-").count(),
        "numbers": PhoneNumber.objects.filter(borrower__borrower_ref__startswith="DEMO-").count(),
        "consents": Consent.objects.filter(phone__borrower__borrower_ref__startswith="DEMO-").count(),
        "restrictions": Restriction.objects.filter(borrower__borrower_ref__startswith="DEMO-").count(),
        "third parties": ThirdPartyContact.objects.filter(borrower__borrower_ref__startswith="DEMO-").count(),
    }
    return result


def _seed_consents(borrower: Borrower, i: int, now: datetime, actor: Any) -> None:
    """Most numbers consented; every 10th borrower withdrew, every 10th (offset 5) let the consent expire, every
    15th never consented (contact is then refused with NO_CONSENT)."""
    if Consent.objects.filter(phone__borrower=borrower).exists() or i % 15 == 0:
        return
    us = borrower.jurisdiction == "US"
    for n, phone in enumerate(borrower.phones.filter(third_party__isnull=True).order_by("id")):
        expired = i % 10 == 5 and n == 0
        granted_at = now - timedelta(days=500 if expired else 200 - i)
        consent = consent_grant(
            phone=phone, channels=("call",) if us or n else ("call", "sms"),
            basis="written" if borrower.jurisdiction != "CN" else "electronic",
            evidence_ref=f"DEMO-EV-{borrower.borrower_ref[-4:]}-{n + 1}", granted_at=granted_at,
            expires_at=now - timedelta(days=30) if expired else None, actor=actor,
        )
        if i % 10 == 0 and n == 0:
            consent_withdraw(consent=consent, via="sms", actor=actor, withdrawn_at=now - timedelta(days=20))


def _seed_restrictions(by_ref: dict[str, Borrower], now: datetime, actor: Any) -> None:
    """One of each kind that matters on the desk, each on a borrower that has no restriction yet."""
    placements = (
        # Reg F 12 CFR 1006.6(c): a written request to stop communicating.
        ("DEMO-B0091", "cease_communication", None, "Written request to cease communication received.", False),
        # Reg F 1006.6(b)(2): represented by an attorney for this debt.
        ("DEMO-B0092", "attorney", None, "Borrower is represented by an attorney for this debt.", True),
        ("DEMO-B0005", "dispute", None, "Borrower disputes the balance; verification requested.", True),
        ("DEMO-B0008", "temporary_hold", timedelta(days=10), "Borrower asked not to be called before payday.",
         False),
        ("DEMO-B0097", "complaint_hold", None, "Complaint under review (FCA DISP).", False),
    )
    for ref, kind, lasts, reason, per_loan in placements:
        borrower = by_ref[ref]
        if Restriction.objects.filter(borrower=borrower).exists():
            continue
        starts_at = now - timedelta(days=3)
        restriction_place(
            borrower=borrower, kind=kind, starts_at=starts_at, reason=reason, actor=actor,
            ends_at=now + lasts if lasts else None,
            loan=borrower.loans.order_by("loan_ref").first() if per_loan else None,
        )
