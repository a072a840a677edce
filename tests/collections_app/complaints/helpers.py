"""Shared helpers of the complaint tests. The clock: Wednesday 3 March 2027, 10:00 in Shanghai, inside the CN
contact window."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine

from collections_app.complaints.services import complaint_open
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)


def make_cn_loan(collector, **kwargs):
    """An overdue CN loan assigned to `collector` with one number consented since 60 days before MORNING."""
    with time_machine.travel(MORNING - dt.timedelta(days=60), tick=False):
        loan = f.LoanFactory(assigned_collector=collector, due_date=dt.date(2027, 1, 15), **kwargs)
        phone = f.PhoneNumberFactory(borrower=loan.borrower)
        f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=60))
    return loan


def phone_of(loan):
    return loan.borrower.phones.select_related("third_party").get()


def open_complaint(loan, actor, **kwargs):
    values = {"channel": "phone", "category": "contact_frequency", "description": "Called me nine times today."}
    values.update(kwargs)
    borrower = values.pop("borrower", loan.borrower)
    return complaint_open(borrower=borrower, loan=loan, actor=actor, **values)
