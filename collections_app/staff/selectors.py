"""Reads about staff accounts: their second-factor devices and what stands in the way of deactivating them."""

from __future__ import annotations

from typing import Any

import django_otp
from django.db.models import QuerySet

from ..models import Loan, LoanStatus


def has_second_factor(user: Any) -> bool:
    """The user has a confirmed device (an authenticator, or recovery codes left): they verify, never enrol."""
    return bool(django_otp.user_has_device(user, confirmed=True))


def is_verified(user: Any) -> bool:
    """The user gave their second factor in this session (django_otp's OTPMiddleware sets `is_verified`)."""
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False


def loans_blocking_deactivation(user: Any) -> QuerySet[Loan]:
    """Active loans still assigned to the user: nobody would work them once the account is deactivated."""
    return Loan.objects.filter(assigned_collector_id=user.pk, status=LoanStatus.ACTIVE)
