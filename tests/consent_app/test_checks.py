"""The start-up check of the keys against the data: a database's key canary refuses a FERNET_KEYS that cannot
decrypt it and a BLIND_INDEX_KEY that does not index it, lets rotated keys through, and costs next to nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.test import override_settings
from fernet_fields import EncryptedField

from consent_app.checks import CANARY_TEXT, keys_match_data_check
from consent_app.models import KeyCanary
from consent_app.phones import blind_index
from tests import factories as f

pytestmark = pytest.mark.django_db

NEW_KEY = "test-fernet-key-new"


@contextmanager
def fernet_keys(keys: list[str]) -> Iterator[None]:
    """fernet_fields caches each field's keys and Fernet on the field: drop them on the way in and out, so the
    models use `keys` inside and the test settings after."""

    def reset() -> None:
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, EncryptedField):
                    for name in ("keys", "fernet_keys", "fernet"):
                        field.__dict__.pop(name, None)

    reset()
    try:
        with override_settings(FERNET_KEYS=keys):
            yield
            reset()
    finally:
        reset()


def _check() -> list[str]:
    return [message.id for message in keys_match_data_check(databases=["default"])]


def _messages() -> str:
    return "\n".join(str(message) for message in keys_match_data_check(databases=["default"]))


def test_a_migrated_database_has_its_canary_and_passes():
    canary = KeyCanary.objects.get()
    assert canary.text == CANARY_TEXT
    assert canary.blind_index == blind_index(CANARY_TEXT)
    assert _check() == []


def test_a_database_without_a_canary_passes_and_gets_one():
    KeyCanary.objects.all().delete()
    assert _check() == []
    assert KeyCanary.objects.get().text == CANARY_TEXT
    assert _check() == []


def test_migrate_writes_the_canary_under_the_keys_in_use():
    KeyCanary.objects.all().delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert KeyCanary.objects.get().text == CANARY_TEXT


def test_a_wrong_fernet_key_is_refused_naming_fernet_keys():
    with fernet_keys(["a-key-the-data-was-never-encrypted-with"]):
        assert _check() == ["consent_app.E001"]
        text = _messages()
    assert "FERNET_KEYS" in text
    assert "put the new key first" in text


def test_rotated_keys_pass_before_and_after_re_encryption():
    with fernet_keys([NEW_KEY, *settings.FERNET_KEYS]):
        assert _check() == []
        call_command("reencrypt_pii", stdout=StringIO())
    with fernet_keys([NEW_KEY]):
        assert _check() == []


def test_dropping_the_old_key_before_re_encrypting_is_refused():
    with fernet_keys([NEW_KEY]):
        assert _check() == ["consent_app.E001"]


@override_settings(BLIND_INDEX_KEY="a-key-the-numbers-were-never-indexed-with")
def test_a_wrong_blind_index_key_is_refused_naming_it():
    assert _check() == ["consent_app.E002"]
    assert "BLIND_INDEX_KEY" in _messages()


@pytest.mark.parametrize("wrong", ["fernet", "blind_index"])
def test_the_check_command_with_the_database_refuses_wrong_keys(wrong):
    call_command("check", databases=["default"], stdout=StringIO())
    wrong_fernet = [NEW_KEY] if wrong == "fernet" else settings.FERNET_KEYS
    wrong_index = "another-blind-index-key" if wrong == "blind_index" else settings.BLIND_INDEX_KEY
    expected = "FERNET_KEYS" if wrong == "fernet" else "BLIND_INDEX_KEY"
    with (fernet_keys(wrong_fernet), override_settings(BLIND_INDEX_KEY=wrong_index),
          pytest.raises(SystemCheckError, match=expected)):
        call_command("check", databases=["default"])


def test_a_first_canary_is_not_written_under_keys_that_do_not_match_stored_numbers():
    KeyCanary.objects.all().delete()
    f.PhoneNumberFactory()
    with override_settings(BLIND_INDEX_KEY="another-blind-index-key"):
        assert _check() == ["consent_app.E002"]
    with fernet_keys([NEW_KEY]):
        assert _check() == ["consent_app.E001"]
    assert not KeyCanary.objects.exists()
    assert _check() == []
    assert KeyCanary.objects.exists()


def test_it_costs_two_queries(django_assert_num_queries):
    # 1. is the canary's table there  2. the canary
    with django_assert_num_queries(2):
        assert _check() == []


def test_it_queries_nothing_before_the_canary_table_is_migrated(django_assert_num_queries, monkeypatch):
    monkeypatch.setattr(connection.introspection, "table_names", lambda *args, **kwargs: [])
    with fernet_keys([NEW_KEY]), django_assert_num_queries(0):
        assert _check() == []


def test_without_a_database_to_check_it_queries_nothing(django_assert_num_queries):
    with fernet_keys([NEW_KEY]), django_assert_num_queries(0):
        assert keys_match_data_check(databases=None) == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="serves a file copy of the SQLite test database")
# SQLite copies a database only outside a transaction.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_wsgi_application_refuses_to_start_with_a_wrong_key(tmp_path):
    """What gunicorn and runserver do first: import config.wsgi, here against a copy of this database."""
    database = tmp_path / "db.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(database) as copy:
        connection.connection.backup(copy)
    copy.close()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DATABASE_URL": f"sqlite:///{database}",
           "FERNET_KEYS": NEW_KEY, "BLIND_INDEX_KEY": settings.BLIND_INDEX_KEY,
           "AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints")}
    started = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-c", "import config.wsgi"], cwd=settings.BASE_DIR, env=env, capture_output=True,
        stdin=subprocess.DEVNULL, text=True, timeout=120,
    )
    assert started.returncode != 0
    assert "consent_app.E001" in started.stderr
    assert "FERNET_KEYS" in started.stderr
