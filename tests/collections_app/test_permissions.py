import pytest
from django.urls import reverse

from tests import factories as f

pytestmark = pytest.mark.django_db


def test_a_collector_opens_their_own_loan(client, collector, loan):
    client.force_login(collector)
    response = client.get(reverse("loan_detail", args=[loan.loan_ref]))
    assert response.status_code == 200
    assert loan.loan_ref in response.content.decode()


def test_a_collector_opening_another_collectors_loan_gets_404(client, other_collector, loan):
    client.force_login(other_collector)
    assert client.get(reverse("loan_detail", args=[loan.loan_ref])).status_code == 404


def test_an_unknown_loan_and_a_forbidden_loan_look_the_same(client, other_collector, loan):
    client.force_login(other_collector)
    forbidden = client.get(reverse("loan_detail", args=[loan.loan_ref]))
    unknown = client.get(reverse("loan_detail", args=["NO-SUCH-LOAN"]))
    assert forbidden.status_code == unknown.status_code == 404


def test_a_supervisor_sees_their_teams_loans_only(client, supervisor, other_supervisor, loan):
    client.force_login(supervisor)
    assert client.get(reverse("loan_detail", args=[loan.loan_ref])).status_code == 200
    client.force_login(other_supervisor)
    assert client.get(reverse("loan_detail", args=[loan.loan_ref])).status_code == 404


def test_compliance_sees_every_loan(client, compliance, loan):
    client.force_login(compliance)
    assert client.get(reverse("loan_detail", args=[loan.loan_ref])).status_code == 200


def test_anonymous_is_sent_to_sign_in(client, loan):
    response = client.get(reverse("loan_detail", args=[loan.loan_ref]))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_a_collectors_worklist_shows_only_assigned_loans(client, collector, other_collector, loan):
    from collections_app.desk.services import worklist_build

    other = f.LoanFactory(assigned_collector=other_collector)
    worklist_build(collector=collector)
    worklist_build(collector=other_collector)
    client.force_login(collector)
    assert client.get(reverse("home"))["Location"] == reverse("worklist")
    body = client.get(reverse("worklist")).content.decode()
    assert loan.loan_ref in body
    assert other.loan_ref not in body


def test_the_compliance_account_list_shows_every_loan(client, compliance, loan, other_collector):
    other = f.LoanFactory(assigned_collector=other_collector)
    client.force_login(compliance)
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain == [(reverse("compliance:accounts"), 302)]
    body = response.content.decode()
    assert loan.loan_ref in body and other.loan_ref in body


def test_compliance_sees_the_admin_and_a_collector_does_not(client, compliance, collector):
    client.force_login(compliance)
    assert client.get("/admin/").status_code == 200
    client.force_login(collector)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_numbers_are_masked_on_the_account_page(client, collector, loan):
    client.force_login(collector)
    body = client.get(reverse("loan_detail", args=[loan.loan_ref])).content.decode()
    phone = loan.borrower.phones.get()
    assert phone.e164 not in body
    assert phone.e164[-4:] in body and "****" in body
