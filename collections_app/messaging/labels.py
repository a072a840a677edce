"""The content rules and their findings in the reader's language (the admin, a service's error)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .lint import Finding

RULE_LABELS: dict[str, Any] = {
    "UNKNOWN_VARIABLE": gettext_lazy("a variable that is not on the list"),
    "MALFORMED_PLACEHOLDER": gettext_lazy("a brace that opens or closes no variable"),
    "MISSING_VARIABLE": gettext_lazy("a variable without a value"),
    "THIRD_PARTY_DEBT_DISCLOSURE": gettext_lazy("tells a third party about the debt"),
    "CN_INSTITUTION_NOT_IDENTIFIED": gettext_lazy("does not name the institution ({institution})"),
    "CN_THREAT": gettext_lazy("threatening wording"),
    "CN_INSULT": gettext_lazy("insulting wording"),
    "CN_IMPERSONATION": gettext_lazy("sounds like a court, the police or a procuratorate"),
    "CN_CONTACTS_MENTIONED": gettext_lazy("mentions contacting relatives or the phone book"),
    "CN_EXTRA_FEES": gettext_lazy("mentions extra fees"),
    "US_NOT_FROM_DEBT_COLLECTOR": gettext_lazy("does not say it is from a debt collector"),
    "US_NO_OPT_OUT": gettext_lazy("no simple way to opt out (e.g. “Reply STOP to opt out”)"),
    "US_VOICEMAIL_NOT_LIMITED": gettext_lazy(
        "a voicemail gives only a name, a request to reply and a callback number ({agent_phone})"),
    "US_DEBT_MENTIONED": gettext_lazy("mentions the debt where it must not"),
    "UK_FIRM_NOT_IDENTIFIED": gettext_lazy("does not name the firm ({institution})"),
    "UK_PRESSURE": gettext_lazy("pressure to pay"),
    "FIRM_POLICY": gettext_lazy("wording the firm does not use"),
}


def rule_label(code: str) -> str:
    return str(RULE_LABELS.get(code, code))


def finding_label(finding: Finding) -> str:
    if finding.detail:
        return _("%(rule)s: %(detail)s") % {"rule": rule_label(finding.code), "detail": finding.detail}
    return rule_label(finding.code)
