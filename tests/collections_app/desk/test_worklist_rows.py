"""What a collector reads on a worklist row and during a call: the borrower's shortened name, the last contact and
its outcome, the newest promise, the attempts the policy still allows today on each number (the engine's count),
a Call control that says what it does; the balance and past promises on the call page; "save and next"."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from collections_app.desk.services import worklist_build
from collections_app.models import ContactAttempt, Promise, WorklistEntry
from collections_app.templatetags.desk_tags import short_name

from .conftest import MORNING, make_account

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("full", "short"), [
    ("王小芳", "王*芳"), ("王芳", "王*"), ("欧阳娜娜", "欧**娜"), ("John Smith", "J*** S****"), ("", ""),
])
def test_a_name_is_shortened_for_lists(full, short):
    assert short_name(full) == short


def _attempt(loan, minutes_ago, outcome):
    phone = loan.borrower.phones.get()
    return ContactAttempt.objects.create(
        loan=loan, phone=phone, borrower=loan.borrower, channel="call", direction="outbound",
        started_at=MORNING - dt.timedelta(minutes=minutes_ago), outcome=outcome, compliant=True, source="desk",
    )


def test_a_row_shows_name_last_contact_promise_and_attempts_left(client, collector, morning):
    loan = make_account(collector, full_name="王小芳")
    _attempt(loan, 90, "no_answer")
    _attempt(loan, 30, "voicemail")
    Promise.objects.create(loan=loan, collector=collector, amount=Decimal("1500.00"),
                           due_date=MORNING.date() + dt.timedelta(days=5), created_at=MORNING - dt.timedelta(days=1))
    worklist_build(collector=collector)
    assert WorklistEntry.objects.get(loan=loan).decisions[0]["left"] == {"daily_attempts": 4,
                                                                         "daily_conversations": 3}
    client.force_login(collector)
    body = client.get(reverse("worklist")).content.decode()
    row = body[body.index(f'data-href="{reverse("loan_detail", args=[loan.loan_ref])}"'):]
    row = row[:row.index("</tr>")]
    assert "王*芳" in row and "王小芳" not in body
    assert "09:30</time>" in row and "Voicemail" in row  # the last contact, on the collector's clock
    assert "Pending" in row and "1,500.00 CNY" in row and "03-08" in row
    assert "4 attempts left today" in row
    assert 'aria-label="Start a call to +86 ' in row and "☎ Call" in row


def test_save_and_next_opens_the_next_contactable_account(client, collector, morning):
    first = make_account(collector, balance="9000.00")
    second = make_account(collector, balance="5000.00")
    worklist_build(collector=collector)
    client.force_login(collector)
    client.post(reverse("call_start", args=[first.loan_ref]), {"phone_id": first.borrower.phones.get().pk})
    attempt = ContactAttempt.objects.get(loan=first)
    page = client.get(reverse("attempt_detail", args=[attempt.pk])).content.decode()
    assert "data-save-next" in page and "9,000.00 CNY" in page
    response = client.post(reverse("attempt_detail", args=[attempt.pk]),
                           {"outcome": "no_answer", "save_next": "1"})
    assert response["Location"] == reverse("loan_detail", args=[second.loan_ref])
    # The last one: back to the list, saying so.
    client.post(reverse("call_start", args=[second.loan_ref]), {"phone_id": second.borrower.phones.get().pk})
    attempt = ContactAttempt.objects.get(loan=second)
    response = client.post(reverse("attempt_detail", args=[attempt.pk]), {"outcome": "no_answer", "save_next": "1"},
                           follow=True)
    assert response.redirect_chain[-1][0] == reverse("worklist")
    assert "No other account is contactable now." in response.content.decode()


def test_the_call_page_shows_the_balance_and_past_promises(client, collector, morning):
    loan = make_account(collector, balance="7300.00")
    Promise.objects.create(loan=loan, collector=collector, amount=Decimal("800.00"), state="broken",
                           due_date=MORNING.date() - dt.timedelta(days=3), created_at=MORNING - dt.timedelta(days=9))
    client.force_login(collector)
    client.post(reverse("call_start", args=[loan.loan_ref]), {"phone_id": loan.borrower.phones.get().pk})
    page = client.get(reverse("attempt_detail", args=[ContactAttempt.objects.get().pk])).content.decode()
    assert "7,300.00 CNY" in page and 'Broken: <span class="amount">800.00 CNY</span>' in page


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_amounts_are_grouped_in_either_language_with_their_currency(client, collector, morning, settings, language):
    loan = make_account(collector, balance="121456.50")
    worklist_build(collector=collector)
    client.force_login(collector)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    for url in (reverse("worklist"), reverse("loan_detail", args=[loan.loan_ref])):
        body = client.get(url).content.decode()
        assert '<span class="amount">121,456.50 CNY</span>' in body and "121456.50" not in body, url

