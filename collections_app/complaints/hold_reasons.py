"""A complaint's collection hold in words: the complaint service writes the hold's reason in a fixed form
(`complaint CMP-000003 (contact_frequency)`, a reference and a category code, the same in every language); pages
write it in the reader's language, 投诉 CMP-000003（联系频率过高或骚扰）. Registered with consent_app.history at
start-up (CollectionsAppConfig.ready()), so the admin's restriction pages use it too."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from ..models import ComplaintCategory

_COMPLAINT_HOLD = re.compile(r"complaint (?P<ref>\S+) \((?P<category>[a-z_]+)\)")


def complaint_hold_reason(reference: str, category: str) -> str:
    """The reason stored on the hold a complaint places (never translated: it is stored)."""
    return f"complaint {reference} ({category})"


def restriction_reason_label(reason: str) -> str:
    """A restriction's reason for the reader: a complaint's hold in words; any other reason as it was typed."""
    match = _COMPLAINT_HOLD.fullmatch((reason or "").strip())
    if match is None:
        return reason
    category = dict(ComplaintCategory.choices).get(match["category"], match["category"])
    return _("complaint %(reference)s (%(category)s)") % {"reference": match["ref"], "category": category}
