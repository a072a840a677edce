"""Writes to contact policies. A version is never edited: every change is a new version (STYLE.md §1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.validators import validate_timezone

from . import policy
from .models import ContactPolicy, ContactPolicyVersion

EDITABLE_KEYS = sorted(policy.PRESET_KEYS - {"code"})


def policy_version_data(version: ContactPolicyVersion) -> dict[str, Any]:
    """A version's rules as preset-shaped data: the starting point of the next version."""
    return {key: getattr(version, key) for key in EDITABLE_KEYS}


def validate_policy_data(data: dict[str, Any], *, code: str) -> policy.PolicyParams:
    """Check rules the way the engine will read them; a malformed policy must never reach a decision."""
    try:
        validate_timezone(data.get("default_timezone") or "")
    except ValidationError as exc:
        raise ValidationError({"default_timezone": exc.messages}) from exc
    if not data.get("default_timezone"):
        raise ValidationError({"default_timezone": _("A default time zone is required.")})
    windows = data.get("windows")
    if not isinstance(windows, list) or len(windows) != 7:
        raise ValidationError({"windows": _("Seven entries are required, Monday to Sunday.")})
    for i, window in enumerate(windows):
        if window is None:
            continue
        if not (isinstance(window, list | tuple) and len(window) == 2):
            raise ValidationError({"windows": _("Entry %(n)d must be [start, end] or null.") % {"n": i + 1}})
        for value in window:
            try:
                policy.parse_hhmm(value)
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    {"windows": _("Entry %(n)d: times are HH:MM.") % {"n": i + 1}}
                ) from exc
    channels = data.get("channels_allowed")
    if not isinstance(channels, list) or set(channels) - {"call", "sms"}:
        raise ValidationError({"channels_allowed": _("Channels are a list of: call, sms.")})
    sources = data.get("sources")
    if not isinstance(sources, dict) or set(sources) - set(policy.SOURCE_KEYS):
        raise ValidationError(
            {"sources": _("Sources map rule keys (%(keys)s) to their legal source.") %
             {"keys": ", ".join(policy.SOURCE_KEYS)}}
        )
    try:
        return policy.params_from_preset({**data, "code": code})
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("These rules cannot be used: %(error)s") % {"error": exc}) from exc


@transaction.atomic
def policy_version_create(
    *, policy_obj: ContactPolicy, data: dict[str, Any], actor: Any, change_note: str,
    effective_from: datetime | None = None,
) -> ContactPolicyVersion:
    """Publish a new version of a policy. It applies to decisions from `effective_from` (default now)."""
    if not change_note.strip():
        raise ValidationError({"change_note": _("Say what changed and why.")})
    unknown = set(data) - set(EDITABLE_KEYS)
    if unknown:
        raise ValidationError(_("Unknown rule keys: %(keys)s") % {"keys": ", ".join(sorted(unknown))})
    validate_policy_data(data, code=policy_obj.code)
    effective_from = effective_from or timezone.now()
    if timezone.is_naive(effective_from):
        raise ValidationError({"effective_from": _("A time zone offset is required.")})
    # Lock the policy row so two officers publishing at once get consecutive version numbers.
    ContactPolicy.objects.select_for_update().filter(pk=policy_obj.pk).first()
    latest = ContactPolicyVersion.objects.filter(policy=policy_obj).aggregate(m=Max("version"))["m"] or 0
    version = ContactPolicyVersion(
        policy=policy_obj, version=latest + 1, effective_from=effective_from, change_note=change_note,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        **{key: data[key] for key in EDITABLE_KEYS},
    )
    version._change_reason = change_note[:100]
    version.save()
    audit_log(
        action=AuditAction.POLICY_VERSION_CREATED, subject=version, actor=actor,
        data={"policy": policy_obj.code, "version": version.version, "effective_from": effective_from,
              "note": change_note},
    )
    return version
