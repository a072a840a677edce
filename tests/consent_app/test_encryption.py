"""Personal data at rest: phone numbers and national ids are stored encrypted (also in the history tables), a
wrong key fails loudly, key rotation keeps old rows readable, and the blind index finds a number typed in any
format without decrypting anything."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from cryptography.fernet import InvalidToken
from django.apps import apps
from django.db import connection
from django.test import override_settings
from fernet_fields import EncryptedField

from consent_app.models import Borrower, PhoneNumber
from consent_app.phones import blind_index, blind_index_for_input
from consent_app.services import PhoneInput, borrower_upsert

pytestmark = pytest.mark.django_db

NUMBER = "+8613800138000"
NATIONAL_ID = "110101199003077531"
TYPED_FORMATS = ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000"]


def _reset_fernet_caches() -> None:
    """fernet_fields caches `keys`, `fernet_keys` and `fernet` as cached_property on each field instance (the
    model's and the historical model's copy): drop them so the next read uses settings.FERNET_KEYS."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedField):
                for name in ("keys", "fernet_keys", "fernet"):
                    field.__dict__.pop(name, None)


@contextmanager
def fernet_keys(keys: list[str]) -> Iterator[None]:
    _reset_fernet_caches()
    try:
        with override_settings(FERNET_KEYS=keys):
            yield
            _reset_fernet_caches()
    finally:
        _reset_fernet_caches()


def _raw_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names are ours
        return cursor.fetchall()


def _as_text(value: object) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


@pytest.fixture
def stored(compliance):
    borrower, _ = borrower_upsert(
        borrower_ref="B-ENC-1", full_name="Zhang San", national_id=NATIONAL_ID, jurisdiction="CN",
        timezone_name="Asia/Shanghai", phones=[PhoneInput(number="138 0013 8000")], actor=compliance,
    )
    return borrower


# --- At rest -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table, plain", [
    ("consent_app_phonenumber", NUMBER),
    ("consent_app_historicalphonenumber", NUMBER),
    ("consent_app_borrower", NATIONAL_ID),
    ("consent_app_historicalborrower", NATIONAL_ID),
    ("consent_app_borrower", "Zhang San"),
    ("consent_app_historicalborrower", "Zhang San"),
    # The audit trail references subjects by id and never carries the data itself.
    ("audit_app_auditevent", NUMBER),
    ("audit_app_auditevent", NATIONAL_ID),
])
def test_a_raw_sql_read_shows_no_plaintext(stored, table, plain):
    rows = _raw_rows(table)
    assert rows, f"{table} is empty: the test would prove nothing"
    national = plain.lstrip("+")[2:] if plain.startswith("+86") else plain  # "13800138000" too
    for row in rows:
        for value in row:
            text = _as_text(value)
            assert plain not in text
            assert national not in text


def test_the_orm_reads_the_plain_values_back(stored):
    borrower = Borrower.objects.get(pk=stored.pk)
    assert borrower.national_id == NATIONAL_ID
    assert PhoneNumber.objects.get(borrower=borrower).e164 == NUMBER
    assert borrower.history.first().national_id == NATIONAL_ID


def test_the_history_row_is_encrypted_under_the_same_keys(stored):
    with fernet_keys(["some-other-key"]), pytest.raises(InvalidToken):
        list(stored.history.all())


# --- Wrong key, rotation ----------------------------------------------------------------------------------------


def test_reading_with_a_wrong_key_raises_instead_of_returning_garbage(stored):
    with fernet_keys(["some-other-key"]):
        with pytest.raises(InvalidToken):
            Borrower.objects.get(pk=stored.pk)
        with pytest.raises(InvalidToken):
            PhoneNumber.objects.get(borrower_id=stored.pk)
    # Back on the configured keys, the same rows read fine: the failure was the key, not the data.
    assert Borrower.objects.get(pk=stored.pk).national_id == NATIONAL_ID


def test_a_row_encrypted_under_the_old_key_decrypts_after_a_new_key_is_prepended(compliance):
    with fernet_keys(["rotation-old-key"]):
        borrower, _ = borrower_upsert(
            borrower_ref="B-ROT-1", full_name="Li Si", national_id=NATIONAL_ID, jurisdiction="CN",
            phones=[PhoneInput(number="13800138000")], actor=compliance,
        )
    with fernet_keys(["rotation-new-key", "rotation-old-key"]):
        assert Borrower.objects.get(pk=borrower.pk).national_id == NATIONAL_ID
        assert PhoneNumber.objects.get(borrower=borrower).e164 == NUMBER
        # New writes use the first (new) key...
        fresh, _ = borrower_upsert(
            borrower_ref="B-ROT-2", full_name="Wang Wu", national_id="440101198001010011", jurisdiction="CN",
            actor=compliance,
        )
    with fernet_keys(["rotation-new-key"]):
        # ... so a row written after the rotation no longer needs the old key, while an old row still does.
        assert Borrower.objects.get(pk=fresh.pk).national_id == "440101198001010011"
        with pytest.raises(InvalidToken):
            Borrower.objects.get(pk=borrower.pk)


# --- Blind index -------------------------------------------------------------------------------------------------


def test_the_same_number_typed_in_any_format_has_the_same_blind_index():
    indexes = {blind_index_for_input(typed, "CN") for typed in TYPED_FORMATS}
    assert indexes == {blind_index(NUMBER)}


@pytest.mark.parametrize("typed", TYPED_FORMATS)
def test_a_number_typed_in_any_format_finds_the_borrower_through_the_blind_index(stored, typed):
    found = Borrower.objects.filter(phones__blind_index=blind_index_for_input(typed, "CN"))
    assert list(found) == [stored]


def test_the_blind_index_is_keyed_and_not_a_plain_hash(settings):
    import hashlib

    assert blind_index(NUMBER) != hashlib.sha256(NUMBER.encode()).hexdigest()
    before = blind_index(NUMBER)
    settings.BLIND_INDEX_KEY = "another-key"
    assert blind_index(NUMBER) != before


def test_an_invalid_number_has_no_blind_index():
    assert blind_index_for_input("12345", "CN") is None
    assert blind_index_for_input("not a number", "CN") is None
