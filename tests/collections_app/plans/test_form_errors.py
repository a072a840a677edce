"""A service's refusal is shown on the form that was posted: on the field it names, or above the form when the form
has no such field or the refusal names none (the plan and promise pages, through the test client)."""

import pytest
from django.urls import reverse

from collections_app.models import Promise, RepaymentPlan
from collections_app.plans.services import plan_propose
from tests.collections_app.plans.helpers import days, schedule

pytestmark = pytest.mark.django_db


def _plan_post(rows):
    data = {"kind": "installments", "agreed_total": "", "reason": "", "attempt": "",
            "inst-TOTAL_FORMS": "12", "inst-INITIAL_FORMS": "0", "inst-MIN_NUM_FORMS": "0",
            "inst-MAX_NUM_FORMS": "24"}
    for i, (due, amount) in enumerate(rows):
        data[f"inst-{i}-due_date"] = due.isoformat()
        data[f"inst-{i}-amount"] = str(amount)
    return data


def test_a_refusal_naming_a_field_of_the_form_is_shown_on_that_field(client, loan, collector):
    client.force_login(collector)
    response = client.post(reverse("plans:promise_create", args=[loan.loan_ref]),
                           {"amount": "9000", "promise_date": days(5).isoformat()}, HTTP_ACCEPT_LANGUAGE="en")
    form = response.context["form"]
    assert list(form.errors) == ["amount"]
    assert "more than the balance" in form.errors["amount"][0]
    assert not form.non_field_errors()
    assert not Promise.objects.exists()


def test_a_refusal_naming_a_field_the_form_lacks_is_shown_above_the_form(client, loan, collector):
    client.force_login(collector)
    # The service files schedule errors under "installments", which the plan form does not have.
    response = client.post(reverse("plans:plan_propose", args=[loan.loan_ref]),
                           _plan_post(schedule("5000", 3)), HTTP_ACCEPT_LANGUAGE="en")
    form = response.context["form"]
    assert "installments" not in form.errors
    assert any("add up to 5,000.00 CNY" in message for message in form.non_field_errors())
    assert "add up to 5,000.00 CNY" in response.content.decode()
    assert not RepaymentPlan.objects.exists()


def test_a_refusal_naming_no_field_is_shown_above_the_form(client, loan, collector):
    plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 3), actor=collector)
    client.force_login(collector)
    response = client.post(reverse("plans:plan_propose", args=[loan.loan_ref]),
                           _plan_post(schedule("6000", 3)), HTTP_ACCEPT_LANGUAGE="en")
    form = response.context["form"]
    assert form.non_field_errors() == ["This loan already has an open plan; cancel it before proposing another."]
    assert "already has an open plan" in response.content.decode()
    assert RepaymentPlan.objects.count() == 1
