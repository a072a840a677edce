"""The rules a proposed plan must meet: approval limits and who must approve, and the installment schedule.

No queries and no clock: the limits per role come from services.approval_limits() and `today` is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from ..models import ApprovalLevel, LimitRole

ZERO = Decimal("0")


@dataclass(frozen=True)
class Limits:
    max_installments: int
    max_discount_percent: Decimal
    max_first_payment_delay_days: int


@dataclass(frozen=True)
class Terms:
    """What the approval limits judge."""

    installments: int
    discount_percent: Decimal  # exact, not rounded: 10.001 % is beyond a 10 % limit
    first_payment_delay_days: int


def exceeded(terms: Terms, limits: Limits) -> list[str]:
    """The limits `terms` go beyond, by code: installments, discount, first_payment_delay."""
    codes = []
    if terms.installments > limits.max_installments:
        codes.append("installments")
    if terms.discount_percent > limits.max_discount_percent:
        codes.append("discount")
    if terms.first_payment_delay_days > limits.max_first_payment_delay_days:
        codes.append("first_payment_delay")
    return codes


def required_level(terms: Terms, limits: dict[str, Limits]) -> tuple[str, list[str]]:
    """(who must approve, which of the collector's limits are exceeded)."""
    beyond_collector = exceeded(terms, limits[LimitRole.COLLECTOR])
    if not beyond_collector:
        return ApprovalLevel.COLLECTOR, []
    if not exceeded(terms, limits[LimitRole.SUPERVISOR]):
        return ApprovalLevel.SUPERVISOR, beyond_collector
    return ApprovalLevel.COMPLIANCE, beyond_collector


def validate_schedule(
    *, schedule: Sequence[tuple[date, Decimal]], agreed_total: Decimal, today: date
) -> list[str]:
    errors = []
    if not schedule:
        return [_("A plan needs at least one installment.")]
    if len(schedule) > settings.PLAN_MAX_INSTALLMENTS:
        errors.append(_("At most %(n)d installments.") % {"n": settings.PLAN_MAX_INSTALLMENTS})
    dates = [d for d, _a in schedule]
    if any(b <= a for a, b in zip(dates, dates[1:], strict=False)):
        errors.append(_("Installment dates must be in increasing order, one installment per date."))
    if dates[0] < today:
        errors.append(_("The first installment is dated in the past."))
    elif (dates[0] - today).days > settings.PLAN_MAX_FIRST_PAYMENT_DELAY_DAYS:
        errors.append(_("The first payment may be at most %(n)d days away.") % {
            "n": settings.PLAN_MAX_FIRST_PAYMENT_DELAY_DAYS})
    if (max(dates) - today).days > settings.PLAN_MAX_TERM_DAYS:
        errors.append(_("The plan may last at most %(n)d days.") % {"n": settings.PLAN_MAX_TERM_DAYS})
    # The minimum never exceeds the total, so a small balance can still be settled in one payment.
    minimum = min(settings.PLAN_MIN_INSTALLMENT, agreed_total)
    small = [str(i) for i, (_d, amount) in enumerate(schedule, start=1) if amount < minimum]
    if small:
        errors.append(_("Installments %(list)s are below the minimum of %(min)s.") % {
            "list": ", ".join(small), "min": minimum})
    total = sum((a for _d, a in schedule), ZERO)
    if total != agreed_total:
        errors.append(_("The installments add up to %(sum)s, not the agreed total %(total)s.") % {
            "sum": f"{total:.2f}", "total": f"{agreed_total:.2f}"})
    return errors
