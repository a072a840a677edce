"""Writes to staff accounts (STYLE.md §1): the second factor (an authenticator app's TOTP device and single-use
recovery codes, both django-otp devices), its verification at sign-in, its reset, deactivation, and the clock a
user reads the desk on (their own time zone).

A wrong code is an answer, not an error: the verifying services return None and the device's failure counter
(django-otp's throttling, which doubles the wait after each failure) is committed. Raising inside the transaction
would roll the counter back and leave guessing unthrottled.
"""

from __future__ import annotations

from typing import Any

import django_otp
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.history import with_change_reason
from consent_app.validators import canonical_timezone

from ..api.auth import api_token_revoke
from ..models import ApiToken, StaffProfile, UserSession
from ..permissions import may_set_time_zone
from .selectors import has_second_factor, loans_blocking_deactivation

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = len(StaticToken.random_token())  # 8 characters of base32
AUTHENTICATOR_NAME = "authenticator app"
RECOVERY_CODES_NAME = "recovery codes"


def normalise_code(code: str) -> str:
    """What people type, as stored: no spaces or dashes (recovery codes are shown as `abcd-efgh`), lower case."""
    return "".join(c for c in (code or "") if c not in " -\t").lower()


def totp_device_start(*, user: Any) -> TOTPDevice:
    """The authenticator device being enrolled: unconfirmed until the user types a code it generates, and the same
    one on every visit to the enrolment page (the QR code already scanned stays valid). Not audited: an unconfirmed
    device verifies nobody; the confirmation is the event. Refused once the user has a second factor (a new one
    comes only after second_factor_reset), so a stolen password cannot add an authenticator."""
    if has_second_factor(user):
        raise ValidationError(_("A second factor is already set up for this account."))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, code: str, actor: Any) -> list[str] | None:
    """Confirm the device being enrolled with a code from the authenticator app and issue the recovery codes.
    Returns the codes (stored by django-otp for verification; the caller shows them once), or None when the code
    is wrong."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    user = device.user
    if device.confirmed or has_second_factor(user):
        raise ValidationError(_("A second factor is already set up for this account."))
    if not device.verify_token(normalise_code(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    codes = _recovery_codes_issue(user)
    audit_log(
        action=AuditAction.SECOND_FACTOR_ENROLLED, subject=user, actor=actor,
        data={"device_id": device.pk, "recovery_codes": len(codes)},
    )
    return codes


def _recovery_codes_issue(user: Any) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_CODES_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def second_factor_verify(*, user: Any, code: str) -> Device | None:
    """The device that accepts `code`: a code of the authenticator app, or one of the recovery codes (used up, and
    audited with how many are left). None when neither accepts it. Only the kind of device the code's shape names
    is tried, so a mistyped authenticator code does not count as a failed recovery code."""
    code = normalise_code(code)
    looks_like_totp = code.isdigit() and len(code) < RECOVERY_CODE_LENGTH
    devices: list[Device] = list(
        TOTPDevice.objects.devices_for_user(user, confirmed=True) if looks_like_totp
        else StaticDevice.objects.devices_for_user(user, confirmed=True)
    )
    for device in devices:
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is None:
            continue
        if isinstance(verified, StaticDevice):
            audit_log(
                action=AuditAction.RECOVERY_CODE_USED, subject=user, actor=user,
                data={"device_id": verified.pk, "left": verified.token_set.count()},
            )
        return verified
    return None


@transaction.atomic
def second_factor_reset(*, user: Any, actor: Any) -> Any:
    """Remove the user's authenticator and recovery codes (a lost phone) and end their sessions: at the next sign-in
    they enrol again."""
    removed = [device.persistent_id for device in django_otp.devices_for_user(user, confirmed=None)]
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    sessions_ended, _by_model = UserSession.objects.filter(user_id=user.pk).delete()
    audit_log(
        action=AuditAction.SECOND_FACTOR_RESET, subject=user, actor=actor,
        data={"devices": sorted(removed), "sessions_ended": sessions_ended},
    )
    return user


def deactivation_refusal(user: Any, count: int) -> str:
    return ngettext(
        "%(user)s still has %(count)d active loan assigned: reassign it before deactivating the account.",
        "%(user)s still has %(count)d active loans assigned: reassign them before deactivating the account.",
        count,
    ) % {"user": user.get_username(), "count": count}


@transaction.atomic
def user_deactivate(*, user: Any, actor: Any) -> Any:
    """Deactivate an account: it can no longer sign in, its sessions end at once (a reactivated account does not
    get them back) and its API tokens are revoked. Refused while active loans are assigned to the user: they would
    drop off every worklist. Deactivating an inactive account again still ends what is left of its access."""
    user = get_user_model()._default_manager.select_for_update().get(pk=user.pk)
    blocking = loans_blocking_deactivation(user).count()
    if blocking:
        raise ValidationError({"is_active": deactivation_refusal(user, blocking)})
    was_active = user.is_active
    if was_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    sessions_ended, _by_model = UserSession.objects.filter(user_id=user.pk).delete()
    tokens = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("pk"))
    for token in tokens:
        api_token_revoke(token=token, actor=actor)
    audit_log(
        action=AuditAction.USER_DEACTIVATED, subject=user, actor=actor,
        data={"was_active": was_active, "sessions_ended": sessions_ended, "api_tokens_revoked": [t.pk for t in tokens]},
    )
    return user


@transaction.atomic
def staff_profile_set_time_zone(*, user: Any, time_zone: str, actor: Any) -> StaffProfile:
    """Set the zone `user` reads the desk and the admin on (their own clock: times shown, dates typed), "" for their
    team's. A legacy name is stored as the zone it stands for (`US/Eastern` as `America/New_York`); anything that
    is not a place's zone is refused. The user themselves, or a superuser in the user admin. Not the working day:
    a collector's worklist day stays their team's (collections_app.workday)."""
    if not may_set_time_zone(actor, user):
        raise PermissionDenied(_("You may not change this user's time zone."))
    try:
        time_zone = canonical_timezone((time_zone or "").strip())
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from exc
    profile, _created = StaffProfile.objects.select_for_update().get_or_create(user=user)
    if profile.time_zone == time_zone:
        return profile
    old = profile.time_zone
    profile.time_zone = time_zone
    with_change_reason(profile, "time zone changed")
    profile.save(update_fields=["time_zone"])
    audit_log(action=AuditAction.TIME_ZONE_CHANGED, subject=user, actor=actor, data={"from": old, "to": time_zone})
    return profile
