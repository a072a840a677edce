"""The keys must be the ones the data was written with: a start-up check against the key canary.

A wrong FERNET_KEYS would otherwise show only as a 500 on every page that decrypts a name or a number, and a wrong
BLIND_INDEX_KEY not at all: numbers would no longer be found, and a number already stored would be stored again.
`KeyCanary` holds a known text encrypted under FERNET_KEYS and its blind index under BLIND_INDEX_KEY, written the
first time keys are used with the database (after migrate, or here when its table is empty): when the text no
longer decrypts, or its index no longer matches, the keys have changed.

The check is tagged `database`: Django runs it when it is given a database to check (`manage.py check --database
default`, `migrate`, and the WSGI application's start-up in config/wsgi.py), not on other commands. It costs two
queries (is the table there, read one row) and none against a table not migrated yet. Imports no model: registered
from apps.py, before the models are loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from cryptography.fernet import InvalidToken
from django.apps import AppConfig, apps
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import DEFAULT_DB_ALIAS, connections

from .phones import blind_index

if TYPE_CHECKING:
    from .models import KeyCanary, PhoneNumber

CANARY_PK = 1
CANARY_TEXT = "Collector Desk key canary"


def fernet_keys_mismatch() -> Error:
    return Error(
        "FERNET_KEYS cannot decrypt the personal data in this database (the key canary does not decrypt).",
        hint="Restore the key the data was encrypted with. To rotate keys, put the new key first in FERNET_KEYS and "
             "keep the old one after it, then run `manage.py reencrypt_pii`; drop the old key only after that.",
        id="consent_app.E001",
    )


def blind_index_key_mismatch() -> Error:
    return Error(
        "BLIND_INDEX_KEY is not the key the phone numbers in this database were indexed with: numbers would not be "
        "found, and numbers already stored would be stored a second time.",
        hint="Restore the BLIND_INDEX_KEY the numbers were indexed with (it cannot be rotated in place).",
        id="consent_app.E002",
    )


def key_mismatches(*, using: str = DEFAULT_DB_ALIAS) -> list[CheckMessage]:
    """The errors of the configured keys against the database `using`: none when they are the keys its data was
    written with. On a database without a canary yet, writes it (after checking the keys against a stored number,
    if there is one, so a canary is never written under keys that do not match existing data)."""
    canaries = cast("type[KeyCanary]", apps.get_model("consent_app", "KeyCanary"))
    if canaries._meta.db_table not in connections[using].introspection.table_names():
        return []  # not migrated yet
    try:
        canary = canaries._default_manager.using(using).filter(pk=CANARY_PK).first()
    except InvalidToken:
        return [fernet_keys_mismatch()]
    if canary is None:
        return _key_canary_create(using=using)
    messages: list[CheckMessage] = []
    if canary.text != CANARY_TEXT:
        messages.append(fernet_keys_mismatch())
    if canary.blind_index != blind_index(CANARY_TEXT):
        messages.append(blind_index_key_mismatch())
    return messages


def _key_canary_create(*, using: str) -> list[CheckMessage]:
    phones = cast("type[PhoneNumber]", apps.get_model("consent_app", "PhoneNumber"))
    try:
        stored = phones._default_manager.using(using).only("e164", "blind_index").order_by("pk").first()
    except InvalidToken:
        return [fernet_keys_mismatch()]
    if stored is not None and stored.blind_index != blind_index(stored.e164):
        return [blind_index_key_mismatch()]
    canaries = cast("type[KeyCanary]", apps.get_model("consent_app", "KeyCanary"))
    # A fixed primary key: two processes starting on a fresh database write one canary between them.
    canaries._default_manager.using(using).get_or_create(
        pk=CANARY_PK, defaults={"text": CANARY_TEXT, "blind_index": blind_index(CANARY_TEXT)}
    )
    return []


@register(Tags.database)
def keys_match_data_check(
    app_configs: Sequence[AppConfig] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if app_configs is not None and not any(config.label == "consent_app" for config in app_configs):
        return []
    messages: list[CheckMessage] = []
    for alias in databases or []:
        messages += key_mismatches(using=alias)
    return messages


def key_canary_after_migrate(sender: AppConfig, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """post_migrate: the keys in use when the database is migrated (or, in tests, flushed) write its canary. A
    mismatch is left for the check to report, which refuses the next start-up."""
    key_mismatches(using=using)
