"""Bad input on the desk's call, outcome and hold forms is a 4xx naming the field, never a server error, and its
message does not repeat what was typed."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from collections_app.desk.services import callback_schedule
from collections_app.models import Callback, ContactAttempt
from consent_app.models import Restriction
from tests import factories as f

pytestmark = pytest.mark.django_db


def _call(client, loan):
    client.post(reverse("call_start", args=[loan.loan_ref]), {"phone_id": loan.borrower.phones.get().pk})
    return ContactAttempt.objects.get(loan=loan, outcome="")


@pytest.mark.parametrize("phone_id", ["abc", "99999999999999999999", "-1", ""])
def test_a_call_to_a_number_id_that_is_not_one_is_a_400_naming_the_number(client, collector, account, phone_id):
    client.force_login(collector)
    response = client.post(reverse("call_start", args=[account.loan_ref]), {"phone_id": phone_id})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-field="phone_id"' in page
    if len(phone_id) > 2:
        assert phone_id not in page
    assert not ContactAttempt.objects.exists()


def test_a_call_to_another_borrowers_number_is_still_a_404(client, collector, account):
    elsewhere = f.PhoneNumberFactory()
    client.force_login(collector)
    response = client.post(reverse("call_start", args=[account.loan_ref]), {"phone_id": str(elsewhere.pk)})
    assert response.status_code == 404


@pytest.mark.parametrize("callback_at", ["9999-12-31T23:59", "0001-01-01T00:00"])
def test_a_callback_date_out_of_range_is_refused_on_the_field(client, collector, account, callback_at):
    client.force_login(collector)
    attempt = _call(client, account)
    response = client.post(reverse("attempt_detail", args=[attempt.pk]),
                           {"outcome": "conversation", "callback_at": callback_at})
    assert response.status_code == 422
    assert response.context["form"].errors["callback_at"] == ["The date must be between 1970 and 2199."]
    attempt.refresh_from_db()
    assert attempt.in_progress and not Callback.objects.exists()


def test_the_callback_service_refuses_a_date_out_of_range(collector, account):
    with pytest.raises(ValidationError) as exc:
        callback_schedule(loan=account, collector=collector, actor=collector,
                          due_at=dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC))
    assert list(exc.value.message_dict) == ["callback_at"]


@pytest.fixture
def hold_url(account):
    return reverse("hold_place", args=[account.loan_ref])


@pytest.mark.parametrize(("until", "message"), [
    ("", "This field is required."),
    ("9999-12-31", "The date must be between 1970 and 2199."),
    ("next week", "Write the date as YYYY-MM-DD"),
])
def test_a_hold_without_an_end_or_with_an_end_out_of_range_is_refused_on_its_field(client, supervisor, account,
                                                                                   hold_url, until, message):
    client.force_login(supervisor)
    response = client.post(hold_url, {"until": until, "reason": "supervisor pause"})
    assert response.status_code == 422  # the account page again, the hold form open on what was typed
    assert message in " ".join(response.context["hold_form"].errors["until"])
    page = response.content.decode()
    assert 'aria-invalid="true"' in page and 'id="id_until_error"' in page
    assert 'value="supervisor pause"' in page
    assert not Restriction.objects.exists()


def test_a_hold_ending_in_the_past_is_refused_on_the_date_by_the_service(client, supervisor, account, hold_url):
    client.force_login(supervisor)
    response = client.post(hold_url, {"until": "2027-03-01", "reason": "supervisor pause"})  # two days ago
    assert response.status_code == 422
    assert response.context["hold_form"].errors["until"] == ["The hold must end in the future."]
    assert not Restriction.objects.exists()


def test_a_hold_with_an_end_is_placed(client, supervisor, account, hold_url):
    client.force_login(supervisor)
    client.post(hold_url, {"until": "2027-03-20", "reason": "supervisor pause"})
    assert Restriction.objects.get(kind="temporary_hold").ends_at is not None


def test_a_form_body_over_the_upload_limit_is_a_400_page(client, collector, account, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    client.force_login(collector)
    client.raise_request_exception = False
    response = client.post(reverse("note_create", args=[account.loan_ref]), {"text": "x" * 5_000})
    assert response.status_code in (400, 413)
    assert "text/html" in response["Content-Type"]
