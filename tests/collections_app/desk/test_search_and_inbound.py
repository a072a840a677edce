"""The desk's account search (references, a number's last four digits, a whole number through the blind index),
inbound calls taken from it, and the supervisor's reassignment picked from it: only among the accounts the user
may see, and never with a whole number in an address or on a page."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.contact.generation import current_generation
from collections_app.contact.pauses import pauses_at
from collections_app.contact.services import contact_check
from collections_app.desk.services import worklist_build
from collections_app.models import ContactAttempt, WorklistEntry
from consent_app.models import PhoneNumber
from tests import factories as f

from .conftest import MORNING, make_account

pytestmark = pytest.mark.django_db

NUMBER = "+8613800138000"


@pytest.fixture
def account(collector, morning):
    loan = make_account(collector)
    phone = loan.borrower.phones.get()
    phone.e164 = NUMBER
    phone.blind_index = f.blind_index(NUMBER)
    phone.save()
    return loan


def _search(client, term):
    """Search as the top bar's box does (a POST), and follow to the results."""
    response = client.post(reverse("search"), {"q": term})
    assert response.status_code == 302
    return response["Location"], client.get(response["Location"])


def test_a_number_keeps_its_last_four_digits_in_their_own_column_and_only_those_its_mask_shows(account):
    phone = account.borrower.phones.get()
    assert (phone.last_four, phone.masked) == ("8000", "+86 138****8000")
    short = f.PhoneNumberFactory(borrower=account.borrower, e164="+50012345", region="FK", zones=[])
    assert (short.last_four, short.masked) == ("", "+500 12*45")  # its mask shows two digits only
    phone.e164 = "+8613900139123"
    phone.save(update_fields=["e164"])
    assert PhoneNumber.objects.get(pk=phone.pk).last_four == "9123"


@pytest.mark.parametrize("typed", ["138 0013 8000", "+86 138-0013-8000", "008613800138000", "13800138000"])
def test_a_whole_number_in_any_format_finds_the_account_and_never_enters_an_address(client, collector, account,
                                                                                      typed):
    client.force_login(collector)
    location, response = _search(client, typed)
    assert re.fullmatch(r"/search/\?qid=[\w-]+", location)
    body = response.content.decode()
    assert account.loan_ref in body
    # The references are generated in sequence and may hold "0013" themselves (L0000130): only the rest counts.
    rest = body.replace(account.loan_ref, "").replace(account.borrower.borrower_ref, "")
    assert "13800138000" not in rest.replace(" ", "") and "0013" not in rest
    assert "…8000" in body  # what the page repeats of it
    # An inbound call from that number can be taken at once.
    assert reverse("inbound_call", args=[account.loan_ref]) in body


def test_a_number_typed_into_the_address_is_moved_out_of_it(client, collector, account):
    client.force_login(collector)
    response = client.get(reverse("search"), {"q": "13800138000"})
    assert response.status_code == 302 and "13800138000" not in response["Location"]
    assert account.loan_ref in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("term", ["8000", "  {ref}  ", "{ref_lower}", "{borrower_ref}"])
def test_references_and_last_four_digits_find_the_account(client, collector, account, term):
    client.force_login(collector)
    term = term.format(ref=account.loan_ref, ref_lower=account.loan_ref.lower(),
                       borrower_ref=account.borrower.borrower_ref)
    _location, response = _search(client, term)
    assert [loan.pk for loan in response.context["loans"]] == [account.pk]


def test_search_finds_only_accounts_the_user_may_see(client, collector, other_collector, account, supervisor):
    theirs = make_account(other_collector)
    client.force_login(collector)
    for term in (theirs.loan_ref, theirs.borrower.borrower_ref, theirs.borrower.phones.get().last_four):
        _location, response = _search(client, term)
        assert response.context["loans"] == [], term
    client.force_login(supervisor)  # collector's team only
    assert _search(client, theirs.loan_ref)[1].context["loans"] == []
    assert [loan.pk for loan in _search(client, account.loan_ref)[1].context["loans"]] == [account.pk]


def test_an_inbound_call_is_recorded_as_inbound_and_its_conversation_starts_the_cooldown(client, collector, morning):
    loan = make_account(collector, consent=False, timezone="America/New_York", jurisdiction="US")
    loan.borrower.phones.all().delete()
    phone = f.PhoneNumberFactory(borrower=loan.borrower, e164="+12125550123", region="US")
    f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=90))
    morning.move_to(dt.datetime(2027, 3, 3, 11, 0, tzinfo=dt.UTC))  # 06:00 in New York: no outbound call allowed
    client.force_login(collector)
    response = client.post(reverse("inbound_call", args=[loan.loan_ref]), {"phone_id": phone.pk})
    attempt = ContactAttempt.objects.get()
    assert response["Location"] == reverse("attempt_detail", args=[attempt.pk])
    assert (attempt.direction, attempt.outcome, attempt.source) == ("inbound", "", "desk")
    page = client.get(response["Location"]).content.decode()
    assert "tel:" not in page and "data-dial" not in page  # the borrower is on the line: nothing to dial
    assert client.post(response["Location"], {"outcome": "conversation", "party": "debtor"}).status_code == 302
    morning.move_to(dt.datetime(2027, 3, 3, 15, 0, tzinfo=dt.UTC))  # 10:00 in New York, inside the window
    codes = [r.code for r in contact_check(loan=loan, phone=phone, channel="call").reasons]
    assert codes == ["CONVERSATION_COOLDOWN"]


