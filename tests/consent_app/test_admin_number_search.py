"""Searching the admin by phone number keeps the number out of every address: the search box posts (with its CSRF
token), the number is kept in the session under a random id, and the changelist is addressed as `?qid=<id>`. The
id works only in the session that made it and only for a while; other text is still searched by `?q=`."""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib import import_module
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent_app.admin.toolkit import NUMBER_SEARCH_MARK, NUMBER_SEARCH_TTL_SECONDS
from consent_app.models import Borrower
from tests import factories as f

pytestmark = pytest.mark.django_db

NUMBER = "+8613800138000"
TYPED = "+86 138 0013 8000"
# What must never be in an address: the digits typed, in any spelling. The masked form shown on the pages
# ("+86 138****8000") hides the middle digits, so "0013" in an address can only be the number.
DIGIT_RUNS = ("13800138000", "0013", "138 0013", "138%200013", "138+0013")

# Every admin that searches by number (PhoneSearchMixin) and what it lists for the number.
NUMBER_SEARCH_CHANGELISTS = [
    ("consent_app_borrower", "borrower"),
    ("consent_app_thirdpartycontact", "contact"),
    ("consent_app_phonenumber", "phone"),
    ("consent_app_consent", "consent"),
    ("consent_app_restriction", "restriction"),
    ("consent_app_inconvenienttime", None),
    ("collections_app_loan", "loan"),
    ("collections_app_payment", "payment"),
    ("collections_app_complaint", None),
]


def changelist(name: str) -> str:
    return reverse(f"admin:{name}_changelist")


def post_search(client: Client, name: str, typed: str, **filters: str):
    return client.post(changelist(name), {"q": typed, NUMBER_SEARCH_MARK: "1", **filters})


def addresses(response) -> list[str]:
    """Every address a response hands the browser: the redirects it went through and every link, form action
    and resource of the final page."""
    found = [url for url, _status in getattr(response, "redirect_chain", [])]
    if response.has_header("Location"):
        found.append(response["Location"])
    body = response.content.decode()
    found += re.findall(r'(?:href|action|src)="([^"]*)"', body)
    return found


def assert_no_number(response) -> None:
    for address in addresses(response):
        decoded = unquote_plus(address)
        for digits in DIGIT_RUNS:
            assert digits not in address and digits not in decoded, address
    assert NUMBER not in response.content.decode()
    assert "13800138000" not in response.content.decode()


def result_list(response) -> list:
    return list(response.context["cl"].result_list)


@pytest.fixture
def file(collector):
    """A borrower with the number, a third party, a consent, a restriction and a loan with a payment; and another
    borrower whose rows must not be found."""
    borrower = f.BorrowerFactory(borrower_ref="B-NUM-1")
    phone = f.PhoneNumberFactory(borrower=borrower, e164=NUMBER)
    contact = f.ThirdPartyContactFactory(borrower=borrower)
    consent = f.ConsentFactory(phone=phone)
    restriction = f.RestrictionFactory(borrower=borrower, kind="dispute")
    loan = f.LoanFactory(borrower=borrower, assigned_collector=collector, loan_ref="L-NUM-1")
    payment = f.PaymentFactory(loan=loan)
    other = f.BorrowerFactory(borrower_ref="B-NUM-2")
    other_phone = f.PhoneNumberFactory(borrower=other, e164="+8613800138001")
    f.ConsentFactory(phone=other_phone)
    f.RestrictionFactory(borrower=other, kind="dispute")
    f.PaymentFactory(loan=f.LoanFactory(borrower=other, assigned_collector=collector, loan_ref="L-NUM-2"))
    return {"borrower": borrower, "phone": phone, "contact": contact, "consent": consent,
            "restriction": restriction, "loan": loan, "payment": payment}


@pytest.mark.parametrize(("name", "found"), NUMBER_SEARCH_CHANGELISTS)
def test_a_number_search_finds_the_rows_without_the_number_in_any_address(client, compliance, file, name, found):
    client.force_login(compliance)
    response = post_search(client, name, TYPED)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == changelist(name) and set(parse_qs(location.query)) == {"qid"}
    assert_no_number(response)

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert_no_number(page)
    if found is not None:
        assert result_list(page) == [file[found]]
    assert page.context["cl"].query == ""  # the box is not refilled with the number
    assert "ending in 8000" in page.content.decode()


def test_the_search_box_posts_with_a_csrf_token_and_keeps_the_page_usable_from_the_keyboard(compliance, file):
    client = Client(enforce_csrf_checks=True)
    client.force_login(compliance)
    body = client.get(changelist("consent_app_borrower")).content.decode()
    form = re.search(r'<form id="changelist-search" method="post"[^>]*>.*?</form>', body, re.DOTALL)
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert f'name="{NUMBER_SEARCH_MARK}"' in form.group(0)
    assert 'type="submit"' in form.group(0) and 'id="searchbar"' in form.group(0)
    # Without the token the post is refused.
    assert client.post(changelist("consent_app_borrower"), {"q": TYPED, NUMBER_SEARCH_MARK: "1"}).status_code == 403


