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

from ..amounts import format_amount
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


# Each limit's code, the Terms attribute of the plan's figure, and the ApprovalLimit field (and Limits
# attribute) that holds the limit.
TERM_FIELDS = {
    "installments": "installments",
    "discount": "discount_percent",
    "first_payment_delay": "first_payment_delay_days",
}
LIMIT_FIELDS = {
    "installments": "max_installments",
    "discount": "max_discount_percent",
    "first_payment_delay": "max_first_payment_delay_days",
}


@dataclass(frozen=True)
class Breach:
    """One limit against a plan: its code (a key of LIMIT_FIELDS), the plan's figure and the limit's value."""

    code: str
    figure: int | Decimal
    limit: int | Decimal

    @property
    def exceeded(self) -> bool:
        return self.figure > self.limit


def breach_of(terms: Terms, limits: Limits, code: str) -> Breach:
    return Breach(code, getattr(terms, TERM_FIELDS[code]), getattr(limits, LIMIT_FIELDS[code]))


def breaches(terms: Terms, limits: Limits) -> list[Breach]:
    """The limits `terms` go beyond, each with the plan's figure and the limit, in LIMIT_FIELDS order."""
    return [breach for code in LIMIT_FIELDS if (breach := breach_of(terms, limits, code)).exceeded]


def exceeded(terms: Terms, limits: Limits) -> list[str]:
    """The limits `terms` go beyond, by code: installments, discount, first_payment_delay."""
    return [breach.code for breach in breaches(terms, limits)]


def required_level(terms: Terms, limits: dict[str, Limits]) -> tuple[str, list[str]]:
    """(who must approve, which of the collector's limits are exceeded)."""
    beyond_collector = exceeded(terms, limits[LimitRole.COLLECTOR])
    if not beyond_collector:
        return ApprovalLevel.COLLECTOR, []
    if not exceeded(terms, limits[LimitRole.SUPERVISOR]):
        return ApprovalLevel.SUPERVISOR, beyond_collector
    return ApprovalLevel.COMPLIANCE, beyond_collector


def validate_schedule(
    *, schedule: Sequence[tuple[date, Decimal]], agreed_total: Decimal, today: date, currency: str = ""
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
            "list": ", ".join(small), "min": format_amount(minimum, currency)})
    total = sum((a for _d, a in schedule), ZERO)
    if total != agreed_total:
        errors.append(_("The installments add up to %(sum)s, not the agreed total %(total)s.") % {
            "sum": format_amount(total, currency), "total": format_amount(agreed_total, currency)})
    return errors
