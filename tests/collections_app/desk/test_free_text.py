"""The desk's holds: a hold's reason is kept whole up to FREE_TEXT_MAX_LENGTH characters; a lift reason beyond it
is refused on the form (the hold stays), never cut short."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from consent_app.models import FREE_TEXT_MAX_LENGTH, Restriction
from consent_app.services import restriction_place

from .conftest import MORNING

pytestmark = pytest.mark.django_db


@pytest.fixture
def hold(account, supervisor):
    return restriction_place(borrower=account.borrower, loan=account, kind="temporary_hold", starts_at=MORNING,
                             ends_at=MORNING + dt.timedelta(days=7), reason="supervisor pause", actor=supervisor)


def test_a_hold_keeps_a_long_reason_whole(client, supervisor, account):
    client.force_login(supervisor)
    reason = "h" * FREE_TEXT_MAX_LENGTH
    client.post(reverse("hold_place", args=[account.loan_ref]),
                {"reason": reason, "until": (MORNING + dt.timedelta(days=5)).date().isoformat()})
    assert Restriction.objects.get(kind="temporary_hold").reason == reason


def test_lifting_a_hold_with_a_reason_beyond_the_limit_is_refused(client, supervisor, account, hold):
    client.force_login(supervisor)
    url = reverse("hold_lift", args=[account.loan_ref, hold.pk])
    response = client.post(url, {"reason": "l" * (FREE_TEXT_MAX_LENGTH + 1), "confirm": "on"})
    assert response.status_code == 422
    assert Restriction.objects.get(pk=hold.pk).lifted_at is None
    assert response.context["form"].errors == {"reason": [
        f"Ensure this value has at most {FREE_TEXT_MAX_LENGTH} characters (it has {FREE_TEXT_MAX_LENGTH + 1})."]}
    response = client.post(url, {"reason": "l" * FREE_TEXT_MAX_LENGTH, "confirm": "on"})
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Hold lifted."]
    assert Restriction.objects.get(pk=hold.pk).lift_reason == "l" * FREE_TEXT_MAX_LENGTH
