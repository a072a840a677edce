"""Deactivating a user ends their sessions and revokes their API tokens (in the service, so the admin's form and its
action do the same), audited; a collector with active loans is not deactivated until the loans are reassigned,
which the loan admin's reassign action does."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import api_token_create
from collections_app.models import ApiToken, Loan, LoanStatus, UserSession
from collections_app.staff.services import user_deactivate
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db):
    return f.User.objects.create_superuser("root", "root@example.invalid", f.PASSWORD)


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _change_form_data(user, **changes):
    """What the user admin's change form posts for `user`, with `changes`."""
    joined = timezone.localtime(user.date_joined)
    data = {
        "username": user.username, "first_name": user.first_name, "last_name": user.last_name, "email": user.email,
        "is_active": "on" if user.is_active else "", "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "date_joined_0": joined.strftime("%Y-%m-%d"), "date_joined_1": joined.strftime("%H:%M:%S"),
        "last_login_0": "", "last_login_1": "",
        # The user's own settings (StaffProfileInline), left as they are.
        "staff_profile-TOTAL_FORMS": "1", "staff_profile-INITIAL_FORMS": "0", "staff_profile-MIN_NUM_FORMS": "0",
        "staff_profile-MAX_NUM_FORMS": "1",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


# --- The service -------------------------------------------------------------------------------------------------


def test_deactivating_ends_every_session_of_the_user_and_only_theirs(supervisor, compliance, root):
    desk, laptop, colleague = _signed_in(supervisor), _signed_in(supervisor), _signed_in(compliance)
    assert UserSession.objects.filter(user_id=supervisor.pk).count() == 2

    user_deactivate(user=supervisor, actor=root)

    supervisor.refresh_from_db()
    assert not supervisor.is_active
    assert not UserSession.objects.filter(user_id=supervisor.pk).exists()
    assert colleague.get(reverse("team")).status_code == 200
    # Reactivating the account does not bring the old sessions back.
    supervisor.is_active = True
    supervisor.save(update_fields=["is_active"])
    for client in (desk, laptop):
        response = client.get(reverse("team"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_deactivating_revokes_the_users_api_tokens(integration_user, root):
    _row, token = api_token_create(user=integration_user, actor=root)
    api_token_create(user=integration_user, actor=root)

    user_deactivate(user=integration_user, actor=root)

    assert not ApiToken.objects.filter(user=integration_user, revoked_at__isnull=True).exists()
    integration_user.is_active = True
    integration_user.save(update_fields=["is_active"])
    response = Client().put("/api/v1/borrowers/B-GONE-1", {"full_name": "X Y", "jurisdiction": "CN", "phones": []},
                            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401


def test_deactivation_is_audited_with_what_it_ended(integration_user, root):
    _signed_in(integration_user)
    row, _token = api_token_create(user=integration_user, actor=root)

    user_deactivate(user=integration_user, actor=root)

    event = AuditEvent.objects.get(action=AuditAction.USER_DEACTIVATED)
    assert (event.subject_id, event.actor_id) == (str(integration_user.pk), root.pk)
    assert event.data == {"was_active": True, "sessions_ended": 1, "api_tokens_revoked": [row.pk]}


def test_a_collector_with_active_loans_is_not_deactivated(collector, loan, root):
    _signed_in(collector)
    with pytest.raises(ValidationError) as refused:
        user_deactivate(user=collector, actor=root)
    assert "1 active loan assigned" in str(refused.value)
    collector.refresh_from_db()
    assert collector.is_active
    assert UserSession.objects.filter(user_id=collector.pk).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.USER_DEACTIVATED).exists()


def test_loans_no_longer_active_do_not_block_deactivation(collector, loan, root):
    Loan.objects.filter(pk=loan.pk).update(status=LoanStatus.PAID)
    user_deactivate(user=collector, actor=root)
    collector.refresh_from_db()
    assert not collector.is_active


# --- The session table --------------------------------------------------------------------------------------------


def test_the_session_row_follows_the_user_through_sign_in_and_sign_out(client, collector):
    client.post(reverse("login"), {"username": collector.username, "password": f.PASSWORD})
    row = UserSession.objects.get(session_key=client.session.session_key)
    assert row.user_id == collector.pk
    client.post(reverse("logout"))
    assert not UserSession.objects.filter(user_id=collector.pk).exists()


# --- The user admin ----------------------------------------------------------------------------------------------


def test_unticking_active_in_the_user_admin_deactivates_through_the_service(client, root, supervisor):
    other = _signed_in(supervisor)
    client.force_login(root)
    url = reverse("admin:auth_user_change", args=[supervisor.pk])
    response = client.post(url, _change_form_data(supervisor, is_active="", first_name="Wei"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    supervisor.refresh_from_db()
    assert (supervisor.is_active, supervisor.first_name) == (False, "Wei")
    assert other.get(reverse("team")).status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.USER_DEACTIVATED, subject_id=str(supervisor.pk)).exists()


def test_the_user_admin_refuses_to_deactivate_a_collector_with_loans_and_links_to_reassigning(client, root,
                                                                                             collector, loan):
    client.force_login(root)
    url = reverse("admin:auth_user_change", args=[collector.pk])
    response = client.post(url, _change_form_data(collector, is_active=""))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["is_active"]
    assert "1 active loan assigned" in errors[0]
    link = reverse("admin:collections_app_loan_changelist") + f"?collector={collector.pk}&amp;status__exact=active"
    assert link in response.content.decode()
    collector.refresh_from_db()
    assert collector.is_active


def test_the_deactivate_action_deactivates_and_refuses_collectors_with_loans(client, root, supervisor, collector,
                                                                             loan):
    client.force_login(root)
    response = client.post(reverse("admin:auth_user_changelist"), {
        "action": "deactivate_users", "_selected_action": [supervisor.pk, collector.pk],
    })
    assert response.status_code == 302
    supervisor.refresh_from_db()
    collector.refresh_from_db()
    assert (supervisor.is_active, collector.is_active) == (False, True)
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("reassign" in m and f"?collector={collector.pk}" in m for m in shown), shown


def test_the_admin_does_not_list_second_factor_devices_and_their_keys():
    assert not admin.site.is_registered(TOTPDevice) and not admin.site.is_registered(StaticDevice)


# --- Reassigning in the loan admin -------------------------------------------------------------------------------


def test_the_loan_admin_reassigns_a_collectors_loans_then_the_collector_can_leave(client, root, supervisor,
                                                                                  collector, team_a):
    loans = [f.LoanFactory(assigned_collector=collector) for _ in range(3)]
    successor = f.make_collector("collector_next", team_a)
    departed = f.make_collector("collector_gone", team_a)
    departed.is_active = False
    departed.save(update_fields=["is_active"])
    client.force_login(root)
    changelist = reverse("admin:collections_app_loan_changelist") + f"?collector={collector.pk}"
    selected = {"action": "reassign", "_selected_action": [loan.pk for loan in loans]}

    page = client.post(changelist, selected)
    assert page.status_code == 200
    offered = list(page.context["form"].fields["collector"].queryset)
    assert successor in offered and departed not in offered

    response = client.post(changelist, {**selected, "apply": "1", "collector": successor.pk})
    assert response.status_code == 302
    assert set(Loan.objects.filter(pk__in=[x.pk for x in loans]).values_list("assigned_collector", flat=True)) == {
        successor.pk}
    assert AuditEvent.objects.filter(action=AuditAction.LOAN_ASSIGNED).count() == 3

    user_deactivate(user=collector, actor=root)
    collector.refresh_from_db()
    assert not collector.is_active


def test_a_supervisor_reassigns_only_to_collectors_of_their_team(client, supervisor, collector, other_collector):
    loan = f.LoanFactory(assigned_collector=collector)
    client.force_login(supervisor)
    page = client.post(reverse("admin:collections_app_loan_changelist"),
                       {"action": "reassign", "_selected_action": [loan.pk]})
    offered = list(page.context["form"].fields["collector"].queryset)
    assert collector in offered and other_collector not in offered
    response = client.post(reverse("admin:collections_app_loan_changelist"),
                           {"action": "reassign", "_selected_action": [loan.pk], "apply": "1",
                            "collector": other_collector.pk})
    assert response.status_code == 200  # the form again, with the error
    loan.refresh_from_db()
    assert loan.assigned_collector == collector
