"""A refused form is announced to a screen reader, on every form of the desk and of staff sign-in: the invalid box
says so (`aria-invalid="true"`) and names its message (`aria-describedby` pointing at an element that exists and
holds it), and the top of the form has a summary announced at once (`role="alert"`) whose links lead to the
boxes. One template pack renders them all (collections_app.forms.DeskFormRenderer); these tests post a refused
form to each page and read the page that comes back."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse

from collections_app.models import ContactAttempt, Note, RepaymentPlan
from collections_app.plans.services import plan_propose
from consent_app.models import Restriction
from tests import factories as f
from tests.collections_app.complaints.helpers import open_complaint
from tests.collections_app.desk.conftest import MORNING, make_account
from tests.collections_app.plans.helpers import days, schedule
from tests.second_factor import confirmed_device, force_login_without_second_factor

pytestmark = pytest.mark.django_db

VOID = {"input", "br", "img", "meta", "link", "hr", "source", "col", "area", "base", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element] = []
        self.texts: list[str] = []

    def text(self) -> str:
        return " ".join([*self.texts, *(child.text() for child in self.children)]).strip()

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class Page(HTMLParser):
    """The page as elements: by id, and in document order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.root = Element("#document", {}, None)
        self.current = self.root
        self.elements: list[Element] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.current = self.current.parent or self.root

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent or self.root
        if node is not self.root:
            self.current = node.parent or self.root

    def handle_data(self, data):
        if data.strip():
            self.current.texts.append(data.strip())

    def by_id(self, element_id: str) -> Element | None:
        return next((e for e in self.elements if e.attrs.get("id") == element_id), None)

    def summaries(self) -> list[Element]:
        return [e for e in self.elements if e.attrs.get("role") == "alert" and "data-error-summary" in e.attrs]


def assert_announced(response, box_id: str, message: str) -> None:
    """The box `box_id` is marked invalid and described by an element holding `message` (its own, or its
    fieldset's for a group of radio buttons or boxes), and a summary announced at once links to it."""
    page = Page(response.content.decode())
    box = page.by_id(box_id)
    assert box is not None, f"no element #{box_id}"
    assert box.attrs.get("aria-invalid") == "true", box.attrs
    holder = box if "aria-describedby" in box.attrs else next(
        (a for a in box.ancestors() if a.tag == "fieldset" and "aria-describedby" in a.attrs), None)
    assert holder is not None, f"#{box_id} is described by nothing"
    described = [page.by_id(i) for i in holder.attrs["aria-describedby"].split()]
    assert all(d is not None for d in described), f"#{box_id} names a missing id: {holder.attrs['aria-describedby']}"
    assert any(message in d.text() for d in described if d is not None), [d.text() for d in described if d]
    summaries = page.summaries()
    assert summaries, "no error summary with role=alert"
    hrefs = {a.attrs.get("href") for summary in summaries for a in _links(summary)}
    assert f"#{box_id}" in hrefs, hrefs
    assert any(message in summary.text() for summary in summaries)


def _links(element: Element) -> list[Element]:
    found = [element] if element.tag == "a" else []
    for child in element.children:
        found += _links(child)
    return found


@pytest.fixture
def morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def account(collector, morning):
    return make_account(collector)


def _call(client, loan) -> ContactAttempt:
    client.post(reverse("call_start", args=[loan.loan_ref]), {"phone_id": loan.borrower.phones.get().pk})
    return ContactAttempt.objects.get(loan=loan, outcome="")


# --- The call's outcome ----------------------------------------------------------------------------------------


