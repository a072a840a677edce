"""The approvals list: each waiting plan with its loan's balance, the approval limits it goes beyond (the
limit's name and value against the plan's figure) and how long it has waited, in the same queries for 1 plan and
for many."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.contact.generation import current_generation
from collections_app.contact.pauses import pauses_at
from collections_app.models import ApprovalLimit
from collections_app.plans.selectors import approval_queue
from collections_app.plans.services import plan_propose
from tests import factories as f
from tests.collections_app.plans.helpers import schedule
from tests.queries import tables

pytestmark = pytest.mark.django_db


def _row(body, plan):
    match = re.search(rf'<tr data-plan="{plan.pk}">(.*?)</tr>', body, re.S)
    assert match, f"plan #{plan.pk} is not listed"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def _limits(body, plan):
    """The plan's limits column: code -> its text."""
    row = re.search(rf'<tr data-plan="{plan.pk}">(.*?)</tr>', body, re.S).group(1)
    return {code: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip()
            for code, text in re.findall(r'<li data-limit="(\w+)">(.*?)</li>', row, re.S)}


@pytest.fixture
def eight_installments(loan, collector):
    # Eight installments, the first in 20 days: beyond the collector's 6 installments and 14 days.
    return plan_propose(loan=loan, kind="installments", schedule=schedule("6000", 8, first=20), actor=collector,
                        reason="needs time")


def test_a_waiting_plan_shows_its_loans_balance(client, supervisor, loan, eight_installments):
    loan.balance = Decimal("1234567.80")
    loan.save()
    client.force_login(supervisor)
    body = client.get(reverse("plans:approvals")).content.decode()
    assert '<span class="amount">1,234,567.80 CNY</span>' in body
    assert "1,234,567.80 CNY" in _row(body, eight_installments)


def test_a_waiting_plan_says_which_of_the_collectors_limits_it_goes_beyond(client, supervisor, eight_installments):
    client.force_login(supervisor)
    limits = _limits(client.get(reverse("plans:approvals")).content.decode(), eight_installments)
    assert limits == {
        "installments": "Maximum number of installments (Collector): 6 · this plan: 8",
        "first_payment_delay": "Maximum days to the first payment (Collector): 14 · this plan: 20",
    }


def test_the_limits_shown_are_those_in_force(client, supervisor, compliance, eight_installments):
    ApprovalLimit.objects.update_or_create(role="Collector", defaults={
        "max_installments": 7, "max_discount_percent": Decimal("10"), "max_first_payment_delay_days": 10})
    client.force_login(supervisor)
    limits = _limits(client.get(reverse("plans:approvals")).content.decode(), eight_installments)
    assert limits["installments"] == "Maximum number of installments (Collector): 7 · this plan: 8"
    assert limits["first_payment_delay"] == "Maximum days to the first payment (Collector): 10 · this plan: 20"


def test_a_plan_for_compliance_also_says_which_supervisors_limit_it_goes_beyond(client, compliance, loan,
                                                                               collector):
    # 3,900 of 6,000: a 35 % discount, beyond the collector's 10 % and the supervisor's 30 %.
    plan = plan_propose(loan=loan, kind="settlement", agreed_total="3900", schedule=schedule("3900", 2),
                        actor=collector, reason="medical bills")
    client.force_login(compliance)
    body = client.get(reverse("plans:approvals")).content.decode()
    row = re.search(rf'<tr data-plan="{plan.pk}">(.*?)</tr>', body, re.S).group(1)
    texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", t)).strip()
             for t in re.findall(r'<li data-limit="discount">(.*?)</li>', row, re.S)]
    assert texts == ["Maximum discount (%) (Collector): 10% · this plan: 35%",
                     "Maximum discount (%) (Supervisor): 30% · this plan: 35%"]


@pytest.mark.parametrize(("later", "shown"), [
    (dt.timedelta(minutes=25), "waiting 25 min"),
    (dt.timedelta(hours=3, minutes=59), "waiting 3 h"),
    (dt.timedelta(days=2, hours=5, minutes=10), "waiting 2 d 5 h"),
])
def test_a_waiting_plan_says_how_long_it_has_waited(client, supervisor, eight_installments, now, later, shown):
    now.shift(later)
    client.force_login(supervisor)
    assert shown in _row(client.get(reverse("plans:approvals")).content.decode(), eight_installments)


@pytest.mark.parametrize("n", [1, 10])
def test_the_approvals_page_takes_the_same_queries_for_1_and_many_plans(client, collector, supervisor, n):
    plans = []
    for _ in range(n):
        loan = f.LoanFactory(assigned_collector=collector, balance=Decimal("6000.00"))
        plans.append(plan_propose(loan=loan, kind="installments", schedule=schedule(loan.balance, 8),
                                  actor=collector, reason="needs time"))
    client.force_login(supervisor)
    # The banner's incident pauses come from the process's copy of the policy generation, read once per generation
    # and process (contact/pauses.py): load the copy first.
    pauses_at(current_generation())
    with CaptureQueriesContext(connection) as queries:
        body = client.get(reverse("plans:approvals")).content.decode()
    assert all(_limits(body, plan) == {"installments": "Maximum number of installments (Collector): 6 · this plan: 8"}
               for plan in plans)
    assert tables(queries) == [
        "collections_app_usersession",  # the session
        "auth_user",
        "otp_totp_totpdevice",  # the second factor the session was verified with
        "auth_group",  # the user's role
        "collections_app_repaymentplan",  # the plans with loans, collectors (and their teams) and approvers
        "collections_app_installment",  # their installments
        "collections_app_approvallimit",  # the limits in force
        "collections_app_notification",  # the top bar's unread badge
    ]


def test_the_queue_selector_names_the_breaches(supervisor, eight_installments):
    user = f.User.objects.get(pk=supervisor.pk)
    [plan] = approval_queue(user)["supervisor"]
    assert [(b.role, b.breach.code, b.breach.limit, b.breach.figure) for b in plan.limit_breaches] == [
        ("Collector", "installments", 6, 8), ("Collector", "first_payment_delay", 14, 20)]
