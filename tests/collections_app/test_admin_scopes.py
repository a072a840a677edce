"""The admin goes through the same permission scopes as the desk: every admin is scoped by construction, a
supervisor sees and acts on their own team's rows only (changelist, change view, history view, actions), and
restrictions are lifted by the people the lifting rule names — in the service, so no path can skip it.

The world: one borrower with a loan in team A (collector_a, supervisor_a) and a loan in team B (collector_b,
supervisor_b). Supervisor A must never reach team B's attempt, restriction, payment or team."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from collections_app.models import ContactAttempt, Team
from consent_app import scopes
from consent_app.admin.toolkit import ScopedAdminMixin
from consent_app.models import Restriction
from consent_app.services import restriction_lift
from tests import factories as f

pytestmark = pytest.mark.django_db

# Admins whose model no desk role may view (only compliance officers or superusers hold its view permission):
# they need no row scope. Every other registered admin must be scoped.
UNSCOPED_COMPLIANCE_ONLY = {"audit_app.auditevent", "auth.group", "axes.accessattempt", "axes.accessfailurelog",
                            "axes.accesslog"}


def test_every_registered_admin_and_inline_goes_through_a_scope():
    unscoped = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        if label in UNSCOPED_COMPLIANCE_ONLY:
            continue
        if not isinstance(model_admin, ScopedAdminMixin) and label != "auth.user":
            unscoped.append(label)
        elif not scopes.has_scope(model):
            unscoped.append(f"{label} (no scope registered)")
        for inline in model_admin.inlines:
            if not issubclass(inline, ScopedAdminMixin) or not scopes.has_scope(inline.model):
                unscoped.append(f"{label} inline {inline.__name__}")
    assert unscoped == []


def test_a_model_without_a_registered_scope_is_an_error_not_every_row(compliance):
    from django.contrib.auth.models import Permission
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        scopes.visible_to(compliance, Permission.objects.all())


@pytest.fixture
def shared(collector, other_collector):
    """One borrower, a loan in each team, an attempt, a payment and a loan restriction on each loan."""
    borrower = f.BorrowerFactory(borrower_ref="B-SHARED")
    phone = f.PhoneNumberFactory(borrower=borrower)
    loans, attempts, holds = {}, {}, {}
    for team, owner in (("a", collector), ("b", other_collector)):
        loan = f.LoanFactory(borrower=borrower, assigned_collector=owner, loan_ref=f"L-TEAM-{team.upper()}")
        loans[team] = loan
        attempts[team] = ContactAttempt.objects.create(
            loan=loan, phone=phone, borrower=borrower, channel="call", started_at=timezone.now(),
            outcome="no_answer", collector=owner, compliant=True, recording_ref=f"rec-{team}",
        )
        f.PaymentFactory(loan=loan, external_id=f"P-{team}")
        holds[team] = f.RestrictionFactory(borrower=borrower, loan=loan, kind="temporary_hold", reason=f"hold {team}")
    return {"borrower": borrower, "loans": loans, "attempts": attempts, "holds": holds}


def _as(client, user):
    client.force_login(user)
    return client


class TestSupervisorSeesOwnTeamOnly:
    def test_attempt_changelist_lists_own_teams_attempts_only(self, client, supervisor, shared):
        page = _as(client, supervisor).get(reverse("admin:collections_app_contactattempt_changelist"))
        assert page.status_code == 200
        assert "L-TEAM-A" in page.content.decode()
        assert "L-TEAM-B" not in page.content.decode()

    def test_other_teams_attempt_does_not_open(self, client, supervisor, shared):
        other = shared["attempts"]["b"]
        client = _as(client, supervisor)
        response = client.get(reverse("admin:collections_app_contactattempt_change", args=[other.pk]))
        # The admin's answer for a row outside the user's scope: its index, saying there is no such row.
        assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))
        assert [str(m) for m in get_messages(response.wsgi_request)] == [
            f"contact attempt with ID “{other.pk}” doesn’t exist. Perhaps it was deleted?"]
        history = client.get(reverse("admin:collections_app_contactattempt_history", args=[other.pk]))
        assert history.status_code == 404 and "rec-b" not in history.content.decode()

    def test_own_teams_attempt_opens(self, client, supervisor, shared):
        own = shared["attempts"]["a"]
        page = _as(client, supervisor).get(reverse("admin:collections_app_contactattempt_change", args=[own.pk]))
        assert page.status_code == 200
        assert "rec-a" in page.content.decode()

    def test_other_teams_loan_restriction_is_not_listed(self, client, supervisor, shared):
        page = _as(client, supervisor).get(reverse("admin:consent_app_restriction_changelist"))
        body = page.content.decode()
        assert "L-TEAM-A" in body and "L-TEAM-B" not in body

    def test_other_teams_payment_and_team_are_not_listed(self, client, supervisor, other_supervisor, shared):
        client = _as(client, supervisor)
        payments = client.get(reverse("admin:collections_app_payment_changelist")).content.decode()
        assert "P-a" in payments and "P-b" not in payments
        teams = client.get(reverse("admin:collections_app_team_changelist")).content.decode()
        assert "Team A" in teams and "Team B" not in teams
        other_team = Team.objects.get(supervisor=other_supervisor)
        response = client.get(reverse("admin:collections_app_team_change", args=[other_team.pk]))
        assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))
        assert [str(m) for m in get_messages(response.wsgi_request)] == [
            f"team with ID “{other_team.pk}” doesn’t exist. Perhaps it was deleted?"]

    def test_compliance_sees_both_teams(self, client, compliance, shared):
        page = _as(client, compliance).get(reverse("admin:collections_app_contactattempt_changelist"))
        assert "L-TEAM-A" in page.content.decode() and "L-TEAM-B" in page.content.decode()


class TestLiftingRestrictions:
    def _lift_action(self, client, user, restriction):
        return _as(client, user).post(
            reverse("admin:consent_app_restriction_changelist"),
            {"action": "lift_selected", "_selected_action": [restriction.pk]},
        )

    @pytest.mark.parametrize("kind", ["attorney", "cease_communication", "dispute", "bankruptcy", "deceased"])
    def test_supervisor_cannot_lift_a_compliance_kind_even_on_own_loan(self, client, supervisor, shared, kind):
        restriction = f.RestrictionFactory(borrower=shared["borrower"], loan=shared["loans"]["a"], kind=kind)
        self._lift_action(client, supervisor, restriction)
        restriction.refresh_from_db()
        assert restriction.lifted_at is None
        with pytest.raises(PermissionDenied):
            restriction_lift(restriction=restriction, actor=supervisor, reason="try")
        assert Restriction.objects.get(pk=restriction.pk).lifted_at is None

    def test_compliance_lifts_an_attorney_restriction(self, client, compliance, shared):
        restriction = f.RestrictionFactory(borrower=shared["borrower"], kind="attorney")
        self._lift_action(client, compliance, restriction)
        restriction.refresh_from_db()
        assert restriction.lifted_at is not None

    def test_supervisor_lifts_own_loans_temporary_hold(self, client, supervisor, shared):
        hold = shared["holds"]["a"]
        self._lift_action(client, supervisor, hold)
        hold.refresh_from_db()
        assert hold.lifted_at is not None

    def test_supervisor_cannot_lift_other_teams_hold_through_the_action(self, client, supervisor, shared):
        hold = shared["holds"]["b"]
        self._lift_action(client, supervisor, hold)
        hold.refresh_from_db()
        assert hold.lifted_at is None

    def test_borrower_wide_hold_across_teams_is_not_a_supervisors_to_lift(self, supervisor, compliance, shared):
        wide = f.RestrictionFactory(borrower=shared["borrower"], loan=None, kind="temporary_hold")
        with pytest.raises(PermissionDenied):
            restriction_lift(restriction=wide, actor=supervisor, reason="try")
        restriction_lift(restriction=wide, actor=compliance, reason="checked")
        assert Restriction.objects.get(pk=wide.pk).lifted_at is not None

    def test_borrower_wide_hold_within_one_team_is_the_supervisors(self, collector, supervisor):
        loan = f.LoanFactory(assigned_collector=collector)
        wide = f.RestrictionFactory(borrower=loan.borrower, loan=None, kind="temporary_hold")
        restriction_lift(restriction=wide, actor=supervisor, reason="spoke to borrower")
        assert Restriction.objects.get(pk=wide.pk).lifted_at is not None

    def test_integration_api_lifts_what_the_loan_system_says(self, integration_user, shared):
        restriction = f.RestrictionFactory(borrower=shared["borrower"], kind="cease_communication")
        restriction_lift(restriction=restriction, actor=integration_user, reason="api")
        assert Restriction.objects.get(pk=restriction.pk).lifted_at is not None

    def test_desk_lift_of_another_loans_hold_of_the_same_borrower_is_404(self, client, supervisor, shared):
        own_loan, other_hold = shared["loans"]["a"], shared["holds"]["b"]
        response = _as(client, supervisor).post(
            reverse("hold_lift", args=[own_loan.loan_ref, other_hold.pk]), {"reason": "x", "confirm": "on"}
        )
        assert response.status_code == 404
        other_hold.refresh_from_db()
        assert other_hold.lifted_at is None

    def test_desk_lift_of_own_loans_hold_works(self, client, supervisor, shared):
        own_loan, own_hold = shared["loans"]["a"], shared["holds"]["a"]
        _as(client, supervisor).post(reverse("hold_lift", args=[own_loan.loan_ref, own_hold.pk]),
                                     {"reason": "x", "confirm": "on"})
        own_hold.refresh_from_db()
        assert own_hold.lifted_at is not None