def test_an_outcome_not_chosen_is_announced_on_its_radio_buttons(client, collector, account):
    client.force_login(collector)
    attempt = _call(client, account)
    response = client.post(reverse("attempt_detail", args=[attempt.pk]), {"outcome": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert_announced(response, "id_outcome_0", "This field is required.")


@pytest.mark.parametrize(("typed", "message"), [
    ("whenever", "Write the date and time as YYYY-MM-DD HH:MM"),  # the field cannot read it
    ("2027-03-03 23:00", "The policy does not allow a call then."),  # the service's policy check refuses it
])
def test_a_callback_refused_is_announced_on_its_box(client, collector, account, typed, message):
    client.force_login(collector)
    attempt = _call(client, account)
    response = client.post(reverse("attempt_detail", args=[attempt.pk]),
                           {"outcome": "conversation", "callback_at": typed}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert_announced(response, "id_callback_at", message)
    attempt.refresh_from_db()
    assert attempt.in_progress


# --- The account page: hold, note, reveal ------------------------------------------------------------------------


def test_a_hold_without_a_date_is_announced_on_the_account_page(client, supervisor, account):
    client.force_login(supervisor)
    response = client.post(reverse("hold_place", args=[account.loan_ref]), {"until": "", "reason": "pause"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert_announced(response, "id_until", "This field is required.")
    assert not Restriction.objects.exists()


def test_an_empty_note_is_announced_on_the_account_page(client, collector, account):
    client.force_login(collector)
    response = client.post(reverse("note_create", args=[account.loan_ref]), {"text": "   "},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert_announced(response, "id_text", "This field is required.")
    assert not Note.objects.exists()


def test_a_reveal_without_a_reason_comes_back_through_htmx_announced(client, collector, account):
    phone = account.borrower.phones.get()
    client.force_login(collector)
    response = client.post(reverse("phone_reveal", args=[account.loan_ref, phone.pk]), {"reason": ""},
                           HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422  # base.html tells htmx to swap a 422 in
    assert_announced(response, f"id_reveal_{phone.pk}_reason", "This field is required.")
    assert f'id="reveal-{phone.pk}"' in response.content.decode()  # what the form's hx-target replaces


def test_the_account_pages_forms_have_ids_of_their_own(client, collector, account):
    f.PhoneNumberFactory(borrower=account.borrower)  # two numbers: two reveal forms
    client.force_login(collector)
    page = Page(client.get(reverse("loan_detail", args=[account.loan_ref])).content.decode())
    ids = [e.attrs["id"] for e in page.elements if "id" in e.attrs]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


# --- Promises and plans -------------------------------------------------------------------------------------------


def test_a_promise_above_the_balance_is_announced(client, collector, account):
    client.force_login(collector)
    response = client.post(reverse("plans:promise_create", args=[account.loan_ref]),
                           {"amount": "90000", "promise_date": "2027-03-08"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert_announced(response, "id_amount", "more than the balance")


def _plan_post(rows):
    data = {"kind": "installments", "agreed_total": "", "reason": "", "attempt": "",
            "inst-TOTAL_FORMS": "12", "inst-INITIAL_FORMS": "0", "inst-MIN_NUM_FORMS": "0",
            "inst-MAX_NUM_FORMS": "24"}
    for i, (due, amount) in enumerate(rows):
        data[f"inst-{i}-due_date"] = due
        data[f"inst-{i}-amount"] = str(amount)
    return data


def test_a_plans_half_filled_row_is_announced_with_its_row(client, collector, account):
    client.force_login(collector)
    data = _plan_post([(days(7).isoformat(), "6000")])
    data["inst-1-amount"] = "100"
    response = client.post(reverse("plans:plan_propose", args=[account.loan_ref]), data,
                           HTTP_ACCEPT_LANGUAGE="en")
    assert_announced(response, "id_inst-1-due_date", "Give both a date and an amount")
    summary = Page(response.content.decode()).summaries()[0].text()
    assert "Row 2 · Due date: Give both a date and an amount" in summary
    # The table's boxes are named by their row and column headers, which exist.
    page = Page(response.content.decode())
    box = page.by_id("id_inst-1-due_date")
    assert box is not None
    assert [page.by_id(i) is not None for i in box.attrs["aria-labelledby"].split()] == [True, True]
    assert not RepaymentPlan.objects.exists()


def test_a_plan_cancelled_without_a_reason_is_announced_on_the_plans_page(client, collector, account):
    plan = plan_propose(loan=account, kind="installments", schedule=schedule("6000", 8), actor=collector,
                        reason="r")
    client.force_login(collector)
    response = client.post(reverse("plans:plan_cancel", args=[plan.pk]), {"reason": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert_announced(response, "id_reason", "Say why the plan is cancelled.")


# --- Supervisor and complaints -------------------------------------------------------------------------------------


def test_a_reassignment_to_an_unknown_account_is_announced(client, supervisor, collector, account):
    client.force_login(supervisor)
    response = client.post(reverse("team_reassign"), {"loan_ref": "NO-SUCH", "collector": collector.username},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert_announced(response, "id_loan_ref", "No account of your team has this reference")


def test_a_complaint_without_a_description_is_announced(client, collector, account):
    client.force_login(collector)
    response = client.post(reverse("complaints:create", args=[account.loan_ref]),
                           {"channel": "phone", "category": "other", "description": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert_announced(response, "id_description", "This field is required.")


def test_a_complaint_received_at_an_unreadable_time_is_announced(client, collector, account):
    client.force_login(collector)
    response = client.post(reverse("complaints:create", args=[account.loan_ref]),
                           {"channel": "phone", "category": "other", "description": "Rude caller.",
                            "received_at": "yesterday evening"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert_announced(response, "id_received_at", "Write the date and time as YYYY-MM-DD HH:MM")


def test_a_resolution_without_its_root_cause_is_announced_on_that_forms_box(client, supervisor, collector, account):
    complaint = open_complaint(account, supervisor)
    client.force_login(supervisor)
    url = reverse("complaints:transition", args=[complaint.pk])
    client.post(url, {"to_state": "acknowledged"})
    client.post(url, {"to_state": "investigating"})
    response = client.post(url, {"to_state": "resolved", "outcome": "upheld"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert_announced(response, "id_resolved_root_cause", "Record the root cause.")


# --- Staff sign-in and the second factor ----------------------------------------------------------------------------


def test_a_refused_sign_in_is_announced_on_the_password(client, collector):
    response = client.post(reverse("login"), {"username": collector.username, "password": "not it"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert_announced(response, "id_password", "Your username and password didn't match")


def test_a_wrong_second_factor_code_is_announced(client, supervisor):
    confirmed_device(supervisor)
    force_login_without_second_factor(client, supervisor)
    response = client.post(reverse("staff:verify"), {"code": "000000"}, HTTP_ACCEPT_LANGUAGE="en")
    assert_announced(response, "id_code", "This code is not valid")


# --- Without errors, no summary -------------------------------------------------------------------------------------


def test_a_form_not_yet_sent_has_no_summary_and_no_box_marked_invalid(client, collector, account):
    client.force_login(collector)
    attempt = _call(client, account)
    for url in (reverse("attempt_detail", args=[attempt.pk]), reverse("loan_detail", args=[account.loan_ref]),
                reverse("plans:plan_propose", args=[account.loan_ref])):
        page = Page(client.get(url).content.decode())
        assert page.summaries() == [] and not [e for e in page.elements if e.attrs.get("aria-invalid")], url


def test_the_hold_form_reads_its_date_on_the_borrowers_clock(client, supervisor, collector, morning):
    london = make_account(collector, timezone="Europe/London", jurisdiction="UK")
    # 23:00 on 2 March in London is already 07:00 on the 3rd at the desk: "tomorrow" for the borrower is the 3rd,
    # a hold until London's midnight that starts the 3rd (the desk's tomorrow would have been the 4th).
    morning.move_to(dt.datetime(2027, 3, 2, 23, 0, tzinfo=dt.UTC))
    client.force_login(supervisor)
    response = client.post(reverse("hold_place", args=[london.loan_ref]), {"until": "明天", "reason": "pause"})
    assert response.status_code == 302
    hold = Restriction.objects.get(kind="temporary_hold")
    assert hold.ends_at == dt.datetime(2027, 3, 3, tzinfo=dt.UTC)
