"""Builders shared by the plans tests (imported by the tests; conftest holds the fixtures)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from collections_app.loans.services import payment_record

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 3 March 2027, 10:00 in Shanghai.
NOW = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def schedule(total: str | Decimal, n: int, *, first: int = 7, every: int = 30) -> list[tuple[dt.date, Decimal]]:
    """`n` installments adding up to `total`, the first in `first` days, then every `every` days; the remainder
    of the equal split goes on the last one."""
    total = Decimal(total)
    part = (total / n).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    amounts = [part] * (n - 1) + [total - part * (n - 1)]
    return [(days(first + i * every), amount) for i, amount in enumerate(amounts)]


_counter = iter(range(1, 10**6))


def pay(loan, amount, *, at: dt.datetime | None = None, external_id: str = "", actor=None):
    """A payment through payment_record, the service behind the API, admin and CSV import."""
    payment, _created = payment_record(
        external_id=external_id or f"PAY-{next(_counter)}", loan=loan, amount=Decimal(str(amount)),
        paid_at=at or dt.datetime.now(tz=SHANGHAI), actor=actor,
    )
    loan.refresh_from_db()
    return payment
