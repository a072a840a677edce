"""`manage.py seed_demo`: the development demo portfolio."""

from __future__ import annotations

from io import StringIO

import phonenumbers
import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from audit_app.models import AuditEvent
from collections_app.models import Loan, LoanStatus, Payment, Team, TeamMember, bucket_for
from collections_app.permissions import COLLECTOR, COMPLIANCE, SUPERVISOR
from consent_app.models import Borrower, Consent, PhoneNumber, Restriction, ThirdPartyContact
from tests.audit_data import free_text_in

pytestmark = pytest.mark.django_db
User = get_user_model()


def seed(**options: str) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def snapshot() -> dict[str, int]:
    models = (User, Team, TeamMember, Borrower, PhoneNumber, ThirdPartyContact, Consent, Restriction, Loan, Payment)
    counts = {m.__name__: m.objects.count() for m in models}
    counts.update({f"{m.__name__} history": m.history.count() for m in models[1:]})
    counts["audit events"] = AuditEvent.objects.count()
    return counts


def test_it_is_refused_when_debug_is_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        seed()

    assert not User.objects.exists()
    assert not Loan.objects.exists()


def test_it_builds_the_demo_portfolio(settings):
    # One seed for all the checks below: seeding writes ~700 audited changes, too slow to repeat per check.
    settings.DEBUG = True
    out = seed()

    _users_and_roles(out)
    _loans_in_every_bucket_and_status(out)
    _consents_active_withdrawn_and_expired()
    _restrictions()
    _third_parties()
    _numbers_and_zones()
    _through_the_services()
    _worklists_built()


def _users_and_roles(out: str) -> None:
    assert out.count("demo-pass-2026") == 1  # printed once, at the end
    users = {u.username: u for u in User.objects.all()}
    assert set(users) == {"admin", "supervisor1", "compliance1", "collector1", "collector2"}
    assert users["admin"].is_superuser and users["admin"].is_staff
    assert users["supervisor1"].is_staff and users["supervisor1"].groups.filter(name=SUPERVISOR).exists()
    assert users["compliance1"].is_staff and users["compliance1"].groups.filter(name=COMPLIANCE).exists()
    for name in ("collector1", "collector2"):
        assert users[name].groups.filter(name=COLLECTOR).exists() and not users[name].is_staff
        assert users[name].team_membership.team.name == "Team A"
    assert Team.objects.get(name="Team A").supervisor == users["supervisor1"]
    assert all(u.check_password("demo-pass-2026") for u in users.values())


def _loans_in_every_bucket_and_status(out: str) -> None:
    loans = list(Loan.objects.all())
    assert 100 <= len(loans) <= 140
    buckets = {bucket_for(loan.days_past_due()) for loan in loans if loan.status == LoanStatus.ACTIVE}
    assert buckets == {"current"} | {label for label, _low, _high in django_settings.COLLECTION_BUCKETS}
    assert {loan.status for loan in loans} == set(LoanStatus.values)
    assert {loan.assigned_collector.username for loan in loans} == {"collector1", "collector2"}
    assert Payment.objects.exists()
    # A paid loan was paid off through payment_record.
    assert all(loan.balance == 0 for loan in loans if loan.status == LoanStatus.PAID)


def _consents_active_withdrawn_and_expired() -> None:
    states = {c.state_at() for c in Consent.objects.all()}
    assert {"active", "withdrawn", "expired"} <= states
    assert PhoneNumber.objects.filter(third_party__isnull=True, consents__isnull=True).exists()  # never consented


def _restrictions() -> None:
    kinds = {r.kind: r for r in Restriction.objects.all()}
    assert {"cease_communication", "attorney", "dispute", "temporary_hold"} <= set(kinds)
    assert kinds["temporary_hold"].ends_at is not None and kinds["temporary_hold"].is_active()
    assert kinds["attorney"].loan is not None


def _third_parties() -> None:
    contacts = list(ThirdPartyContact.objects.all())
    assert {c.authorized for c in contacts} == {True, False}
    assert all(c.phones.exists() for c in contacts)


def _numbers_and_zones() -> None:
    for phone in PhoneNumber.objects.all():
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone.e164))
    us = Borrower.objects.filter(jurisdiction="US")
    assert us.filter(timezone="America/Denver").exists()
    # A US borrower whose number is in another zone than their address (the policy intersects both).
    assert any(borrower.timezone not in phone.zones for borrower in us for phone in borrower.phones.all())
    assert set(Borrower.objects.filter(jurisdiction="UK").values_list("timezone", flat=True)) == {"Europe/London"}
    assert Borrower.objects.filter(jurisdiction="CN").count() > 50


def _worklists_built() -> None:
    from collections_app.models import WorklistEntry

    for username in ("collector1", "collector2"):
        assert WorklistEntry.objects.filter(collector__username=username).exists()
    assert WorklistEntry.objects.filter(contactable=False).exists()
    assert WorklistEntry.objects.filter(contactable=True).exists()


def _through_the_services() -> None:
    assert Loan.history.exists() and Consent.history.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"borrower.created", "phone.added", "consent.granted", "consent.withdrawn", "restriction.placed",
            "third_party.saved", "loan.created", "loan.assigned", "payment.recorded"} <= actions
    # The restrictions' reasons and the other texts are on their rows (encrypted), not in the audit log.
    assert free_text_in(AuditEvent.objects.all()) == []


def test_running_it_twice_changes_nothing_and_keeps_the_passwords(settings):
    settings.DEBUG = True
    first = seed(password="another-dev-password")
    assert "another-dev-password" in first
    before = snapshot()

    out = seed()

    assert snapshot() == before
    assert "passwords were not changed" in out and "demo-pass-2026" not in out
    assert User.objects.get(username="collector1").check_password("another-dev-password")
