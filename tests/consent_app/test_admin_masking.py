"""A borrower's full name and national id in admin: masked on the list, the change page, its history and its
versions; revealed to one reader with a reason (audited), the national id to compliance officers only."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from collections_app.complaints.selectors import complaint_evidence
from consent_app.models import RevealPurpose
from consent_app.services import borrower_reveal, borrower_upsert
from tests import factories as f
from tests.collections_app.complaints.helpers import MORNING, make_cn_loan, open_complaint

pytestmark = pytest.mark.django_db

NAME = "欧阳明华"
NATIONAL_ID = "110101199003077531"
NEW_NAME = "司马光辉"


@pytest.fixture
def borrower(collector):
    loan = f.LoanFactory(assigned_collector=collector,
                         borrower=f.BorrowerFactory(full_name=NAME, national_id=NATIONAL_ID))
    return loan.borrower


def _change(borrower) -> str:
    return reverse("admin:consent_app_borrower_change", args=[borrower.pk])


def _reveal(borrower, field: str) -> str:
    return reverse("admin:consent_app_borrower_reveal", args=[borrower.pk, field])


def _no_clear_pii(body: str, *names: str) -> bool:
    return not any(value in body for value in (*names, NATIONAL_ID))


def _reveals():
    return AuditEvent.objects.filter(action=AuditAction.PII_REVEALED)


# --- Masked everywhere --------------------------------------------------------------------------------------------


def test_the_borrower_list_shows_neither_the_name_nor_the_national_id(client, compliance, borrower):
    client.force_login(compliance)
    body = client.get(reverse("admin:consent_app_borrower_changelist")).content.decode()
    assert borrower.borrower_ref in body and "****7531" in body
    assert _no_clear_pii(body, NAME)


def test_the_change_page_masks_both_and_offers_to_reveal_them(client, compliance, borrower):
    client.force_login(compliance)
    response = client.get(_change(borrower))
    body = response.content.decode()
    assert _no_clear_pii(body, NAME)
    assert f'href="{_reveal(borrower, "full_name")}"' in body and f'href="{_reveal(borrower, "national_id")}"' in body
    assert "****7531" in body
    assert not _reveals().exists()  # opening the page reveals nothing


def test_a_supervisor_sees_the_name_masked_and_no_way_to_the_national_id(client, supervisor, borrower):
    client.force_login(supervisor)
    body = client.get(_change(borrower)).content.decode()
    assert _no_clear_pii(body, NAME)
    assert f'href="{_reveal(borrower, "full_name")}"' in body
    assert _reveal(borrower, "national_id") not in body


def test_the_history_and_version_pages_do_not_show_them_either(client, compliance, borrower):
    borrower_upsert(borrower_ref=borrower.borrower_ref, full_name=NEW_NAME, jurisdiction="CN",
                    national_id="110101199003079999", timezone_name="Asia/Shanghai", actor=compliance)
    client.force_login(compliance)
    history = client.get(reverse("admin:consent_app_borrower_history", args=[borrower.pk])).content.decode()
    assert _no_clear_pii(history, NAME, NEW_NAME) and "110101199003079999" not in history
    for record in borrower.history.all():
        url = reverse("admin:consent_app_borrower_simple_history", args=[borrower.pk, record.history_id])
        version = client.get(url)
        assert version.status_code == 200
        body = version.content.decode()
        assert _no_clear_pii(body, NAME, NEW_NAME) and "110101199003079999" not in body


# --- Revealed with a reason, for one reader -------------------------------------------------------------------------


def test_revealing_the_name_asks_a_reason_first(client, compliance, borrower):
    client.force_login(compliance)
    page = client.get(_reveal(borrower, "full_name"))
    assert page.status_code == 200 and _no_clear_pii(page.content.decode(), NAME)
    refused = client.post(_reveal(borrower, "full_name"), {"purpose": ""})
    assert refused.status_code == 422 and refused.context["form"].errors["purpose"]
    assert _no_clear_pii(refused.content.decode(), NAME)
    assert not _reveals().exists()


def test_a_reveal_shows_the_name_to_that_reader_only_and_is_audited(client, compliance, borrower):
    client.force_login(compliance)
    response = client.post(_reveal(borrower, "full_name"), {"purpose": RevealPurpose.COMPLAINT_REVIEW})
    assert response.status_code == 200
    assert NAME in response.content.decode() and NATIONAL_ID not in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = _reveals().get()
    assert (event.subject_type, event.subject_id, event.actor_id) == ("consent_app.borrower", str(borrower.pk),
                                                                      compliance.pk)
    assert event.data == {"borrower_ref": borrower.borrower_ref, "field": "full_name", "reason": "complaint_review"}
    # Nothing was kept for anyone else: the next reader, and the same one on the page again, see it masked.
    other = Client()
    other.force_login(f.make_compliance("compliance_two"))
    assert _no_clear_pii(other.get(_change(borrower)).content.decode(), NAME)
    assert _no_clear_pii(client.get(_change(borrower)).content.decode(), NAME)


def test_a_compliance_officer_reveals_the_national_id(client, compliance, borrower):
    client.force_login(compliance)
    response = client.post(_reveal(borrower, "national_id"), {"purpose": RevealPurpose.IDENTITY_CHECK})
    assert response.status_code == 200 and NATIONAL_ID in response.content.decode()
    assert _reveals().get().data["field"] == "national_id"


def test_a_supervisor_reveals_the_name_of_their_teams_borrower_but_never_a_national_id(client, supervisor, borrower):
    client.force_login(supervisor)
    response = client.post(_reveal(borrower, "full_name"), {"purpose": RevealPurpose.IDENTITY_CHECK})
    assert response.status_code == 200 and NAME in response.content.decode()
    refused = client.post(_reveal(borrower, "national_id"), {"purpose": RevealPurpose.IDENTITY_CHECK})
    assert refused.status_code == 403 and NATIONAL_ID not in refused.content.decode()
    assert _reveals().count() == 1


def test_another_teams_borrower_is_not_found(client, other_supervisor, borrower):
    client.force_login(other_supervisor)
    response = client.post(_reveal(borrower, "full_name"), {"purpose": RevealPurpose.IDENTITY_CHECK})
    assert response.status_code == 404 and NAME not in response.content.decode()
    assert not _reveals().exists()


def test_only_the_name_and_the_national_id_are_revealed_here(client, compliance, borrower):
    client.force_login(compliance)
    assert client.post(_reveal(borrower, "timezone"), {"purpose": RevealPurpose.IDENTITY_CHECK}).status_code == 404


def test_a_collector_does_not_reach_the_reveal(client, collector, borrower):
    client.force_login(collector)
    response = client.post(_reveal(borrower, "full_name"), {"purpose": RevealPurpose.IDENTITY_CHECK})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not _reveals().exists()


def test_the_complaint_evidence_lists_the_reveal_with_its_purpose(collector, compliance):
    loan = make_cn_loan(collector)
    with time_machine.travel(MORNING, tick=False):
        borrower_reveal(borrower=loan.borrower, field="full_name", purpose=RevealPurpose.COMPLAINT_REVIEW,
                        actor=compliance)
        complaint = open_complaint(loan, collector)
    reveals = complaint_evidence(complaint, now=MORNING + dt.timedelta(hours=1)).reveals
    assert [(r.actor, r.number, r.field, r.reason) for r in reveals] == [
        ("compliance_officer", "", "full_name", str(RevealPurpose.COMPLAINT_REVIEW.label))]


# --- Corrections ----------------------------------------------------------------------------------------------------


def _management_forms(response) -> dict[str, str]:
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


def test_a_correction_replaces_the_name_and_an_empty_one_keeps_it(client, compliance, borrower):
    client.force_login(compliance)
    base = _management_forms(client.get(_change(borrower))) | {"jurisdiction": "CN", "timezone": "Asia/Shanghai"}
    assert client.post(_change(borrower), base | {"new_full_name": NEW_NAME}).status_code == 302
    borrower.refresh_from_db()
    assert (borrower.full_name, borrower.national_id) == (NEW_NAME, NATIONAL_ID)
    assert client.post(_change(borrower), base | {"timezone": "Asia/Urumqi"}).status_code == 302
    borrower.refresh_from_db()
    assert (borrower.full_name, borrower.timezone) == (NEW_NAME, "Asia/Urumqi")


# --- A third party's name, masked the same way ---------------------------------------------------------------------

CONTACT_NAME = "诸葛春燕"
CONTACT_NEW_NAME = "诸葛秋燕"


@pytest.fixture
def contact(borrower):
    return f.ThirdPartyContactFactory(borrower=borrower, full_name=CONTACT_NAME, relation="parent")


def _contact_reveal(contact) -> str:
    return reverse("admin:consent_app_thirdpartycontact_reveal", args=[contact.pk])


def test_a_third_partys_name_is_masked_on_its_list_page_and_history(client, compliance, contact):
    from consent_app.services import ThirdPartyInput, third_party_upsert

    third_party_upsert(borrower=contact.borrower, actor=compliance, data=ThirdPartyInput(
        contact_ref=contact.contact_ref, name=CONTACT_NEW_NAME, relation="parent", authorized=False,
        authorization_evidence=""))
    client.force_login(compliance)
    pages = [reverse("admin:consent_app_thirdpartycontact_changelist"),
             reverse("admin:consent_app_thirdpartycontact_change", args=[contact.pk]),
             reverse("admin:consent_app_thirdpartycontact_history", args=[contact.pk]),
             _change(contact.borrower)]
    pages += [reverse("admin:consent_app_thirdpartycontact_simple_history", args=[contact.pk, r.history_id])
              for r in contact.history.all()]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert CONTACT_NAME not in body and CONTACT_NEW_NAME not in body, url
    assert _contact_reveal(contact) in client.get(pages[1]).content.decode()
    assert not _reveals().exists()  # opening the pages revealed nothing


def test_a_third_partys_name_is_shown_to_the_reader_who_says_why_and_audited(client, supervisor, contact):
    client.force_login(supervisor)
    refused = client.post(_contact_reveal(contact), {"purpose": ""})
    assert refused.status_code == 422 and CONTACT_NAME not in refused.content.decode()
    response = client.post(_contact_reveal(contact), {"purpose": RevealPurpose.IDENTITY_CHECK})
    assert response.status_code == 200 and CONTACT_NAME in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = _reveals().get()
    assert (event.subject_type, event.subject_id) == ("consent_app.thirdpartycontact", str(contact.pk))
    assert event.data == {"borrower_ref": contact.borrower.borrower_ref, "field": "third_party.full_name",
                          "reason": "identity_check"}


def test_another_teams_third_party_is_not_found(client, other_supervisor, contact):
    client.force_login(other_supervisor)
    response = client.post(_contact_reveal(contact), {"purpose": RevealPurpose.IDENTITY_CHECK})
    assert response.status_code == 404 and CONTACT_NAME not in response.content.decode()
    assert not _reveals().exists()


def test_a_third_partys_name_is_corrected_without_being_shown(client, compliance, contact):
    client.force_login(compliance)
    url = reverse("admin:consent_app_thirdpartycontact_change", args=[contact.pk])
    data = {"new_full_name": CONTACT_NEW_NAME, "relation": "parent", "authorized": "", "authorization_evidence": "",
            "phones-TOTAL_FORMS": "0", "phones-INITIAL_FORMS": "0"}
    page = client.get(url)
    for inline in page.context["inline_admin_formsets"]:
        data |= {f"{inline.formset.prefix}-TOTAL_FORMS": "0", f"{inline.formset.prefix}-INITIAL_FORMS": "0"}
    assert client.post(url, data).status_code == 302
    contact.refresh_from_db()
    assert contact.full_name == CONTACT_NEW_NAME
    # Left empty, the name stays.
    assert client.post(url, {**data, "new_full_name": "", "relation": "spouse"}).status_code == 302
    contact.refresh_from_db()
    assert (contact.full_name, contact.relation) == (CONTACT_NEW_NAME, "spouse")
