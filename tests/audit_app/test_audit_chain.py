"""The audit log is append-only and tamper-evident: the ORM refuses to change or remove an event, the admin only
shows them, and `verify_audit_chain` detects a row edited or removed behind the ORM's back."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit_app.models import AppendOnlyError, AuditAction, AuditEvent
from audit_app.services import audit_log
from collections_app.loans.services import loan_assign, loan_upsert
from consent_app.models import PhoneNumber
from consent_app.services import (
    PhoneInput,
    borrower_upsert,
    consent_grant,
    consent_withdraw,
    restriction_lift,
    restriction_place,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(compliance, collector):
    """A realistic run of services, each writing its event in its own transaction step."""
    borrower, _ = borrower_upsert(
        borrower_ref="B-AUD-1", full_name="Zhang San", national_id="110101199003077531", jurisdiction="CN",
        phones=[PhoneInput(number="13800138000")], actor=compliance,
    )
    phone = PhoneNumber.objects.get(borrower=borrower)
    consent = consent_grant(phone=phone, channels=["call"], basis="written", evidence_ref="EV-1",
                            granted_at=timezone.now() - dt.timedelta(days=1), actor=compliance)
    loan, _ = loan_upsert(loan_ref="L-AUD-1", borrower=borrower, principal="100.00", balance="100.00",
                          currency="CNY", due_date=timezone.localdate(), actor=None)
    loan_assign(loan=loan, collector=collector, actor=compliance)
    restriction = restriction_place(borrower=borrower, kind="dispute", starts_at=timezone.now(), reason="disputed",
                                    actor=compliance)
    restriction_lift(restriction=restriction, actor=compliance, reason="verified")
    consent_withdraw(consent=consent, via="letter", actor=compliance)
    return list(AuditEvent.objects.order_by("id"))


def _verify() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("verify_audit_chain", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _verify_fails() -> str:
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_chain", stdout=StringIO(), stderr=err)
    return err.getvalue()


# --- Append-only in the ORM -------------------------------------------------------------------------------------


def test_an_event_cannot_be_saved_again_after_a_change(events):
    event = events[0]
    event.action = AuditAction.IMPORT_RUN
    with pytest.raises(AppendOnlyError):
        event.save()
    event.refresh_from_db()
    assert event.action == AuditAction.BORROWER_CREATED


def test_a_queryset_update_is_refused(events):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=events[0].pk).update(actor_label="mallory")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().update(data={})


def test_bulk_update_and_bulk_create_are_refused(events):
    events[0].actor_label = "mallory"
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([events[0]], ["actor_label"])
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_create([AuditEvent(occurred_at=timezone.now(), action="x", hash="y")])


def test_an_event_cannot_be_deleted(events):
    with pytest.raises(AppendOnlyError):
        events[0].delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=events[0].pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == len(events)


def test_the_base_manager_cannot_update_either(events):
    with pytest.raises(AppendOnlyError):
        AuditEvent._base_manager.filter(pk=events[0].pk).update(actor_label="mallory")


def test_the_database_itself_refuses_raw_updates_and_deletes_on_postgresql(events):
    from django.db import DatabaseError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is installed on PostgreSQL")
    for sql in ("UPDATE audit_app_auditevent SET actor_label = 'mallory'", "DELETE FROM audit_app_auditevent"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.filter(actor_label="mallory").count() == 0


# --- Admin: view only --------------------------------------------------------------------------------------------


def test_the_admin_shows_an_event_but_refuses_to_change_or_delete_it(client, compliance, events):
    event = events[0]
    client.force_login(compliance)
    change_url = reverse("admin:audit_app_auditevent_change", args=[event.pk])
    response = client.get(change_url)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert 'name="_save"' not in response.content.decode()
    assert client.post(change_url, {"actor_label": "mallory"}).status_code == 403
    delete_url = reverse("admin:audit_app_auditevent_delete", args=[event.pk])
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_app_auditevent_add")).status_code == 403
    event.refresh_from_db()
    assert event.actor_label == compliance.username


# --- The hash chain ----------------------------------------------------------------------------------------------


def test_services_write_a_continuous_chain(events):
    assert len(events) >= 8
    assert events[0].prev_hash == "0" * 64
    for previous, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == previous.hash
        assert event.compute_hash() == event.hash
    out, err = _verify()
    assert f"audit chain intact ({len(events)} events)" in out
    assert err == ""


def _tamper(sql, params):
    """Someone with database owner rights edits the table directly (on PostgreSQL they must first switch off
    the append-only trigger): the hash chain still shows it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks, or ALTER TABLE refuses
            cursor.execute("ALTER TABLE audit_app_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_app_auditevent ENABLE TRIGGER audit_event_append_only")


def test_a_row_edited_with_raw_sql_breaks_the_chain_at_that_event(events):
    tampered = events[3]
    _tamper("UPDATE audit_app_auditevent SET actor_label = %s WHERE id = %s", ["mallory", tampered.pk])
    err = _verify_fails()
    assert f"event {tampered.pk}: hash does not match" in err
    # Only the edited event is named: the next one still links to the stored (unchanged) hash.
    assert f"event {events[4].pk}:" not in err


def test_a_row_removed_with_raw_sql_breaks_the_chain_at_the_next_event(events):
    removed, following = events[2], events[3]
    _tamper("DELETE FROM audit_app_auditevent WHERE id = %s", [removed.pk])
    err = _verify_fails()
    assert f"event {following.pk}: prev_hash does not match" in err


def test_removing_the_last_rows_is_detected_by_the_chain_head(events):
    _tamper("DELETE FROM audit_app_auditevent WHERE id = %s", [events[-1].pk])
    err = _verify_fails()
    assert "chain head" in err


def test_events_written_after_a_verification_keep_the_chain(events, compliance):
    _verify()
    audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id="batch-1", actor=compliance)
    out, _err = _verify()
    assert f"({len(events) + 1} events)" in out
