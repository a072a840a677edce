"""Withdrawing a consent in admin, on its page or by the list's action: how the borrower asked, the channels,
the evidence reference and an explicit confirmation are all required; missing any is an error and withdraws
nothing; the audit event carries them."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from consent_app.models import Consent
from consent_app.services import consent_withdraw
from tests import factories as f

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:consent_app_consent_changelist")
COMPLETE = {"withdraw_via": "letter", "withdraw_channels": ["call", "sms"], "withdraw_evidence_ref": "LETTER-2026-0042",
            "withdraw_confirm": "on"}


@pytest.fixture
def consent(loan):
    return Consent.objects.get(phone__borrower=loan.borrower)


def _page(consent) -> str:
    return reverse("admin:consent_app_consent_change", args=[consent.pk])


def _withdrawn_nothing(consent) -> bool:
    consent.refresh_from_db()
    return consent.withdrawn_at is None and not AuditEvent.objects.filter(action=AuditAction.CONSENT_WITHDRAWN).exists()


# --- On the consent's page ------------------------------------------------------------------------------------------


def test_a_complete_withdrawal_on_the_page_is_audited_with_its_channels_and_evidence(client, compliance, consent):
    client.force_login(compliance)
    response = client.post(_page(consent), COMPLETE)
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None and consent.withdrawn_via == "letter"
    event = AuditEvent.objects.get(action=AuditAction.CONSENT_WITHDRAWN)
    assert (event.subject_id, event.actor_id) == (str(consent.pk), compliance.pk)
    assert event.data["via"] == "letter" and event.data["channels"] == ["call", "sms"]
    assert event.data["evidence_ref"] == "LETTER-2026-0042" and event.data["kept_channels"] == []


@pytest.mark.parametrize("missing", ["withdraw_via", "withdraw_channels", "withdraw_evidence_ref", "withdraw_confirm"])
def test_a_withdrawal_missing_any_part_is_an_error_and_withdraws_nothing(client, compliance, consent, missing):
    client.force_login(compliance)
    response = client.post(_page(consent), {key: value for key, value in COMPLETE.items() if key != missing})
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [missing]
    assert _withdrawn_nothing(consent)


def test_saving_the_page_with_nothing_filled_keeps_the_consent(client, compliance, consent):
    client.force_login(compliance)
    assert client.post(_page(consent), {}).status_code == 302
    assert _withdrawn_nothing(consent)


@pytest.mark.parametrize("reference", ["13800138000", "138 0013 8000", "borrower called on Monday", "x" * 65])
def test_an_evidence_reference_that_is_a_number_or_a_sentence_is_refused(client, compliance, consent, reference):
    client.force_login(compliance)
    response = client.post(_page(consent), COMPLETE | {"withdraw_evidence_ref": reference})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "withdraw_evidence_ref" in errors and reference not in str(errors)  # the message does not repeat it
    assert _withdrawn_nothing(consent)


def test_a_channel_the_consent_does_not_cover_is_refused(client, compliance, loan):
    consent = f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=loan.borrower), allows_sms=False)
    client.force_login(compliance)
    response = client.post(_page(consent), COMPLETE | {"withdraw_channels": ["sms"]})
    assert response.status_code == 200 and "withdraw_channels" in response.context["adminform"].form.errors
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_withdrawing_one_channel_keeps_the_other_under_a_new_consent(client, compliance, consent):
    client.force_login(compliance)
    assert client.post(_page(consent), COMPLETE | {"withdraw_channels": ["call"]}).status_code == 302
    kept = Consent.objects.get(phone=consent.phone, withdrawn_at__isnull=True)
    assert kept.channels == ["sms"]
    event = AuditEvent.objects.get(action=AuditAction.CONSENT_WITHDRAWN)
    assert event.data["channels"] == ["call"] and event.data["kept_channels"] == ["sms"]
    assert event.data["replacement_consent_id"] == kept.pk


def test_a_supervisor_cannot_withdraw_in_admin(client, supervisor, consent):
    client.force_login(supervisor)
    assert client.post(_page(consent), COMPLETE).status_code == 403
    assert _withdrawn_nothing(consent)


# --- The list's action ------------------------------------------------------------------------------------------------


def _action(consents, **fields):
    return {"action": "withdraw_selected", "_selected_action": [str(c.pk) for c in consents], **fields}


ACTION_COMPLETE = {"apply": "yes", "via": "phone", "channels": ["call", "sms"], "evidence_ref": "REC-2026-0042",
                   "confirm": "on"}


def test_the_action_first_asks_and_withdraws_nothing(client, compliance, consent):
    client.force_login(compliance)
    response = client.post(CHANGELIST, _action([consent]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="evidence_ref"' in body and 'name="confirm"' in body
    assert consent.phone.masked in body and consent.phone.e164 not in body
    assert _withdrawn_nothing(consent)


@pytest.mark.parametrize("missing", ["via", "channels", "evidence_ref", "confirm"])
def test_the_action_missing_any_part_is_an_error_and_withdraws_nothing(client, compliance, consent, missing):
    client.force_login(compliance)
    fields = {key: value for key, value in ACTION_COMPLETE.items() if key != missing}
    response = client.post(CHANGELIST, _action([consent], **fields))
    assert response.status_code == 422
    assert list(response.context["form"].errors) == [missing]
    assert _withdrawn_nothing(consent)


def test_the_action_withdraws_each_consent_for_the_channels_it_covers(client, compliance, consent, loan):
    call_only = f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=loan.borrower), allows_sms=False)
    client.force_login(compliance)
    response = client.post(CHANGELIST, _action([consent, call_only], **ACTION_COMPLETE | {"channels": ["sms"]}))
    assert response.status_code == 302
    consent.refresh_from_db()
    call_only.refresh_from_db()
    assert consent.withdrawn_at is not None and call_only.withdrawn_at is None  # it covers no SMS
    event = AuditEvent.objects.get(action=AuditAction.CONSENT_WITHDRAWN)
    assert event.subject_id == str(consent.pk)
    assert (event.data["via"], event.data["channels"], event.data["evidence_ref"]) == ("phone", ["sms"],
                                                                                      "REC-2026-0042")


def test_the_action_on_another_teams_consent_changes_nothing(client, supervisor, other_collector):
    other = f.LoanFactory(assigned_collector=other_collector)
    consent = f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=other.borrower))
    client.force_login(supervisor)
    response = client.post(CHANGELIST, _action([consent], **ACTION_COMPLETE))
    # Not theirs to do (no change right on consents, and not their team's row): refused or not offered.
    assert response.status_code in (200, 302, 403)
    assert not [m for m in get_messages(response.wsgi_request) if m.level == messages.SUCCESS]
    assert _withdrawn_nothing(consent)


# --- The service ----------------------------------------------------------------------------------------------------


def test_the_service_refuses_an_evidence_reference_that_is_not_one(consent, compliance):
    with pytest.raises(ValidationError) as refused:
        consent_withdraw(consent=consent, via="letter", evidence_ref="13800138000", actor=compliance)
    assert "evidence_ref" in refused.value.message_dict
    assert _withdrawn_nothing(consent)


def test_a_withdrawal_without_evidence_stays_possible_outside_the_admin(consent, collector):
    # PIPL art. 15: a borrower's "stop calling me" during a call withdraws at once, with no reference to give.
    consent_withdraw(consent=consent, via="opt_out", channels=("call",), actor=collector)
    event = AuditEvent.objects.get(action=AuditAction.CONSENT_WITHDRAWN)
    assert event.data["evidence_ref"] is None and event.data["channels"] == ["call"]
