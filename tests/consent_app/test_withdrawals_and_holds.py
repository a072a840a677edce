"""A withdrawal is never dated before its consent's grant, and a temporary hold always has an end: in the services
and in the admin's form."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from consent_app.models import Restriction
from consent_app.services import consent_withdraw, restriction_place
from tests import factories as f

pytestmark = pytest.mark.django_db

GRANTED = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def consent():
    return f.ConsentFactory(granted_at=GRANTED)


def test_a_withdrawal_dated_before_the_grant_is_refused(consent, compliance):
    with pytest.raises(ValidationError) as exc:
        consent_withdraw(consent=consent, via="phone", withdrawn_at=GRANTED - dt.timedelta(minutes=1),
                         actor=compliance)
    assert exc.value.message_dict == {"withdrawn_at": ["A consent cannot be withdrawn before it was granted."]}
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_a_withdrawal_without_a_date_is_never_before_a_grant_slightly_ahead_of_our_clock(consent, compliance):
    # The grant was reported two minutes ahead of our clock (within the clock-skew tolerance).
    with time_machine.travel(GRANTED - dt.timedelta(minutes=2), tick=False):
        consent_withdraw(consent=consent, via="phone", actor=compliance)
    consent.refresh_from_db()
    assert consent.withdrawn_at == GRANTED


def test_a_temporary_hold_without_an_end_is_refused(compliance):
    borrower = f.BorrowerFactory()
    with pytest.raises(ValidationError) as exc:
        restriction_place(borrower=borrower, kind="temporary_hold", starts_at=GRANTED, reason="payday",
                          actor=compliance)
    assert exc.value.message_dict == {"ends_at": ["A temporary hold needs an end."]}
    assert not Restriction.objects.exists()
    hold = restriction_place(borrower=borrower, kind="temporary_hold", starts_at=GRANTED, reason="payday",
                             ends_at=GRANTED + dt.timedelta(days=10), actor=compliance)
    assert hold.ends_at == GRANTED + dt.timedelta(days=10)


def _admin_add(client, borrower, **extra):
    return client.post(reverse("admin:consent_app_restriction_add"), {
        "borrower": str(borrower.pk), "loan": "", "kind": "temporary_hold", "starts_at_0": "2026-11-01",
        "starts_at_1": "09:30:00", "ends_at_0": "", "ends_at_1": "", "reason": "payday", **extra,
    })


def test_the_admin_refuses_a_temporary_hold_without_an_end_on_the_field(client, compliance):
    borrower = f.BorrowerFactory()
    client.force_login(compliance)
    response = _admin_add(client, borrower)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"ends_at": ["A temporary hold needs an end."]}
    assert not Restriction.objects.exists()


@pytest.mark.parametrize(("extra", "field"), [
    ({"ends_at_0": "9999-12-31", "ends_at_1": "23:59:59"}, "ends_at"),
    ({"starts_at_0": "0001-01-01", "starts_at_1": "00:00:00", "ends_at_0": "2026-12-01", "ends_at_1": "00:00:00"},
     "starts_at"),
])
def test_the_admin_refuses_a_restriction_date_out_of_range_on_the_field(client, compliance, extra, field):
    borrower = f.BorrowerFactory()
    client.force_login(compliance)
    response = _admin_add(client, borrower, **extra)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Restriction.objects.exists()


def test_the_admin_places_a_temporary_hold_with_an_end(client, compliance):
    borrower = f.BorrowerFactory()
    client.force_login(compliance)
    response = _admin_add(client, borrower, ends_at_0="2026-11-20", ends_at_1="00:00:00")
    assert response.status_code == 302
    assert Restriction.objects.get().ends_at is not None
