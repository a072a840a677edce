"""Signing staff in, in tests, as they are after a real sign-in: with their second factor given.

tests/conftest.py makes `client.force_login(user)` do this for everyone who needs a second factor (supervisors,
compliance officers, staff, superusers), so a test of a staff page signs in as before. A test of the second
factor itself signs in through the login form, or with `force_login_without_second_factor`, and types codes made
by `totp_code`.
"""

from __future__ import annotations

import time
from typing import Any

import django_otp
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from collections_app.permissions import needs_second_factor

_django_force_login = Client.force_login


def confirmed_device(user: Any) -> TOTPDevice:
    """The user's authenticator (created, confirmed, when they have none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="test authenticator", confirmed=True)


def totp_code(device: TOTPDevice, at: float | None = None) -> str:
    """The code the user's authenticator app shows at `at` (now by default; time-machine moves it)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def mark_verified(client: Client, user: Any) -> TOTPDevice:
    """The client's session has given `user`'s second factor (what django_otp.login records)."""
    device = confirmed_device(user)
    session = client.session
    session[django_otp.DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def force_login_without_second_factor(client: Client, user: Any, backend: str | None = None) -> None:
    """Signed in with the password only: a staff user is then asked for the second factor."""
    _django_force_login(client, user, backend)


def force_login(client: Client, user: Any, backend: str | None = None) -> None:
    """Django's force_login, then the second factor for a user who needs one."""
    _django_force_login(client, user, backend)
    # A fresh instance: the role check caches the user's groups on the object, and the test's own object must not
    # keep a stale cache if it changes the user's groups later.
    if needs_second_factor(type(user)._default_manager.get(pk=user.pk)):
        mark_verified(client, user)
