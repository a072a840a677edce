"""Amounts: one parser for every amount a user or an integration types (a leaf module: it imports no service)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from .models.core import CURRENCY_DECIMALS


def parse_amount(value: Any, *, currency: str, field_name: str, allow_zero: bool = True) -> Decimal:
    """A non-negative amount with no more decimals than the currency has (CNY/USD/GBP: 2). A negative zero ("-0",
    "-0.00") is refused like any negative amount: the sign says the input is not what was meant."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field_name: _("Not an amount.")}) from exc
    if not amount.is_finite():
        raise ValidationError({field_name: _("Not an amount.")})
    if amount.is_signed() or (amount == 0 and not allow_zero):
        raise ValidationError({field_name: _("The amount must be positive.")})
    decimals = CURRENCY_DECIMALS.get(currency, 2)
    exponent = amount.as_tuple().exponent  # an int for every finite amount ("n"/"N"/"F" are NaN and infinity)
    if isinstance(exponent, int) and -exponent > decimals:
        raise ValidationError(
            {field_name: _("At most %(n)d decimal places for %(currency)s.") % {"n": decimals, "currency": currency}}
        )
    if amount >= Decimal("1e12"):
        raise ValidationError({field_name: _("The amount is too large.")})
    return amount



def format_amount(amount: Decimal, currency: str) -> str:
    """An amount for a message as the reader's language writes it (grouping and decimal marks from Django's
    localisation) with its ISO currency code after it: `34,800.00 CNY`, like the pages' `money` filter."""
    decimals = CURRENCY_DECIMALS.get(currency, 2)
    return f"{number_format(amount, decimal_pos=decimals, use_l10n=True, force_grouping=True)} {currency}".strip()


# Amounts per currency (`{"CNY": Decimal("34800.00"), "USD": ...}`): what the reports and the floor figures total,
# since a sum across currencies means nothing.
Amounts = dict[str, Decimal]


def add_amount(into: Amounts, currency: str, amount: Decimal | None) -> None:
    """Add `amount` (None: nothing) to `into`'s total in `currency`."""
    if amount is not None:
        into[currency] = into.get(currency, Decimal("0")) + amount


def add_amounts(into: Amounts, amounts: Amounts) -> None:
    for currency, amount in amounts.items():
        add_amount(into, currency, amount)
