"""factory_boy factories and personas shared by every test. Data is generated (Faker), never real."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from collections_app.models import Loan, Payment, Team, TeamMember
from collections_app.permissions import COLLECTOR, COMPLIANCE, INTEGRATION, SUPERVISOR
from consent_app.models import Borrower, Consent, PhoneNumber, Restriction, ThirdPartyContact
from consent_app.phones import blind_index, parse_number

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
            if extracted in (COMPLIANCE, SUPERVISOR):
                self.is_staff = True
                self.save(update_fields=["is_staff"])


def make_collector(username: str = "", team: Team | None = None):
    user = UserFactory(username=username or f"collector{User.objects.count()}", role=COLLECTOR)
    if team is not None:
        TeamMember.objects.update_or_create(user=user, defaults={"team": team})
    return user


def make_supervisor(username: str = "", team_name: str = ""):
    user = UserFactory(username=username or f"sup{User.objects.count()}", role=SUPERVISOR)
    team = Team.objects.create(name=team_name or f"Team {user.username}", supervisor=user)
    return user, team


def make_compliance(username: str = "compliance"):
    return UserFactory(username=username, role=COMPLIANCE)


def make_integration(username: str = "integration"):
    return UserFactory(username=username, role=INTEGRATION)


class BorrowerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Borrower

    borrower_ref = factory.Sequence(lambda n: f"B{n:06d}")
    full_name = factory.Faker("name", locale="zh_CN")
    national_id = factory.Faker("ssn", locale="zh_CN")
    timezone = "Asia/Shanghai"
    jurisdiction = "CN"


_CN_MOBILE_PREFIXES = ("138", "139", "150", "186", "188", "137")


def cn_mobile(n: int) -> str:
    return f"+86{_CN_MOBILE_PREFIXES[n % len(_CN_MOBILE_PREFIXES)]}{(n * 7919) % 100000000:08d}"


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    borrower = factory.SubFactory(BorrowerFactory)
    e164 = factory.Sequence(cn_mobile)
    region = "CN"
    kind = "mobile"
    status = "active"

    @factory.lazy_attribute
    def blind_index(self):
        return blind_index(self.e164)

    @factory.lazy_attribute
    def zones(self):
        return list(parse_number(self.e164).zones)


class ThirdPartyContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ThirdPartyContact

    borrower = factory.SubFactory(BorrowerFactory)
    contact_ref = factory.Sequence(lambda n: f"C{n:05d}")
    full_name = factory.Faker("name", locale="zh_CN")
    relation = "sibling"
    authorized = True
    authorization_evidence = "loan-application-form"


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    phone = factory.SubFactory(PhoneNumberFactory)
    allows_call = True
    allows_sms = True
    basis = "electronic"
    evidence_ref = factory.Sequence(lambda n: f"EV-{n}")
    granted_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))


class RestrictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Restriction

    borrower = factory.SubFactory(BorrowerFactory)
    kind = "temporary_hold"
    starts_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    reason = "test"


class LoanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Loan

    loan_ref = factory.Sequence(lambda n: f"L{n:07d}")
    borrower = factory.SubFactory(BorrowerFactory)
    principal = Decimal("10000.00")
    balance = Decimal("6000.00")
    currency = "CNY"
    due_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=45))
    status = "active"


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    external_id = factory.Sequence(lambda n: f"P{n:07d}")
    loan = factory.SubFactory(LoanFactory)
    amount = Decimal("100.00")
    paid_at = factory.LazyFunction(timezone.now)