def test_links_of_the_result_page_carry_the_search_id_and_the_filters(client, compliance, file):
    client.force_login(compliance)
    response = post_search(client, "consent_app_restriction", TYPED, kind__exact="dispute")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["kind__exact"] == ["dispute"] and "q" not in query
    page = client.get(response["Location"])
    assert result_list(page) == [file["restriction"]]
    sort_links = [a for a in addresses(page) if "o=" in a]
    assert sort_links and all(f"qid={query['qid'][0]}" in a for a in sort_links)
    assert_no_number(page)


def test_the_next_page_and_the_sorted_list_still_search_by_the_number(client, compliance, file):
    client.force_login(compliance)
    location = post_search(client, "consent_app_phonenumber", TYPED)["Location"]
    page = client.get(location + "&o=1")
    assert result_list(page) == [file["phone"]]


def test_the_session_keeps_no_readable_number(client, compliance, file):
    client.force_login(compliance)
    post_search(client, "consent_app_borrower", TYPED)
    sessions = import_module(settings.SESSION_ENGINE).SessionStore.get_model_class()  # the session table in use
    stored = json.dumps(sessions.objects.get(session_key=client.session.session_key).get_decoded())
    for digits in ("13800138000", "138 0013 8000", "0013"):
        assert digits not in stored


def test_another_session_cannot_use_the_search_id(client, compliance, file):
    client.force_login(compliance)
    location = post_search(client, "consent_app_borrower", TYPED)["Location"]
    colleague = Client()
    colleague.force_login(f.make_compliance("other_compliance_officer"))
    response = colleague.get(location, follow=True)
    assert response.status_code == 200
    assert "qid" not in response.redirect_chain[-1][0]
    assert set(result_list(response)) == set(Borrower.objects.all())  # nothing searched
    assert "This number search has expired" in response.content.decode()


def test_an_expired_search_shows_an_empty_search_with_a_message(client, compliance, file):
    client.force_login(compliance)
    location = post_search(client, "consent_app_restriction", TYPED, kind__exact="dispute")["Location"]
    later = timezone.now() + dt.timedelta(seconds=NUMBER_SEARCH_TTL_SECONDS + 1)
    with time_machine.travel(later):
        response = client.get(location, follow=True)
    assert response.status_code == 200
    final = urlsplit(response.redirect_chain[-1][0])
    assert parse_qs(final.query) == {"kind__exact": ["dispute"]}  # the filters stay, the search goes
    assert response.context["cl"].query == ""
    assert len(result_list(response)) == 2
    assert "This number search has expired: type the number again." in response.content.decode()


@pytest.mark.parametrize("qid", ["not-a-search-id", "", "%00"])
def test_an_unknown_search_id_is_a_message_not_an_error(client, compliance, file, qid):
    client.force_login(compliance)
    response = client.get(changelist("consent_app_borrower"), {"qid": qid}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == changelist("consent_app_borrower")
    assert len(result_list(response)) == 2
    assert "This number search has expired" in response.content.decode()


def test_a_number_typed_into_the_address_is_moved_out_of_it(client, compliance, file):
    client.force_login(compliance)
    response = client.get(changelist("consent_app_borrower"), {"q": "13800138000"})
    assert response.status_code == 302 and set(parse_qs(urlsplit(response["Location"]).query)) == {"qid"}
    assert result_list(client.get(response["Location"])) == [file["borrower"]]


def test_other_text_is_still_searched_in_the_address(client, compliance, file):
    client.force_login(compliance)
    response = post_search(client, "consent_app_borrower", "B-NUM-1")
    assert response.status_code == 302 and parse_qs(urlsplit(response["Location"]).query) == {"q": ["B-NUM-1"]}
    assert result_list(client.get(response["Location"])) == [file["borrower"]]
    assert result_list(client.get(changelist("consent_app_borrower"), {"q": "B-NUM-1"})) == [file["borrower"]]


def test_an_empty_search_clears_the_search_and_keeps_the_filters(client, compliance, file):
    client.force_login(compliance)
    response = post_search(client, "consent_app_restriction", "", kind__exact="dispute")
    assert parse_qs(urlsplit(response["Location"]).query) == {"kind__exact": ["dispute"]}


def test_a_user_without_access_to_the_list_cannot_search_it(client, file):
    client.force_login(f.UserFactory(username="staff_without_roles", is_staff=True))
    response = post_search(client, "consent_app_borrower", TYPED)
    assert response.status_code == 403
    assert "admin_number_searches" not in client.session
