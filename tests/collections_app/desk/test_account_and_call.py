import datetime as dt

import pytest
from django.urls import reverse

from audit_app.models import AuditEvent
from collections_app.desk.services import attempts_close_stale
from collections_app.models import Callback, ContactAttempt, Note
from consent_app.models import PiiAccess, Restriction
from tests import factories as f
from tests.queries import tables

from .conftest import MORNING

pytestmark = pytest.mark.django_db


def _call(client, loan):
    phone = loan.borrower.phones.get()
    response = client.post(reverse("call_start", args=[loan.loan_ref]), {"phone_id": phone.pk})
    assert response.status_code == 302, response
    attempt = ContactAttempt.objects.get(loan=loan, outcome="")
    assert response["Location"] == reverse("attempt_detail", args=[attempt.pk])
    return attempt


def test_call_reserves_the_attempt_and_offers_a_tel_link_logged_as_a_data_access(client, collector, account):
    client.force_login(collector)
    attempt = _call(client, account)
    page = client.get(reverse("attempt_detail", args=[attempt.pk])).content.decode()
    assert f'href="tel:{attempt.phone.e164}"' in page
    assert AuditEvent.objects.filter(action="pii.revealed", subject_id=str(attempt.phone.pk),
                                     actor=collector).exists()


def test_recording_no_answer_shows_in_the_history(client, collector, account):
    client.force_login(collector)
    attempt = _call(client, account)
    response = client.post(reverse("attempt_detail", args=[attempt.pk]), {"outcome": "no_answer"})
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.outcome == "no_answer"
    body = client.get(reverse("loan_detail", args=[account.loan_ref])).content.decode()
    history = body.split('<table class="grid history">')[1].split("</table>")[0]
    row = history.split("<tbody>")[1]
    assert "No answer" in row and collector.username in row and "compliant" in row
    assert "No contact yet." not in history


def test_a_ceased_account_shows_the_reason_and_no_call_action(client, collector, account):
    f.RestrictionFactory(borrower=account.borrower, kind="cease_communication")
    client.force_login(collector)
    body = client.get(reverse("loan_detail", args=[account.loan_ref])).content.decode()
    assert "CEASE_COMMUNICATION" in body
    assert "data-call" not in body
    refused = client.post(reverse("call_start", args=[account.loan_ref]),
                          {"phone_id": account.borrower.phones.get().pk})
    assert refused.status_code == 302 and not ContactAttempt.objects.exists()


def test_a_second_collector_cannot_take_the_last_attempt_of_the_day(client, collector, account):
    phone = account.borrower.phones.get()
    for i in range(5):
        ContactAttempt.objects.create(loan=account, phone=phone, borrower=account.borrower, channel="call",
                                      started_at=MORNING - dt.timedelta(minutes=10 + i), outcome="no_answer",
                                      compliant=True)
    client.force_login(collector)
    _call(client, account)  # the sixth: allowed and reserved, still in progress
    client.post(reverse("call_start", args=[account.loan_ref]), {"phone_id": phone.pk})
    assert ContactAttempt.objects.filter(loan=account).count() == 6


