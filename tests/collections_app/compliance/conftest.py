"""Two borrowers' files written through the services, each with its events: the one searched for and another that
must never come back. Wednesday 3 March 2027, 10:00 in Shanghai, inside the CN contact window."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from collections_app.contact.services import attempt_record
from collections_app.desk.services import note_add
from consent_app.services import PhoneInput, borrower_upsert, phone_add, phone_reveal, restriction_place
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)
NUMBER = "+8613800138000"
OTHER_NUMBER = "+8613900139000"


def make_file(*, borrower_ref: str, loan_ref: str, number: str, collector, actor, attempts: int = 1,
              external_prefix: str = ""):
    """A borrower (created through the service), a number, a consent, a hold, a loan assigned to `collector`,
    a note, a reveal of the number and `attempts` attempts reported by the dialer: each writes its event."""
    borrower, _created = borrower_upsert(borrower_ref=borrower_ref, full_name="王小芳", jurisdiction="CN",
                                         timezone_name="Asia/Shanghai", actor=actor)
    phone, _created = phone_add(borrower=borrower, phone=PhoneInput(number=number), actor=actor)
    f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=90))
    loan = f.LoanFactory(borrower=borrower, loan_ref=loan_ref, assigned_collector=collector,
                         due_date=MORNING.date() - dt.timedelta(days=40))
    restriction_place(borrower=borrower, loan=loan, kind="temporary_hold", starts_at=MORNING - dt.timedelta(days=9),
                      ends_at=MORNING - dt.timedelta(days=8), reason="asked for a week", actor=actor)
    note_add(loan=loan, text="borrower says payday is the 10th", actor=collector)
    phone_reveal(phone=phone, actor=collector, reason="dial")
    recorded = [
        attempt_record(external_id=f"{external_prefix or loan_ref}-{i}", loan=loan, phone=phone, channel="call",
                       direction="outbound", started_at=MORNING - dt.timedelta(days=1, minutes=i),
                       outcome="no_answer", actor=None, collector=collector)[0]
        for i in range(attempts)
    ]
    return {"borrower": borrower, "phone": phone, "loan": loan, "attempts": recorded}


@pytest.fixture
def morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def files(morning, collector, other_collector, compliance):
    return {
        "mine": make_file(borrower_ref="B-AUD-1", loan_ref="L-AUD-1", number=NUMBER, collector=collector,
                          actor=compliance),
        "other": make_file(borrower_ref="B-AUD-2", loan_ref="L-AUD-2", number=OTHER_NUMBER,
                           collector=other_collector, actor=compliance),
    }