def test_an_inbound_call_while_a_call_is_open_leads_back_to_it(client, collector, account):
    other = make_account(collector)
    client.force_login(collector)
    client.post(reverse("call_start", args=[other.loan_ref]), {"phone_id": other.borrower.phones.get().pk})
    open_call = ContactAttempt.objects.get()
    response = client.post(reverse("inbound_call", args=[account.loan_ref]),
                           {"phone_id": account.borrower.phones.get().pk})
    assert response["Location"] == reverse("attempt_detail", args=[open_call.pk])
    assert ContactAttempt.objects.count() == 1


def test_no_inbound_call_on_someone_elses_account_or_number(client, collector, other_collector, account):
    theirs = make_account(other_collector)
    client.force_login(collector)
    assert client.post(reverse("inbound_call", args=[theirs.loan_ref]),
                       {"phone_id": theirs.borrower.phones.get().pk}).status_code == 404
    assert client.post(reverse("inbound_call", args=[account.loan_ref]),
                       {"phone_id": theirs.borrower.phones.get().pk}).status_code == 404
    assert client.post(reverse("inbound_call", args=[account.loan_ref]), {"phone_id": "abc"}).status_code == 400
    assert not ContactAttempt.objects.exists()


# --- Reassignment ---------------------------------------------------------------------------------------------


@pytest.fixture
def teammate(team_a):
    return f.make_collector("collector_a2", team_a)


def test_reassigning_from_the_search_moves_the_row_between_both_worklists(client, supervisor, collector, teammate,
                                                                          account, django_capture_on_commit_callbacks):
    make_account(teammate)
    worklist_build(collector=collector)
    worklist_build(collector=teammate)
    client.force_login(supervisor)
    location, page = _search(client, "8000")
    assert reverse("team_reassign") in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("team_reassign"),
                               {"loan_ref": account.loan_ref, "collector": teammate.username, "next": location})
    assert response["Location"] == location  # back to the results
    account.refresh_from_db()
    assert account.assigned_collector == teammate
    assert list(WorklistEntry.objects.filter(loan=account).values_list("collector__username", flat=True)) == [
        "collector_a2"]


@pytest.mark.parametrize(("typed", "collector_name", "field", "message"), [
    ("NO-SUCH-LOAN", "collector_a2", "loan_ref", "No account of your team has this reference"),
    ("{ref}", "collector_a", "collector", "is already assigned to collector_a"),
])
def test_a_reassignment_that_cannot_be_done_is_a_form_error_naming_the_field(client, supervisor, teammate, account,
                                                                            typed, collector_name, field, message):
    client.force_login(supervisor)
    response = client.post(reverse("team_reassign"),
                           {"loan_ref": typed.format(ref=account.loan_ref), "collector": collector_name})
    assert response.status_code == 422
    assert message in " ".join(response.context["reassign_form"].errors[field])
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page and f'aria-describedby="id_{field}_error"' in page
    assert 'role="alert"' in page
    account.refresh_from_db()
    assert account.assigned_collector.username == "collector_a"


def test_a_lower_case_reference_with_spaces_still_means_the_account(client, supervisor, teammate, account):
    client.force_login(supervisor)
    client.post(reverse("team_reassign"), {"loan_ref": f"  {account.loan_ref.lower()} ",
                                           "collector": teammate.username})
    account.refresh_from_db()
    assert account.assigned_collector == teammate


def test_the_blocked_counts_link_to_the_accounts_of_the_team_only(client, supervisor, collector, other_collector,
                                                                 morning):
    ceased = make_account(collector)
    f.RestrictionFactory(borrower=ceased.borrower, kind="cease_communication")
    theirs = make_account(other_collector)
    f.RestrictionFactory(borrower=theirs.borrower, kind="cease_communication")
    make_account(collector)  # contactable: not listed
    worklist_build(collector=collector)
    worklist_build(collector=other_collector)
    client.force_login(supervisor)
    assert reverse("team_blocked", args=["CEASE_COMMUNICATION"]) in client.get(reverse("team")).content.decode()
    response = client.get(reverse("team_blocked", args=["CEASE_COMMUNICATION"]))
    assert [e.loan for e in response.context["entries"]] == [ceased]
    client.force_login(collector)
    assert client.get(reverse("team_blocked", args=["CEASE_COMMUNICATION"])).status_code == 404
    assert client.post(reverse("team_reassign"), {"loan_ref": ceased.loan_ref,
                                                  "collector": "collector_a"}).status_code == 404


@pytest.mark.parametrize("kind", ["ref", "last_four"])
def test_the_search_page_takes_the_same_queries_for_one_result_and_for_many(client, collector, morning, kind):
    counts = []
    for n in (1, 6):
        if kind == "ref":  # one borrower with n loans: the borrower's reference finds them all
            first = make_account(collector, borrower_ref=f"SR{n}")
            loans = [first] + [f.LoanFactory(assigned_collector=collector, borrower=first.borrower,
                                             due_date=first.due_date) for _ in range(n - 1)]
        else:
            loans = [make_account(collector, borrower_ref=f"SL{n}-{i}") for i in range(n)]
        for loan in {loan.borrower_id: loan for loan in loans}.values():  # numbers ending in the same digits
            phone = loan.borrower.phones.get()
            phone.e164 = phone.e164[:-4] + f"{n}{n}{n}{n}"
            phone.blind_index = f.blind_index(phone.e164)
            phone.save()
        term = f"{n}{n}{n}{n}" if kind == "last_four" else loans[0].borrower.borrower_ref
        client.force_login(collector)
        location = client.post(reverse("search"), {"q": term})["Location"]
        # The banner's incident pauses come from the process's copy of the policy generation, read once per generation
        # and process (contact/pauses.py): the fixtures changed the generation, so load the copy first.
        pauses_at(current_generation())
        with CaptureQueriesContext(connection) as queries:
            response = client.get(location)
        assert len(response.context["loans"]) == n
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
