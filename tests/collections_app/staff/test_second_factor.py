"""Staff sign in with a second factor: supervisors, compliance officers and staff enrol an authenticator app at
their first sign-in (and get recovery codes once), then give a code at every sign-in before any page but sign-out;
the admin is behind it too. Collectors and the integration API are not asked."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import api_token_create
from collections_app.models import UserSession
from collections_app.staff.services import RECOVERY_CODE_COUNT, second_factor_reset
from tests import factories as f
from tests.second_factor import confirmed_device, force_login_without_second_factor, totp_code

pytestmark = pytest.mark.django_db

VERIFY = reverse("staff:verify")
ENROL = reverse("staff:enrol")


def _sign_in(client, user, next_url=""):
    """The sign-in form, with the password only."""
    data = {"username": user.username, "password": f.PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post(reverse("login"), data)
    assert response.status_code == 302
    return client.get(response["Location"])


def _enrol(client, user):
    """Enrol through the page: read the device the page shows and type the code the app would show."""
    assert client.get(ENROL).status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    return client.post(ENROL, {"code": totp_code(device), "next": reverse("team")})


def _recovery_codes(response) -> list[str]:
    return re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", response.content.decode())


# --- Enrolment at the first sign-in ------------------------------------------------------------------------------


def test_a_supervisor_without_a_device_is_sent_to_enrolment_after_the_password(client, supervisor):
    response = _sign_in(client, supervisor)
    assert response.status_code == 302
    assert response["Location"].startswith(ENROL + "?next=")


def test_the_enrolment_page_shows_a_qr_code_and_the_key_of_a_new_authenticator(client, supervisor):
    _sign_in(client, supervisor)
    response = client.get(ENROL)
    body = response.content.decode()
    device = TOTPDevice.objects.get(user=supervisor)
    assert not device.confirmed
    assert 'src="data:image/svg+xml' in body
    key = re.search(r"data-secret-key>([A-Z2-7 ]+)<", body).group(1).replace(" ", "")
    assert device.config_url.split("secret=")[1].startswith(key)
    assert response["Cache-Control"] == "no-store"
    # Reloading shows the same key: the QR code already scanned stays valid.
    client.get(ENROL)
    assert TOTPDevice.objects.filter(user=supervisor).count() == 1


def test_confirming_with_the_apps_code_enrols_shows_ten_recovery_codes_once_and_opens_the_desk(client, supervisor):
    _sign_in(client, supervisor)
    response = _enrol(client, supervisor)
    assert response.status_code == 200
    codes = _recovery_codes(response)
    assert len(codes) == RECOVERY_CODE_COUNT == 10
    assert response["Cache-Control"] == "no-store"
    assert TOTPDevice.objects.get(user=supervisor).confirmed
    stored = set(StaticDevice.objects.get(user=supervisor).token_set.values_list("token", flat=True))
    assert stored == {code.replace("-", "") for code in codes}
    assert client.get(reverse("team")).status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.SECOND_FACTOR_ENROLLED)
    assert event.subject_id == str(supervisor.pk) and event.data["recovery_codes"] == 10


def test_a_wrong_code_does_not_enrol_and_counts_toward_throttling(client, supervisor):
    _sign_in(client, supervisor)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=supervisor)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(ENROL, {"code": wrong})
    assert response.status_code == 200
    assert "This code is not valid" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and device.throttling_failure_count == 1
    assert client.get(reverse("team"))["Location"].startswith(ENROL)


def test_the_enrolment_page_cannot_add_an_authenticator_to_an_enrolled_account(client, supervisor):
    confirmed_device(supervisor)
    _sign_in(client, supervisor)
    response = client.get(ENROL)
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert client.post(ENROL, {"code": "123456"})["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=supervisor).count() == 1


# --- Every sign-in after it --------------------------------------------------------------------------------------


def test_an_enrolled_supervisor_gives_the_code_before_any_page_and_lands_where_they_asked(client, supervisor):
    device = confirmed_device(supervisor)
    response = _sign_in(client, supervisor, next_url=reverse("plans:approvals"))
    assert response["Location"] == VERIFY + "?next=" + reverse("plans:approvals").replace("/", "%2F")
    for page in (reverse("home"), reverse("team"), reverse("complaints:list"), reverse("admin:index")):
        assert client.get(page)["Location"].startswith(VERIFY + "?next="), page
    response = client.post(VERIFY, {"code": totp_code(device), "next": reverse("plans:approvals")})
    assert response.status_code == 302 and response["Location"] == reverse("plans:approvals")
    assert client.get(reverse("team")).status_code == 200


def test_a_wrong_code_is_refused_and_the_pages_stay_closed(client, compliance):
    device = confirmed_device(compliance)
    _sign_in(client, compliance)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(VERIFY, {"code": wrong})
    assert response.status_code == 200 and "This code is not valid" in response.content.decode()
    assert client.get(reverse("home"))["Location"].startswith(VERIFY)


def test_verifying_changes_the_session_key(client, compliance):
    device = confirmed_device(compliance)
    _sign_in(client, compliance)
    before = client.session.session_key
    client.post(VERIFY, {"code": totp_code(device)})
    assert client.session.session_key != before


def test_a_recovery_code_signs_in_once_and_its_use_is_audited(client, supervisor):
    _sign_in(client, supervisor)
    codes = _recovery_codes(_enrol(client, supervisor))
    client.post(reverse("logout"))

    _sign_in(client, supervisor)
    response = client.post(VERIFY, {"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302
    assert client.get(reverse("team")).status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.RECOVERY_CODE_USED)
    assert event.data["left"] == RECOVERY_CODE_COUNT - 1
    client.post(reverse("logout"))

    _sign_in(client, supervisor)
    assert client.post(VERIFY, {"code": codes[0]}).status_code == 200  # used up
    assert client.get(reverse("team"))["Location"].startswith(VERIFY)


def test_the_next_page_must_be_on_this_site(client, compliance):
    device = confirmed_device(compliance)
    _sign_in(client, compliance)
    response = client.post(VERIFY, {"code": totp_code(device), "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


def test_an_htmx_request_is_sent_to_the_whole_verification_page(client, supervisor, loan):
    confirmed_device(supervisor)
    _sign_in(client, supervisor)
    response = client.get(reverse("team"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith(VERIFY)


def test_signing_out_and_switching_language_need_no_second_factor(client, supervisor):
    confirmed_device(supervisor)
    _sign_in(client, supervisor)
    assert client.post(reverse("set_language"), {"language": "en", "next": "/"}).status_code == 302
    client.post(reverse("logout"))
    assert "_auth_user_id" not in client.session


# --- The admin ---------------------------------------------------------------------------------------------------


def test_the_admin_asks_for_the_second_factor_on_every_page(client, compliance, loan):
    confirmed_device(compliance)
    force_login_without_second_factor(client, compliance)
    for url in (reverse("admin:index"), reverse("admin:collections_app_loan_changelist"),
                reverse("admin:collections_app_loan_change", args=[loan.pk]), reverse("admin:password_change")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(VERIFY), url


def test_a_superuser_without_a_role_group_is_asked_too(client):
    root = f.User.objects.create_superuser("root", "root@example.invalid", f.PASSWORD)
    _sign_in(client, root, next_url=reverse("admin:index"))
    assert client.get(reverse("admin:index"))["Location"].startswith(ENROL)


def test_the_admin_opens_once_verified(client, compliance):
    device = confirmed_device(compliance)
    _sign_in(client, compliance)
    client.post(VERIFY, {"code": totp_code(device)})
    assert client.get(reverse("admin:index")).status_code == 200


# --- Who is not asked --------------------------------------------------------------------------------------------


def test_a_collector_is_not_asked_for_a_second_factor(client, collector, loan):
    response = _sign_in(client, collector)
    assert response["Location"] == reverse("worklist")
    assert client.get(reverse("loan_detail", args=[loan.loan_ref])).status_code == 200
    assert not TOTPDevice.objects.filter(user=collector).exists()


def test_the_integration_api_is_unaffected(client, compliance, integration_user):
    _row, token = api_token_create(user=integration_user, actor=None)
    force_login_without_second_factor(client, compliance)  # an unverified session cookie on the same client
    response = client.put("/api/v1/borrowers/B-OTP-1", {"full_name": "Test Person", "jurisdiction": "CN",
                                                        "phones": []},
                          content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code in (200, 201)


def test_the_requirement_can_be_turned_off(client, supervisor, settings):
    settings.OTP_REQUIRED_FOR_STAFF = False
    force_login_without_second_factor(client, supervisor)
    assert client.get(reverse("team")).status_code == 200


# --- Reset and the test helper ----------------------------------------------------------------------------------


def test_a_reset_removes_the_devices_ends_the_sessions_and_enrolment_starts_again(client, supervisor, compliance):
    client.force_login(supervisor)
    StaticDevice.objects.create(user=supervisor, name="recovery codes", confirmed=True)
    second_factor_reset(user=supervisor, actor=compliance)
    assert not TOTPDevice.objects.filter(user=supervisor).exists()
    assert not StaticDevice.objects.filter(user=supervisor).exists()
    assert not UserSession.objects.filter(user_id=supervisor.pk).exists()
    assert client.get(reverse("team")).status_code == 302  # signed out
    assert _sign_in(client, supervisor)["Location"].startswith(ENROL)
    assert AuditEvent.objects.get(action=AuditAction.SECOND_FACTOR_RESET).actor_id == compliance.pk


def test_force_login_in_tests_gives_staff_their_second_factor_and_collectors_none(client, supervisor, collector):
    client.force_login(supervisor)
    assert client.get(reverse("team")).status_code == 200
    client.force_login(collector)
    assert client.get(reverse("worklist")).status_code == 200
    assert not TOTPDevice.objects.filter(user=collector).exists()
