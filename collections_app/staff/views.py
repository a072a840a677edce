"""The second-factor pages: enrolment on the first sign-in (QR code or key for any authenticator app, confirmed with
a code, then the recovery codes shown once) and verification at every sign-in after it; and the user's own settings
(the time zone they read the desk on)."""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import urlencode

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_otp.models import Device

from ..forms import add_service_errors
from ..http import AuthenticatedRequest
from ..permissions import needs_second_factor
from ..workday import collector_zone, reader_zone
from .forms import SecondFactorCodeForm, TimeZoneForm
from .selectors import has_second_factor, is_verified
from .services import second_factor_verify, staff_profile_set_time_zone, totp_device_confirm, totp_device_start

# django-otp throttles wrong codes: each one doubles the wait before the next is even checked.
WRONG_CODE = _("This code is not valid, or too many wrong codes were typed: wait a little and try again.")


def _asked_for(request: AuthenticatedRequest) -> str | None:
    """The page the user asked for (`next`), if it is on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return None


def _next_url(request: AuthenticatedRequest) -> str:
    """Where to go once verified: the page the user asked for, else the start page."""
    return _asked_for(request) or resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(page: str, request: AuthenticatedRequest) -> str:
    target = _asked_for(request)
    return reverse(page) + ("?" + urlencode({"next": target}) if target else "")


def _verified(request: AuthenticatedRequest, device: Device) -> None:
    # A new session key for the raised privilege (as at sign-in), then the device in the session.
    request.session.cycle_key()
    django_otp.login(request, device)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"  # a secret key or recovery codes: never kept by a cache
    return response


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_verify_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if is_verified(user) or not needs_second_factor(user):
        return redirect(_next_url(request))
    if not has_second_factor(user):
        return redirect(_with_next("staff:enrol", request))
    form = SecondFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = second_factor_verify(user=user, code=form.cleaned_data["code"])
        if device is not None:
            _verified(request, device)
            return redirect(_next_url(request))
        form.add_error("code", WRONG_CODE)
    return render(request, "collections_app/staff/verify.html", {"form": form, "next": _next_url(request)})


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_enrol_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not needs_second_factor(user):
        return redirect(_next_url(request))
    if has_second_factor(user):
        return redirect(_next_url(request) if is_verified(user) else _with_next("staff:verify", request))
    try:
        device = totp_device_start(user=user)
    except ValidationError:  # enrolled meanwhile, in another tab
        return redirect(_with_next("staff:verify", request))
    form = SecondFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = totp_device_confirm(device=device, code=form.cleaned_data["code"], actor=user)
        if codes is not None:
            _verified(request, device)
            shown = [f"{code[:4]}-{code[4:]}" for code in codes]
            return _no_store(render(request, "collections_app/staff/recovery_codes.html",
                                    {"codes": shown, "next": _next_url(request)}))
        form.add_error("code", WRONG_CODE)
    key = b32encode(device.bin_key).decode().rstrip("=")
    context = {
        "form": form,
        "next": _next_url(request),
        "qr_code": segno.make(device.config_url, error="m").svg_data_uri(scale=4),
        "secret_key": " ".join(key[i:i + 4] for i in range(0, len(key), 4)),
    }
    return _no_store(render(request, "collections_app/staff/enrol.html", context))


# --- The user's own settings ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request: AuthenticatedRequest) -> HttpResponse:
    """The clock the user reads the desk and the admin on: their own zone, or their team's. Any signed-in user, for
    themselves only (the change is audited)."""
    user = request.user
    team_zone = collector_zone(user)
    try:
        own = user.staff_profile.time_zone
    except ObjectDoesNotExist:
        own = ""
    form = TimeZoneForm(request.POST or None, team_zone=team_zone, initial={"time_zone": own})
    if request.method == "POST" and form.is_valid():
        try:
            staff_profile_set_time_zone(user=user, time_zone=form.cleaned_data["time_zone"], actor=user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Your time zone is saved."))
            return redirect("staff:settings")
    return render(request, "collections_app/staff/settings.html", {
        "form": form, "reader_zone": reader_zone(user), "team_zone": team_zone, "own_zone": own,
        "now": timezone.now(),
    }, status=422 if request.method == "POST" else 200)
