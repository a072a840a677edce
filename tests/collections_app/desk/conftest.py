import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 3 March 2027, 10:00 in Shanghai: inside the CN contact window.
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def make_account(collector, *, consent=True, due_days=45, balance="6000.00", **borrower):
    loan = f.LoanFactory(
        assigned_collector=collector, due_date=MORNING.date() - dt.timedelta(days=due_days), balance=balance,
        borrower=f.BorrowerFactory(**borrower),
    )
    phone = f.PhoneNumberFactory(borrower=loan.borrower)
    if consent:
        f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=90))
    return loan


@pytest.fixture
def account(collector, morning):
    return make_account(collector)
