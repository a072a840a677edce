"""The evidence panel gives each attempt on the borrower's wall clock, with the place and the UTC offset, in both
languages, and the reviewer's own time beside it.

The desk is in Shanghai; the clock is Wednesday 2 December 2026, 05:58 UTC (13:58 at the desk)."""

import datetime as dt
import html

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import strip_tags

from collections_app.complaints.services import complaint_open
from collections_app.contact.services import attempt_record
from tests import factories as f

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 2, 5, 58, tzinfo=UTC)


def _complaint_about_a_call(collector, *, zone, jurisdiction, e164, started_at):
    borrower = f.BorrowerFactory(timezone=zone, jurisdiction=jurisdiction)
    loan = f.LoanFactory(assigned_collector=collector, borrower=borrower, due_date=dt.date(2026, 10, 1))
    phone = f.PhoneNumberFactory(borrower=borrower, e164=e164, region="US" if jurisdiction == "US" else "GB")
    f.ConsentFactory(phone=phone, granted_at=NOW - dt.timedelta(days=90))
    attempt, _created = attempt_record(
        external_id=f"D-{borrower.borrower_ref}", loan=loan, phone=phone, channel="call", direction="outbound",
        started_at=started_at, outcome="no_answer", collector=collector, actor=None,
    )
    return complaint_open(borrower=borrower, loan=loan, actor=collector, channel="phone",
                          category="inconvenient_time", description="Called me at night.", collectors=[collector],
                          attempts=[attempt])


def _evidence_text(client, user, complaint, language):
    client.force_login(user)
    response = client.get(reverse("complaints:detail", args=[complaint.pk]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    panel = response.content.decode().split('class="card evidence"')[1].split("</section>")[0]
    return " ".join(html.unescape(strip_tags(panel)).split())


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Chicago 12-01 23:30 (UTC−06:00) 13:30 (your time)"),
    ("zh-hans", "芝加哥 12-01 23:30 (UTC−06:00) 13:30（您的时间）"),
])
def test_a_night_call_to_chicago_is_shown_at_23_30_on_the_borrowers_clock(client, collector, compliance, language,
                                                                           expected):
    with time_machine.travel(NOW, tick=False):
        complaint = _complaint_about_a_call(collector, zone="America/Chicago", jurisdiction="US",
                                            e164="+13125550123", started_at=dt.datetime(2026, 12, 2, 5, 30, tzinfo=UTC))
        text = _evidence_text(client, compliance, complaint, language)
    assert expected in text
    assert "12-02 13:30 America/Chicago" not in text  # the desk's clock under the borrower's zone name


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "London 12-01 22:30 (UTC+00:00) 06:30 (your time)"),
    ("zh-hans", "伦敦 12-01 22:30 (UTC+00:00) 06:30（您的时间）"),
])
def test_a_late_call_to_london_is_shown_at_22_30_on_the_borrowers_clock(client, collector, compliance, language,
                                                                         expected):
    with time_machine.travel(NOW, tick=False):
        complaint = _complaint_about_a_call(collector, zone="Europe/London", jurisdiction="UK", e164="+442079460123",
                                            started_at=dt.datetime(2026, 12, 1, 22, 30, tzinfo=UTC))
        text = _evidence_text(client, compliance, complaint, language)
    assert expected in text
