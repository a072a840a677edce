"""One open desk call per collector and per borrower: a second Call leads back to the open one instead of
spending another of the day's attempts; the account page and the worklist link back to it; the abandoned-call
timeout still frees a call nobody finished."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from collections_app.contact.services import CallAlreadyOpen, contact_start
from collections_app.desk.services import worklist_build
from collections_app.models import ContactAttempt
from tests import factories as f

from .conftest import MORNING, make_account

pytestmark = pytest.mark.django_db


def _press_call(client, loan):
    return client.post(reverse("call_start", args=[loan.loan_ref]), {"phone_id": loan.borrower.phones.get().pk},
                       HTTP_ACCEPT_LANGUAGE="en")


def test_a_second_call_on_the_same_account_leads_to_the_open_one(client, collector, account):
    client.force_login(collector)
    first = _press_call(client, account)
    attempt = ContactAttempt.objects.get()
    again = _press_call(client, account)
    assert again.status_code == 302 and again["Location"] == first["Location"] == reverse(
        "attempt_detail", args=[attempt.pk])
    assert ContactAttempt.objects.count() == 1  # no second attempt spent


def test_a_collector_with_a_call_open_cannot_start_another_on_another_account(client, collector, account, morning):
    other = make_account(collector)
    client.force_login(collector)
    _press_call(client, account)
    response = _press_call(client, other)
    assert response["Location"] == reverse("attempt_detail", args=[ContactAttempt.objects.get().pk])
    assert not ContactAttempt.objects.filter(loan=other).exists()


def test_nobody_else_calls_a_borrower_while_a_call_with_them_is_open(collector, other_collector, account, morning):
    theirs = f.LoanFactory(borrower=account.borrower, assigned_collector=other_collector)
    phone = account.borrower.phones.get()
    mine, _decision = contact_start(loan=account, phone=phone, channel="call", collector=collector)
    with pytest.raises(CallAlreadyOpen) as refused:
        contact_start(loan=theirs, phone=phone, channel="call", collector=other_collector)
    assert refused.value.attempt == mine
    assert ContactAttempt.objects.count() == 1


def test_after_the_outcome_the_next_call_starts(client, collector, account, morning):
    client.force_login(collector)
    _press_call(client, account)
    attempt = ContactAttempt.objects.get()
    client.post(reverse("attempt_detail", args=[attempt.pk]), {"outcome": "no_answer"})
    morning.shift(dt.timedelta(hours=2))  # past the cooldown
    response = _press_call(client, account)
    second = ContactAttempt.objects.exclude(pk=attempt.pk).get()
    assert response["Location"] == reverse("attempt_detail", args=[second.pk])


def test_an_abandoned_call_no_longer_blocks(settings, collector, account, morning):
    phone = account.borrower.phones.get()
    contact_start(loan=account, phone=phone, channel="call", collector=collector)
    morning.shift(dt.timedelta(minutes=settings.ATTEMPT_STALE_MINUTES + 1))
    other = make_account(collector)
    attempt, _decision = contact_start(loan=other, phone=other.borrower.phones.get(), channel="call",
                                       collector=collector)
    assert attempt is not None


def test_the_account_page_and_the_worklist_link_back_to_the_open_call(client, collector, account, morning):
    worklist_build(collector=collector, now=MORNING)
    client.force_login(collector)
    _press_call(client, account)
    attempt = ContactAttempt.objects.get()
    link = f'href="{reverse("attempt_detail", args=[attempt.pk])}" data-open-call'
    for url in (reverse("loan_detail", args=[account.loan_ref]), reverse("worklist")):
        body = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert link in body, url
        assert f"A call on {account.loan_ref} is still open." in body
    client.post(reverse("attempt_detail", args=[attempt.pk]), {"outcome": "no_answer"})
    assert "data-open-call" not in client.get(reverse("worklist")).content.decode()
