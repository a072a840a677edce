"""Move existing events to the keyed chain, and let the append-only trigger accept sealing (once).

Events written before the keyed chain carry a plain SHA-256 chain (prev_hash/hash, serialised by the head row's
lock). This migration first verifies that legacy chain exactly as the old `verify_audit_chain` did; if it is
intact, every legacy event is re-sealed in id order under the current AUDIT_CHAIN_KEYS signing key (positions
1..n) and the head is set with its MAC. The old SHA-256 hashes are replaced, not kept: their only purpose was this
verification. A broken legacy chain stops the migration (re-sealing would launder the tampering) unless
AUDIT_RESEAL_BROKEN_LEGACY_CHAIN=1 is set in the environment, which re-seals anyway and prints the breaks.
Backwards, the keyed chain is verified and the legacy SHA-256 chain rebuilt, so 0004's code verifies again.

PostgreSQL: the trigger of 0004 refused every UPDATE and DELETE. It becomes: INSERT only with the seal columns
empty; UPDATE only when every seal column goes from NULL to a value and no other column changes (compared as a
whole row, so a column added later is covered without touching the trigger); DELETE refused.
"""

import datetime as dt
import hashlib
import json
import os

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations

SEAL_COLUMNS = "ARRAY['seq', 'prev_hash', 'hash', 'key_id', 'sealed_at']"
CREATE_TRIGGER = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit events are append-only';
    ELSIF TG_OP = 'INSERT' THEN
        IF NEW.seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL OR NEW.key_id IS NOT NULL
           OR NEW.sealed_at IS NOT NULL THEN
            RAISE EXCEPTION 'audit events are inserted unsealed: only the sealer seals them';
        END IF;
        RETURN NEW;
    END IF;
    -- UPDATE: sealing only, exactly once.
    IF OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL AND OLD.key_id IS NULL
       AND OLD.sealed_at IS NULL
       AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL AND NEW.key_id IS NOT NULL
       AND NEW.sealed_at IS NOT NULL
       AND (to_jsonb(NEW) - {SEAL_COLUMNS}) = (to_jsonb(OLD) - {SEAL_COLUMNS}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (only sealing may set the seal columns, once)';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only
    BEFORE INSERT OR UPDATE OR DELETE ON audit_app_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""
CREATE_OLD_TRIGGER = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_app_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""
DROP_TRIGGER = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_app_auditevent;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


def legacy_hash(event) -> str:
    """The pre-keyed SHA-256 (AuditEvent.compute_hash before this migration), kept here verbatim."""
    payload = json.dumps(
        {
            "prev": event.prev_hash,
            "at": event.occurred_at.isoformat(),
            "actor": event.actor_id,
            "actor_label": event.actor_label,
            "action": event.action,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "data": event.data,
        },
        sort_keys=True,
        cls=DjangoJSONEncoder,
        ensure_ascii=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def legacy_breaks(events, head) -> list[str]:
    breaks, previous = [], "0" * 64
    for event in events:
        if event.prev_hash != previous:
            breaks.append(f"event {event.pk}: prev_hash does not match the previous event")
        if legacy_hash(event) != event.hash:
            breaks.append(f"event {event.pk}: hash does not match the event's content")
        previous = event.hash
    if head is not None and head.last_hash != previous:
        breaks.append("the chain head does not point at the last event (events removed from the end?)")
    return breaks


def reseal(apps, schema_editor):
    # The chain's primitives have no ORM or app state; importing them keeps one definition of a seal.
    from audit_app.chain import EventContent, event_seal, head_mac, parse_chain_keys

    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(DROP_TRIGGER)
    AuditEvent = apps.get_model("audit_app", "AuditEvent")
    AuditChainHead = apps.get_model("audit_app", "AuditChainHead")
    db = schema_editor.connection.alias
    key_id, key = next(iter(parse_chain_keys(settings.AUDIT_CHAIN_KEYS).items()))
    events = list(AuditEvent.objects.using(db).filter(seq__isnull=True).order_by("id"))
    head = AuditChainHead.objects.using(db).filter(pk=1).first()
    breaks = legacy_breaks(events, head)
    if breaks:
        listing = "\n  ".join(breaks[:50])
        if os.environ.get("AUDIT_RESEAL_BROKEN_LEGACY_CHAIN") != "1":
            raise RuntimeError(
                "The legacy audit chain is broken; re-sealing it would hide that. Investigate, or set "
                f"AUDIT_RESEAL_BROKEN_LEGACY_CHAIN=1 to re-seal anyway.\n  {listing}"
            )
        print(f"\n  Re-sealing a BROKEN legacy audit chain (AUDIT_RESEAL_BROKEN_LEGACY_CHAIN=1):\n  {listing}")
    now = dt.datetime.now(dt.UTC)
    prev = "0" * 64
    for seq, event in enumerate(events, start=1):
        content = EventContent(
            event_id=event.pk, seq=seq, key_id=key_id, occurred_at=event.occurred_at, actor_id=event.actor_id,
            actor_label=event.actor_label, action=event.action, subject_type=event.subject_type,
            subject_id=event.subject_id, data=event.data,
        )
        event.seq, event.prev_hash, event.key_id, event.sealed_at = seq, prev, key_id, now
        event.hash = prev = event_seal(key, prev, content)
    AuditEvent.objects.using(db).bulk_update(
        events, ["seq", "prev_hash", "hash", "key_id", "sealed_at"], batch_size=500
    )
    count = len(events)
    AuditChainHead.objects.using(db).update_or_create(
        pk=1, defaults={"count": count, "last_hash": prev, "key_id": key_id,
                        "mac": head_mac(key, count=count, last_hash=prev)},
    )
    if postgres:
        schema_editor.execute(CREATE_TRIGGER)


def unseal(apps, schema_editor):
    """Backwards: verify the keyed chain, then rebuild the legacy SHA-256 chain in id order (what the code of 0004
    expects) and put the 0004 trigger back. A broken keyed chain stops it, as a broken legacy chain stops forwards."""
    from audit_app.chain import EventContent, digests_equal, event_seal, parse_chain_keys

    postgres = schema_editor.connection.vendor == "postgresql"
    AuditEvent = apps.get_model("audit_app", "AuditEvent")
    AuditChainHead = apps.get_model("audit_app", "AuditChainHead")
    db = schema_editor.connection.alias
    keys = parse_chain_keys(settings.AUDIT_CHAIN_KEYS)
    breaks, prev = [], "0" * 64
    for position, event in enumerate(AuditEvent.objects.using(db).filter(seq__isnull=False).order_by("seq"), 1):
        key = keys.get(event.key_id or "")
        content = EventContent(
            event_id=event.pk, seq=event.seq, key_id=event.key_id or "", occurred_at=event.occurred_at,
            actor_id=event.actor_id, actor_label=event.actor_label, action=event.action,
            subject_type=event.subject_type, subject_id=event.subject_id, data=event.data,
        )
        if event.seq != position or event.prev_hash != prev or key is None or not digests_equal(
            event.hash, event_seal(key, event.prev_hash, content)
        ):
            breaks.append(f"event {event.pk}")
        prev = event.hash
    if breaks and os.environ.get("AUDIT_RESEAL_BROKEN_LEGACY_CHAIN") != "1":
        raise RuntimeError(f"The keyed audit chain is broken at {', '.join(breaks[:50])}; not rebuilding the legacy "
                           "chain over it (AUDIT_RESEAL_BROKEN_LEGACY_CHAIN=1 to do it anyway).")
    if postgres:
        schema_editor.execute(DROP_TRIGGER)
    events = list(AuditEvent.objects.using(db).order_by("id"))
    prev = "0" * 64
    for event in events:
        event.prev_hash = prev
        event.hash = prev = legacy_hash(event)
    AuditEvent.objects.using(db).bulk_update(events, ["prev_hash", "hash"], batch_size=500)
    AuditChainHead.objects.using(db).update_or_create(pk=1, defaults={"count": len(events), "last_hash": prev})
    if postgres:
        schema_editor.execute(CREATE_OLD_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("audit_app", "0005_keyed_chain")]
    operations = [migrations.RunPython(reseal, unseal)]
