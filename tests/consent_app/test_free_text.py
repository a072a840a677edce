"""Free text people type about a borrower — a restriction's reason and lift reason, why a number's status changed,
why a full number was read — is stored encrypted (also in the history tables), kept whole up to its limit and
refused beyond it (never cut short), and never copied into a history change reason or an audit event."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit_app.models import AuditAction, AuditEvent
from consent_app.models import FREE_TEXT_MAX_LENGTH, REVEAL_REASON_MAX_LENGTH, PhoneNumber, PiiAccess, Restriction
from consent_app.services import phone_reveal, phone_set_status, restriction_lift, restriction_place
from tests import factories as f

pytestmark = pytest.mark.django_db

# Sentinels typed by a person: a name and an illness, what these fields end up holding in practice.
PLACED = "Wife Liu Fang called: he is in hospital (cancer)"
LIFTED = "Liu Fang says he is back at work"
STATUS = "Number now belongs to Zhou Min"
REVEALED = "Calling Zhou Min back about her brother"


def _raw_text(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names are ours
        rows = cursor.fetchall()
    assert rows, f"{table} is empty: the test would prove nothing"
    return " ".join(
        (value.tobytes() if isinstance(value, memoryview) else value).decode("latin-1")
        if isinstance(value, bytes | memoryview) else str(value)
        for row in rows for value in row
    )


def _audit_text() -> str:
    return json.dumps(list(AuditEvent.objects.values_list("data", flat=True)))


@pytest.fixture
def lifted(compliance):
    borrower = f.BorrowerFactory()
    restriction = restriction_place(borrower=borrower, kind="dispute", starts_at=timezone.now(), reason=PLACED,
                                    actor=compliance)
    return restriction_lift(restriction=restriction, actor=compliance, reason=LIFTED)


@pytest.fixture
def phone(compliance):
    phone = f.PhoneNumberFactory(borrower=f.BorrowerFactory())
    return phone_set_status(phone=phone, status="wrong_number", actor=compliance, reason=STATUS)


@pytest.mark.parametrize(("table", "plain"), [
    ("consent_app_restriction", PLACED),
    ("consent_app_restriction", LIFTED),
    ("consent_app_historicalrestriction", PLACED),
    ("consent_app_historicalrestriction", LIFTED),
])
def test_a_restrictions_reasons_are_encrypted_at_rest_and_in_history(lifted, table, plain):
    assert plain not in _raw_text(table)
    assert "Liu Fang" not in _raw_text(table)


def test_a_restrictions_reasons_read_back_whole(lifted):
    restriction = Restriction.objects.get(pk=lifted.pk)
    assert (restriction.reason, restriction.lift_reason) == (PLACED, LIFTED)
    assert {h.reason for h in restriction.history.all()} == {PLACED}
    assert restriction.history.first().lift_reason == LIFTED


def test_no_reason_reaches_the_audit_log_or_a_change_reason(lifted, phone):
    phone_reveal(phone=phone, actor=lifted.created_by, reason=REVEALED)
    assert "Liu Fang" not in _audit_text() and "Zhou Min" not in _audit_text()
    changes = {*Restriction.history.values_list("history_change_reason", flat=True),
               *PhoneNumber.history.values_list("history_change_reason", flat=True)}
    assert not any(name in (change or "") for change in changes for name in ("Liu Fang", "Zhou Min"))


def test_a_status_change_keeps_its_reason_encrypted_on_the_number_and_its_history(phone):
    assert PhoneNumber.objects.get(pk=phone.pk).last_status_reason == STATUS
    latest = phone.history.first()
    assert (latest.last_status_reason, latest.history_change_reason) == (STATUS, "status changed")
    for table in ("consent_app_phonenumber", "consent_app_historicalphonenumber"):
        assert "Zhou Min" not in _raw_text(table)
    event = AuditEvent.objects.get(action=AuditAction.PHONE_STATUS_CHANGED)
    assert event.data == {"from": "active", "to": "wrong_number"}


def test_a_reveal_keeps_its_reason_on_an_encrypted_access_record_the_event_names(compliance):
    phone = f.PhoneNumberFactory(borrower=f.BorrowerFactory())
    assert phone_reveal(phone=phone, actor=compliance, reason=f"  {REVEALED}  ") == phone.e164
    access = PiiAccess.objects.get()
    assert (access.phone, access.actor, access.reason) == (phone, compliance, REVEALED)
    event = AuditEvent.objects.get(action=AuditAction.PII_REVEALED)
    assert event.data == {"borrower_ref": phone.borrower.borrower_ref, "field": "e164", "access_id": access.pk}
    assert "Zhou Min" not in _raw_text("consent_app_piiaccess")


@pytest.mark.parametrize(("call", "field"), [
    (lambda actor, text: restriction_place(borrower=f.BorrowerFactory(), kind="dispute", starts_at=timezone.now(),
                                           reason=text, actor=actor), "reason"),
    (lambda actor, text: restriction_lift(restriction=f.RestrictionFactory(kind="dispute"), actor=actor,
                                          reason=text), "reason"),
    (lambda actor, text: phone_set_status(phone=f.PhoneNumberFactory(borrower=f.BorrowerFactory()),
                                          status="wrong_number", actor=actor, reason=text), "status_reason"),
])
def test_a_reason_longer_than_the_limit_is_refused_not_cut_short(compliance, call, field):
    kept = call(compliance, "x" * FREE_TEXT_MAX_LENGTH)  # the longest allowed is kept whole
    assert FREE_TEXT_MAX_LENGTH * "x" in {getattr(kept, name, "") for name in ("reason", "lift_reason",
                                                                             "last_status_reason")}
    with pytest.raises(ValidationError) as refused:
        call(compliance, "x" * (FREE_TEXT_MAX_LENGTH + 1))
    assert field in refused.value.message_dict


def test_a_reveal_reason_longer_than_its_limit_is_refused_and_reveals_nothing(compliance):
    phone = f.PhoneNumberFactory(borrower=f.BorrowerFactory())
    with pytest.raises(ValidationError):
        phone_reveal(phone=phone, actor=compliance, reason="x" * (REVEAL_REASON_MAX_LENGTH + 1))
    assert not PiiAccess.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.PII_REVEALED).exists()


def test_the_admin_lift_form_refuses_a_reason_beyond_the_limit(client, compliance):
    restriction = f.RestrictionFactory(kind="dispute")
    client.force_login(compliance)
    url = reverse("admin:consent_app_restriction_change", args=[restriction.pk])
    response = client.post(url, {"lift": "on", "lift_reason_text": "x" * (FREE_TEXT_MAX_LENGTH + 1)})
    assert response.status_code == 200 and "lift_reason_text" in response.context["adminform"].form.errors
    assert Restriction.objects.get(pk=restriction.pk).lifted_at is None
    response = client.post(url, {"lift": "on", "lift_reason_text": "x" * FREE_TEXT_MAX_LENGTH})
    assert response.status_code == 302
    assert Restriction.objects.get(pk=restriction.pk).lift_reason == "x" * FREE_TEXT_MAX_LENGTH
