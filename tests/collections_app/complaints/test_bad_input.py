"""Bad input at complaint intake (desk, admin, API) and on the report's period (page, CSV, admin) is a 4xx naming
the field, never a server error, and its message does not repeat what was sent."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from collections_app.api.auth import api_token_create
from collections_app.models import Complaint

from .helpers import open_complaint

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"


def _intake(**extra):
    return {"channel": "phone", "category": "other", "description": "Called at night.", **extra}


@pytest.mark.parametrize(("extra", "field"), [
    ({"attempts": [HUGE]}, "attempts"),
    ({"collectors": [HUGE]}, "collectors"),
    ({"collectors": ["abc"]}, "collectors"),
    ({"received_at": "0001-01-01T00:00"}, "received_at"),
    ({"received_at": "9999-12-31T23:59"}, "received_at"),
])
def test_the_desk_intake_refuses_ids_and_dates_out_of_range_on_their_field(client, clock, cn_loan, collector,
                                                                           extra, field):
    client.force_login(collector)
    response = client.post(reverse("complaints:create", args=[cn_loan.loan_ref]), _intake(**extra))
    assert response.status_code == 422
    assert list(response.context["form"].errors) == [field]
    assert HUGE not in response.content.decode()
    assert not Complaint.objects.exists()


def test_the_service_refuses_a_received_date_out_of_range(clock, cn_loan, collector):
    with pytest.raises(ValidationError) as exc:
        open_complaint(cn_loan, collector, received_at=dt.datetime(1, 1, 1, tzinfo=dt.UTC))
    assert list(exc.value.message_dict) == ["received_at"]


@pytest.mark.parametrize(("extra", "field"), [
    ({"attempts": [HUGE], "received_at_0": "", "received_at_1": ""}, "attempts"),
    ({"collectors": [HUGE], "received_at_0": "", "received_at_1": ""}, "collectors"),
    ({"received_at_0": "0001-01-01", "received_at_1": "00:00:00"}, "received_at"),
])
def test_the_admin_intake_refuses_ids_and_dates_out_of_range_on_their_field(client, clock, cn_loan, compliance,
                                                                            extra, field):
    client.force_login(compliance)
    response = client.post(reverse("admin:collections_app_complaint_add"),
                           {"borrower": cn_loan.borrower.pk, "loan": cn_loan.pk, **_intake(**extra)})
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    assert not Complaint.objects.exists()


@pytest.mark.parametrize("ids", [[9223372036854775808], [0], [-1]])
def test_the_api_refuses_an_attempt_id_beyond_the_databases_range(client, clock, cn_loan, integration_user, ids):
    _row, token = api_token_create(user=integration_user)
    response = client.post("/api/v1/complaints", {
        "borrower_ref": cn_loan.borrower.borrower_ref, "channel": "letter", "category": "other",
        "description": "Letter.", "attempt_ids": ids,
    }, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 422
    assert [item["field"] for item in response.json()["detail"]] == ["attempt_ids[0]"]
    assert not Complaint.objects.exists()


REPORTS = ["complaints:report", "complaints:report_csv", "admin:collections_app_complaint_report",
           "admin:collections_app_complaint_report_csv"]


@pytest.mark.parametrize("url_name", REPORTS)
@pytest.mark.parametrize(("query", "field"), [
    ({"start": "0001-01-01"}, "start"),
    ({"end": "9999-12-30"}, "end"),
    ({"start": "9999-12-30", "end": "9999-12-31"}, "start"),
])
def test_a_report_period_out_of_range_is_a_422_naming_the_date(client, clock, compliance, url_name, query, field):
    client.force_login(compliance)
    response = client.get(reverse(url_name), query)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert response.context["form"].errors[field] == ["The date must be between 1970 and 2199."]
