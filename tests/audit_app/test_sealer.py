"""Appending and sealing: writers only insert; the sealer chains committed events in id order, once each, after
the writer's transaction commits (or on beat's schedule); one bulk append for imports; chain keys rotate."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from audit_app.models import AppendOnlyError, AuditAction, AuditEvent
from audit_app.services import AuditEntry, audit_chain_seal, audit_log, audit_log_bulk
from tests import factories as f
from tests.audit_app.helpers import verify, verify_fails

pytestmark = pytest.mark.django_db


def _log(n: int, prefix: str = "e") -> list[AuditEvent]:
    return [audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id=f"{prefix}-{i}")
            for i in range(n)]


def _chain() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__isnull=False).order_by("seq"))


# --- Writers -----------------------------------------------------------------------------------------------------


def test_audit_log_only_inserts_an_unsealed_event(django_assert_num_queries):
    with django_assert_num_queries(1):  # INSERT INTO audit_app_auditevent; no lock, no head row
        event = audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id="b-1", data={"rows": 3})
    event.refresh_from_db()
    assert not event.is_sealed
    assert (event.seq, event.prev_hash, event.hash, event.key_id, event.sealed_at) == (None,) * 5
    assert event.data == {"rows": 3}


def test_audit_log_keeps_its_signature_and_semantics(compliance):
    borrower = f.BorrowerFactory()
    event = audit_log(action=AuditAction.BORROWER_UPDATED, subject=borrower, actor=compliance,
                      data={"fields": ["jurisdiction"]})
    assert (event.subject_type, event.subject_id) == ("consent_app.borrower", str(borrower.pk))
    assert (event.actor_id, event.actor_label) == (compliance.pk, compliance.username)
    with pytest.raises(TypeError):
        audit_log(action="borrower.updated")  # type: ignore[arg-type]


def test_an_event_rolled_back_with_its_transaction_is_never_sealed():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id="rolled-back")
        raise RuntimeError
    assert audit_chain_seal() == 0
    assert not AuditEvent.objects.exists()


def test_a_hand_built_event_cannot_carry_a_seal():
    forged = AuditEvent(occurred_at=timezone.now(), action="import.run", actor_label="x", subject_type="import",
                        subject_id="1", seq=1, hash="f" * 64)
    with pytest.raises(AppendOnlyError):
        forged.save()
    assert not AuditEvent.objects.exists()


# --- The sealer --------------------------------------------------------------------------------------------------


def test_the_sealer_chains_events_in_id_order_with_consecutive_positions():
    events = _log(5)
    assert audit_chain_seal() == 5
    chain = _chain()
    assert [e.pk for e in chain] == [e.pk for e in events]
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))


def test_the_sealer_is_idempotent():
    _log(3)
    assert audit_chain_seal() == 3
    before = [(e.pk, e.seq, e.hash, e.sealed_at) for e in _chain()]
    assert audit_chain_seal() == 0
    assert [(e.pk, e.seq, e.hash, e.sealed_at) for e in _chain()] == before


def test_a_later_run_continues_the_chain_where_the_last_one_stopped():
    _log(3)
    audit_chain_seal()
    _log(2, "later")
    assert audit_chain_seal() == 2
    assert [e.seq for e in _chain()] == [1, 2, 3, 4, 5]
    out, _err = verify()
    assert "audit chain intact (5 events, 5 sealed" in out


def test_a_backlog_is_sealed_in_several_short_batches():
    _log(7)
    assert audit_chain_seal(batch_size=3) == 7
    assert [e.seq for e in _chain()] == list(range(1, 8))
    verify()


# --- Sealing after commit ----------------------------------------------------------------------------------------


def test_a_transaction_schedules_one_seal_however_many_events_it_writes(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        _log(3)
        audit_log_bulk(entries=[AuditEntry(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id="b")])
        assert not AuditEvent.objects.filter(seq__isnull=False).exists()  # nothing sealed before the commit
    assert len(callbacks) == 1
    assert [e.seq for e in _chain()] == [1, 2, 3, 4]  # eager Celery: the seal ran right after the commit


def test_a_rolled_back_savepoint_does_not_swallow_the_seal(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                _log(1, "rolled-back")
                raise RuntimeError
        except RuntimeError:
            pass
        _log(1, "kept")
    assert len(callbacks) == 1
    assert [e.subject_id for e in _chain()] == ["kept-0"]


def test_without_seal_on_commit_only_the_beat_task_seals(settings, django_capture_on_commit_callbacks):
    from audit_app.tasks import seal_chain

    settings.AUDIT_SEAL_ON_COMMIT = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        _log(2)
    assert callbacks == []
    assert not AuditEvent.objects.filter(seq__isnull=False).exists()
    assert seal_chain.delay().get() == 2


def test_beat_runs_the_sealer_every_second_and_the_checkpoint_writer(settings):
    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["audit_app.seal_chain"]["schedule"] == 1.0
    assert schedule["audit_app.write_checkpoint"]["schedule"] == float(settings.AUDIT_CHECKPOINT_SECONDS) == 60.0


# --- Bulk append -------------------------------------------------------------------------------------------------


def test_a_bulk_append_is_one_insert_and_is_sealed_in_list_order(compliance, django_assert_num_queries):
    borrower = f.BorrowerFactory()
    entries = [AuditEntry(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id=f"row-{i}",
                          data={"line": i}) for i in range(50)]
    entries.append(AuditEntry(action=AuditAction.BORROWER_CREATED, subject=borrower))
    with django_assert_num_queries(1):  # one INSERT ... VALUES (...) x 51
        created = audit_log_bulk(entries=entries, actor=compliance)
    assert len(created) == 51 and all(e.pk for e in created)
    assert audit_chain_seal() == 51
    chain = _chain()
    assert [e.subject_id for e in chain] == [f"row-{i}" for i in range(50)] + [str(borrower.pk)]
    assert chain[-1].subject_type == "consent_app.borrower"
    assert {e.actor_label for e in chain} == {compliance.username}
    assert chain[7].data == {"line": 7}
    verify()


def test_a_bulk_append_of_nothing_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert audit_log_bulk(entries=[]) == []


def test_a_bulk_append_refuses_free_string_actions():
    with pytest.raises(TypeError):
        audit_log_bulk(entries=[AuditEntry(action="import.run")])  # type: ignore[arg-type]
    assert not AuditEvent.objects.exists()


def test_bulk_create_is_refused_outside_audit_log_bulk():
    with pytest.raises(AppendOnlyError, match="audit_log_bulk"):
        AuditEvent.objects.bulk_create([AuditEvent(action="x", actor_label="x")])


# --- Key rotation ------------------------------------------------------------------------------------------------


def test_events_sealed_under_an_older_key_still_verify_after_rotation(settings):
    old, new = settings.AUDIT_CHAIN_KEYS[0], "k9:the-next-chain-key-0000000000000000000"
    old_id = old.split(":", 1)[0]
    settings.AUDIT_CHAIN_KEYS = [old]
    _log(3, "old")
    audit_chain_seal()
    settings.AUDIT_CHAIN_KEYS = [new, old]  # prepend the new key; keep the old one for verification
    _log(2, "new")
    audit_chain_seal()
    assert [e.key_id for e in _chain()] == [old_id, old_id, old_id, "k9", "k9"]
    out, _err = verify()
    assert "audit chain intact (5 events, 5 sealed" in out

    settings.AUDIT_CHAIN_KEYS = [new]  # dropping a key that still seals events is a break, not a silent pass
    err = verify_fails("--no-seal")
    assert err.count("sealed under a key id that is not configured") == 3


def test_a_wrong_key_makes_every_seal_fail(settings):
    _log(2)
    audit_chain_seal()
    key_id = settings.AUDIT_CHAIN_KEYS[0].split(":", 1)[0]
    settings.AUDIT_CHAIN_KEYS = [f"{key_id}:not-the-key-that-sealed-them-000000000000"]
    err = verify_fails("--no-seal")
    assert err.count("hash does not match the event's content") == 2
    assert "the chain head's MAC does not verify" in err
