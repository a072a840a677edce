"""Helpers shared by the audit tests: tampering behind the ORM's back and the verify command's outcome."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection


def tamper(sql: str, params: list | tuple = ()) -> None:
    """Someone with database owner rights edits the table directly (on PostgreSQL they must first switch off the
    append-only trigger): only the keyed chain and the checkpoints can show it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks, or ALTER TABLE refuses
            cursor.execute("ALTER TABLE audit_app_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_app_auditevent ENABLE TRIGGER audit_event_append_only")


def verify(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("verify_audit_chain", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def verify_fails(*args: str) -> str:
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_chain", *args, stdout=StringIO(), stderr=err)
    return err.getvalue()
