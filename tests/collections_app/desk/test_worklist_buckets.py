"""The worklist's days-past-due bucket filter: the buckets offered are the configured ones, and choosing one
shows only the accounts in it."""

import pytest
from django.urls import reverse

from collections_app.desk.services import worklist_build

from .conftest import make_account

pytestmark = pytest.mark.django_db


def _shown(client, **params):
    response = client.get(reverse("worklist"), params)
    assert response.status_code == 200
    entries = list(response.context["contactable"]) + list(response.context["blocked"])
    return response, {entry.loan.loan_ref for entry in entries}


def test_the_worklist_offers_the_configured_buckets_and_shows_only_the_chosen_one(client, collector, morning):
    ten = make_account(collector, due_days=10)
    forty_five = make_account(collector, due_days=45)
    two_hundred = make_account(collector, due_days=200)
    worklist_build(collector=collector)
    client.force_login(collector)

    response, everything = _shown(client)
    assert response.context["buckets"] == ["1-30", "31-60", "61-90", "91-180", "181+"]
    assert everything == {ten.loan_ref, forty_five.loan_ref, two_hundred.loan_ref}
    assert _shown(client, bucket="1-30")[1] == {ten.loan_ref}
    assert _shown(client, bucket="31-60")[1] == {forty_five.loan_ref}
    assert _shown(client, bucket="181+")[1] == {two_hundred.loan_ref}  # open-ended
    assert _shown(client, bucket="61-90")[1] == set()
    assert _shown(client, bucket="no-such-bucket")[1] == everything


def test_the_bucket_edges_are_inclusive(client, collector, morning):
    thirty = make_account(collector, due_days=30)
    thirty_one = make_account(collector, due_days=31)
    worklist_build(collector=collector)
    client.force_login(collector)
    assert _shown(client, bucket="1-30")[1] == {thirty.loan_ref}
    assert _shown(client, bucket="31-60")[1] == {thirty_one.loan_ref}


def test_the_buckets_follow_the_settings(client, collector, morning, settings):
    settings.COLLECTION_BUCKETS = [("1-90", 1, 90), ("91+", 91, None)]
    recent = make_account(collector, due_days=60)
    old = make_account(collector, due_days=120)
    worklist_build(collector=collector)
    client.force_login(collector)
    response, _all = _shown(client, bucket="91+")
    assert response.context["buckets"] == ["1-90", "91+"]
    assert _all == {old.loan_ref}
    assert _shown(client, bucket="1-90")[1] == {recent.loan_ref}
