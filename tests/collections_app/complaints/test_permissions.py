"""Who sees what: a collector never sees complaints against others (and no complaint detail at all); a supervisor
sees their team's only (others are a 404); compliance sees everything, including the compliance queue."""

import pytest
from django.urls import reverse

from collections_app.complaints.services import complaint_escalate_overdue
from collections_app.models import Complaint
from collections_app.permissions import can_act_on_complaint, complaints_reviewable_by, complaints_visible_to
from tests import factories as f

from .helpers import MORNING, make_cn_loan, open_complaint

pytestmark = pytest.mark.django_db


@pytest.fixture
def complaints(clock, cn_loan, other_loan, collector, other_collector):
    """On collector_a's loan: one naming collector_a, one naming collector_b, one naming nobody, one privacy
    complaint (compliance queue). On collector_b's loan: one naming collector_b."""
    return {
        "about_a": open_complaint(cn_loan, None, collectors=[collector]),
        "about_b_on_a_loan": open_complaint(cn_loan, None, collectors=[other_collector]),
        "about_nobody": open_complaint(cn_loan, None, category="amount_dispute"),
        "privacy": open_complaint(cn_loan, None, category="privacy"),
        "team_b": open_complaint(other_loan, None, collectors=[other_collector]),
    }


def _names(qs, complaints):
    ids = set(qs.values_list("pk", flat=True))
    return {name for name, c in complaints.items() if c.pk in ids}


def test_a_collector_sees_only_summaries_of_their_own_accounts_complaints_not_naming_others(complaints, collector):
    assert _names(complaints_visible_to(collector), complaints) == {"about_a", "about_nobody", "privacy"}
    assert not complaints_reviewable_by(collector).exists()


def test_a_collector_cannot_see_complaints_against_a_colleague(complaints, other_collector):
    # collector_b is named on collector_a's account, but that account is not theirs.
    assert _names(complaints_visible_to(other_collector), complaints) == {"team_b"}


def test_a_supervisor_sees_their_teams_complaints_only(complaints, supervisor, other_supervisor):
    # The complaint naming collector_b is team B's, even though the loan is team A's.
    assert _names(complaints_reviewable_by(supervisor), complaints) == {"about_a", "about_nobody", "privacy"}
    assert _names(complaints_reviewable_by(other_supervisor), complaints) == {"about_b_on_a_loan", "team_b"}


def test_compliance_sees_every_complaint(complaints, compliance):
    assert _names(complaints_reviewable_by(compliance), complaints) == set(complaints)
    assert _names(complaints_visible_to(compliance), complaints) == set(complaints)


def test_an_outsider_sees_nothing(complaints):
    outsider = f.UserFactory(username="outsider")
    assert not complaints_visible_to(outsider).exists() and not complaints_reviewable_by(outsider).exists()


def test_the_detail_page_is_a_404_for_collectors_and_other_teams(client, complaints, collector, supervisor,
                                                                  other_supervisor, compliance):
    url = reverse("complaints:detail", args=[complaints["about_a"].pk])
    for user, status in ((collector, 404), (other_supervisor, 404), (supervisor, 200), (compliance, 200)):
        client.force_login(user)
        assert client.get(url).status_code == status, user.username


def test_the_queue_lists_what_each_user_may_see(client, complaints, collector, supervisor, other_supervisor,
                                                compliance):
    def listed(user, view="all"):
        client.force_login(user)
        html = client.get(reverse("complaints:list"), {"view": view}).content.decode()
        return {name for name, c in complaints.items() if c.reference in html}

    assert listed(collector) == {"about_a", "about_nobody", "privacy"}
    assert listed(supervisor) == {"about_a", "about_nobody", "privacy"}
    assert listed(other_supervisor) == {"about_b_on_a_loan", "team_b"}
    assert listed(compliance) == set(complaints)
    assert listed(compliance, "compliance") == {"privacy"}
    assert listed(supervisor, "compliance") == set()


def test_a_collector_sees_no_complaint_text(client, complaints, collector, cn_loan):
    client.force_login(collector)
    html = client.get(reverse("complaints:list"), {"view": "all"}).content.decode()
    assert "nine times" not in html
    assert reverse("complaints:detail", args=[complaints["about_a"].pk]) not in html


def test_only_the_assigned_supervisor_or_compliance_may_move_a_complaint(complaints, supervisor, other_supervisor,
                                                                        compliance):
    about_a, privacy = complaints["about_a"], complaints["privacy"]
    assert can_act_on_complaint(supervisor, about_a)
    assert not can_act_on_complaint(other_supervisor, about_a)
    assert not can_act_on_complaint(supervisor, privacy)  # compliance queue: visible to the team, not theirs
    assert can_act_on_complaint(compliance, privacy)


def test_an_escalated_complaint_stays_visible_to_the_team_but_is_compliances_to_decide(complaints, supervisor):
    import datetime as dt

    complaint_escalate_overdue(now=MORNING + dt.timedelta(days=30))
    about_a = Complaint.objects.get(pk=complaints["about_a"].pk)
    assert about_a.queue == "compliance"
    assert complaints_reviewable_by(supervisor).filter(pk=about_a.pk).exists()
    assert not can_act_on_complaint(supervisor, about_a)


def test_posting_a_move_on_another_teams_complaint_is_a_404(client, complaints, other_supervisor):
    client.force_login(other_supervisor)
    url = reverse("complaints:transition", args=[complaints["about_a"].pk])
    assert client.post(url, {"to_state": "acknowledged"}).status_code == 404
    assert Complaint.objects.get(pk=complaints["about_a"].pk).state == "received"


def test_a_supervisor_who_may_see_but_not_decide_is_refused(client, complaints, supervisor):
    client.force_login(supervisor)
    url = reverse("complaints:transition", args=[complaints["privacy"].pk])
    response = client.post(url, {"to_state": "acknowledged"})
    assert response.status_code == 302
    assert Complaint.objects.get(pk=complaints["privacy"].pk).state == "received"


def test_recording_a_complaint_on_an_account_the_user_cannot_see_is_a_404(client, clock, collector):
    foreign = make_cn_loan(f.make_collector("stranger"))
    client.force_login(collector)
    response = client.post(reverse("complaints:create", args=[foreign.loan_ref]),
                           {"channel": "phone", "category": "other", "description": "x"})
    assert response.status_code == 404
    assert not Complaint.objects.exists()


def test_reports_are_for_supervisors_and_compliance_only(client, clock, collector, supervisor, compliance):
    for user, status in ((collector, 404), (supervisor, 200), (compliance, 200)):
        client.force_login(user)
        assert client.get(reverse("complaints:report")).status_code == status
        assert client.get(reverse("complaints:report_csv")).status_code == status