def test_follow_ups_are_saved_with_the_outcome(client, collector, account):
    client.force_login(collector)
    attempt = _call(client, account)
    response = client.post(reverse("attempt_detail", args=[attempt.pk]), {
        "outcome": "conversation", "party": "debtor", "callback_at": "2027-03-22T10:30", "note": "works nights",
        "hold_until": "2027-03-20",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    callback = Callback.objects.get(loan=account)
    assert callback.due_at == dt.datetime(2027, 3, 22, 10, 30, tzinfo=MORNING.tzinfo)
    assert Note.objects.get(loan=account).text == "works nights"
    hold = Restriction.objects.get(borrower=account.borrower, kind="temporary_hold")
    assert hold.ends_at == dt.datetime(2027, 3, 20, tzinfo=MORNING.tzinfo)


def test_a_callback_outside_the_allowed_hours_is_refused_with_the_next_allowed_time(client, collector, account):
    client.force_login(collector)
    attempt = _call(client, account)
    response = client.post(reverse("attempt_detail", args=[attempt.pk]),
                           {"outcome": "conversation", "callback_at": "2027-03-03T23:00"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "Shanghai 03-04 08:00 (UTC+08:00)" in body  # the borrower's clock, with the place and the offset
    attempt.refresh_from_db()
    assert attempt.in_progress and not Callback.objects.exists()


def test_a_cease_request_during_a_call_blocks_further_contact(client, collector, account):
    client.force_login(collector)
    attempt = _call(client, account)
    client.post(reverse("attempt_detail", args=[attempt.pk]), {"outcome": "conversation", "cease": "on"})
    assert Restriction.objects.filter(borrower=account.borrower, kind="cease_communication").exists()
    body = client.get(reverse("loan_detail", args=[account.loan_ref])).content.decode()
    assert "CEASE_COMMUNICATION" in body and "data-call" not in body


def test_reveal_requires_a_reason_and_is_audited(client, collector, account):
    phone = account.borrower.phones.get()
    client.force_login(collector)
    url = reverse("phone_reveal", args=[account.loan_ref, phone.pk])
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 422 and phone.e164 not in refused.content.decode()
    shown = client.post(url, {"reason": "borrower asked to confirm"})
    assert phone.e164 in shown.content.decode()
    event = AuditEvent.objects.get(action="pii.revealed", subject_id=str(phone.pk))
    access = PiiAccess.objects.get(pk=event.data["access_id"])
    assert event.actor == collector and access.actor == collector and access.reason == "borrower asked to confirm"
    assert "reason" not in event.data


def test_an_abandoned_call_is_closed_after_the_timeout_and_still_counts(client, collector, account, morning):
    client.force_login(collector)
    attempt = _call(client, account)
    assert attempts_close_stale() == 0
    morning.shift(dt.timedelta(minutes=31))
    assert attempts_close_stale() == 1
    assert attempts_close_stale() == 0
    attempt.refresh_from_db()
    assert attempt.outcome == "no_answer"


def test_a_supervisor_reassigns_within_their_team(client, supervisor, collector, account):
    other = f.make_collector("collector_a3", supervisor.supervised_teams.get())
    client.force_login(supervisor)
    client.post(reverse("team_reassign"), {"loan_ref": account.loan_ref, "collector": other.username})
    account.refresh_from_db()
    assert account.assigned_collector == other
    assert AuditEvent.objects.filter(action="loan.assigned", subject_id=str(account.pk)).exists()


def test_the_team_page_counts_blocked_accounts_by_reason(client, supervisor, collector, account):
    from collections_app.desk.services import worklist_build

    f.RestrictionFactory(borrower=account.borrower, kind="dispute")
    worklist_build(collector=collector)
    client.force_login(supervisor)
    body = client.get(reverse("team")).content.decode()
    assert "DISPUTE_PENDING" in body


def test_a_callback_inside_a_hold_just_agreed_is_refused(client, collector, account):
    client.force_login(collector)
    attempt = _call(client, account)
    response = client.post(reverse("attempt_detail", args=[attempt.pk]), {
        "outcome": "conversation", "callback_at": "2027-03-04T10:30", "hold_until": "2027-03-20"})
    assert response.status_code == 422
    assert "Shanghai 03-20 08:00 (UTC+08:00)" in response.content.decode()
    # Nothing is half-saved: the hold placed earlier in the same outcome is rolled back too.
    assert not Restriction.objects.filter(borrower=account.borrower).exists()


@pytest.mark.parametrize("numbers", [1, 5])
def test_checking_a_callback_time_takes_nine_queries_whatever_the_numbers(collector, account, numbers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from collections_app.contact.selectors import contact_snapshots_for_loans
    from collections_app.desk.services import callback_schedule

    for _ in range(numbers - 1):
        f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=account.borrower))
    loan = type(account).objects.select_related("borrower").get(pk=account.pk)
    # The incident pauses are read once per policy generation and process (contact/pauses.py): the first decision
    # after the fixtures' policy change reads them, the next ones do not.
    contact_snapshots_for_loans([loan], MORNING)
    with CaptureQueriesContext(connection) as queries:
        callback = callback_schedule(loan=loan, collector=collector, due_at=MORNING + dt.timedelta(hours=1),
                                     actor=collector)
    assert tables(queries) == [
        "SAVEPOINT",
        # The snapshot of every number of the borrower, to check the callback time against the policy (the version
        # comes with the policy generation, and the incident pauses from the process's copy):
        "collections_app_contactpolicyversion",
        "consent_app_phonenumber",
        "consent_app_consent",
        "consent_app_restriction",
        "consent_app_inconvenienttime",
        "collections_app_contactattempt",
        # The callback, its history row and its audit event:
        "INSERT collections_app_callback",
        "INSERT collections_app_historicalcallback",
        "INSERT audit_app_auditevent",
        "RELEASE SAVEPOINT",
    ]
    assert Callback.objects.get() == callback


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_account_page_writes_every_date_one_way_and_amounts_with_their_currency(client, collector, account,
                                                                                    language):
    account.due_date = dt.date(2027, 2, 11)
    account.balance = "34800.00"
    account.save(update_fields=["due_date", "balance"])
    client.force_login(collector)
    client.cookies["django_language"] = language
    page = client.get(reverse("loan_detail", args=[account.loan_ref]), HTTP_ACCEPT_LANGUAGE=language)
    body = page.content.decode()
    assert "2027-02-11" in body and "2027年2月11日" not in body and "Feb. 11, 2027" not in body
    assert "34,800.00 CNY" in body
