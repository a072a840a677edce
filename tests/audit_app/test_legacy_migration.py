"""Migration 0006: events written under the old plain SHA-256 chain are verified the old way, then re-sealed under
the keyed chain, so an existing database verifies after `migrate`; a broken legacy chain stops the migration."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit_app.models import AuditChainHead, AuditEvent
from tests.audit_app.helpers import tamper, verify

pytestmark = pytest.mark.django_db

migration = importlib.import_module("audit_app.migrations.0006_seal_existing_events")


def _legacy_events(n: int) -> list[int]:
    """Rows as the pre-keyed audit_log wrote them: prev_hash/hash set at insert, no seq, head moved along."""
    prev, ids = "0" * 64, []
    at = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    for i in range(n):
        row = SimpleNamespace(prev_hash=prev, occurred_at=at + dt.timedelta(seconds=i), actor_id=None,
                              actor_label="system", action="import.run", subject_type="import",
                              subject_id=f"legacy-{i}", data={"rows": i})
        digest = migration.legacy_hash(row)
        tamper(
            "INSERT INTO audit_app_auditevent (occurred_at, actor_label, action, subject_type, subject_id, data, "
            "prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [row.occurred_at, "system", "import.run", "import", row.subject_id, f'{{"rows": {i}}}', prev, digest],
        )
        prev = digest
        ids.append(AuditEvent.objects.get(subject_id=row.subject_id).pk)
    AuditChainHead.objects.update_or_create(pk=1, defaults={"count": n, "last_hash": prev, "key_id": "", "mac": ""})
    return ids


def _run_migration(direction: str = "reseal") -> None:
    state_apps = MigrationExecutor(connection).loader.project_state(("audit_app", "0005_keyed_chain")).apps

    def execute(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # PostgreSQL: no pending FK checks before DDL
            cursor.execute(sql)

    editor = SimpleNamespace(connection=connection, execute=execute if connection.vendor == "postgresql" else None)
    getattr(migration, direction)(state_apps, editor)


def test_an_intact_legacy_chain_is_resealed_and_verifies():
    ids = _legacy_events(4)
    _run_migration()
    chain = list(AuditEvent.objects.order_by("seq"))
    assert [e.pk for e in chain] == ids
    assert [e.seq for e in chain] == [1, 2, 3, 4]
    out, _err = verify("--no-seal")
    assert "audit chain intact (4 events, 4 sealed" in out


def test_a_broken_legacy_chain_stops_the_migration(monkeypatch):
    ids = _legacy_events(3)
    tamper("UPDATE audit_app_auditevent SET data = %s WHERE id = %s", ['{"rows": 99}', ids[1]])
    with pytest.raises(RuntimeError, match=f"event {ids[1]}: hash does not match"):
        _run_migration()
    monkeypatch.setenv("AUDIT_RESEAL_BROKEN_LEGACY_CHAIN", "1")
    _run_migration()  # the operator's explicit decision
    verify("--no-seal")


def test_migrating_back_rebuilds_a_legacy_chain_and_forward_again_reseals_it():
    ids = _legacy_events(3)
    _run_migration()
    _run_migration("unseal")
    events = list(AuditEvent.objects.order_by("id"))
    assert migration.legacy_breaks(events, AuditChainHead.objects.get(pk=1)) == []
    tamper("UPDATE audit_app_auditevent SET seq = NULL, key_id = NULL, sealed_at = NULL")  # 0005's reverse drops them
    _run_migration()
    assert [e.pk for e in AuditEvent.objects.order_by("seq")] == ids
    verify("--no-seal")
