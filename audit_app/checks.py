"""System checks: a malformed audit key would otherwise surface only when the first seal or checkpoint fails
(after commit, in a log line). `manage.py check` and every management command run these at start-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from .chain import AuditKeyError, load_public_key, load_signing_key, parse_chain_keys

MIN_KEY_BYTES = 32


@register()
def audit_keys_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    try:
        keys = parse_chain_keys(getattr(settings, "AUDIT_CHAIN_KEYS", []))
    except AuditKeyError as exc:
        messages.append(Error(str(exc), id="audit_app.E001"))
    else:
        short = [key_id for key_id, key in keys.items() if len(key) < MIN_KEY_BYTES]
        if short and not settings.DEBUG:
            messages.append(Warning(f"AUDIT_CHAIN_KEYS {', '.join(short)}: shorter than {MIN_KEY_BYTES} bytes",
                                    id="audit_app.W001"))
    signing = getattr(settings, "AUDIT_CHECKPOINT_SIGNING_KEY", "")
    public = getattr(settings, "AUDIT_CHECKPOINT_PUBLIC_KEY", "")
    try:
        if signing:
            derived = load_signing_key(signing).public_key()
            if public and load_public_key(public).public_bytes_raw() != derived.public_bytes_raw():
                messages.append(Error("AUDIT_CHECKPOINT_PUBLIC_KEY is not the signing key's public key",
                                      id="audit_app.E003"))
        elif public:
            load_public_key(public)
        else:
            messages.append(Error("set AUDIT_CHECKPOINT_SIGNING_KEY (or, to verify only, AUDIT_CHECKPOINT_PUBLIC_KEY)",
                                  id="audit_app.E002"))
    except (AuditKeyError, ValueError) as exc:
        messages.append(Error(f"checkpoint key: {exc}", id="audit_app.E002"))
    return messages
