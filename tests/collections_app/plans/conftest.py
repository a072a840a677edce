"""Plans tests run at a fixed instant (Wednesday 3 March 2027, 10:00 Shanghai); move the clock with
`now.shift(...)` / `now.move_to(...)`."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from tests import factories as f
from tests.collections_app.plans.helpers import NOW


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def loan(collector):
    """An overdue CNY loan with a 6000.00 balance, assigned to `collector` (team A, supervised by `supervisor`)."""
    return f.LoanFactory(assigned_collector=collector, balance=Decimal("6000.00"),
                         due_date=NOW.date() - dt.timedelta(days=45))


@pytest.fixture
def other_loan(other_collector):
    return f.LoanFactory(assigned_collector=other_collector, balance=Decimal("6000.00"),
                         due_date=NOW.date() - dt.timedelta(days=45))
