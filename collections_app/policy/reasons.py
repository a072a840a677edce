"""The stable reason codes (the public vocabulary of DESIGN.md), their messages and the policy source key of each.

The codes are used verbatim by the API, the UI and compliance reports: never rename one, only add.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple, cast

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _


class ReasonCode(StrEnum):
    # Declaration order is the order in which a decision lists its reasons (the order of the DESIGN.md table).
    NO_CONSENT = "NO_CONSENT"
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    OUTSIDE_CONTACT_HOURS = "OUTSIDE_CONTACT_HOURS"
    INCONVENIENT_TIME = "INCONVENIENT_TIME"
    HOLIDAY = "HOLIDAY"
    DAILY_ATTEMPT_LIMIT = "DAILY_ATTEMPT_LIMIT"
    DAILY_CONVERSATION_LIMIT = "DAILY_CONVERSATION_LIMIT"
    ROLLING_ATTEMPT_LIMIT = "ROLLING_ATTEMPT_LIMIT"
    CONVERSATION_COOLDOWN = "CONVERSATION_COOLDOWN"
    CEASE_COMMUNICATION = "CEASE_COMMUNICATION"
    ATTORNEY_REPRESENTED = "ATTORNEY_REPRESENTED"
    DISPUTE_PENDING = "DISPUTE_PENDING"
    BANKRUPTCY = "BANKRUPTCY"
    DECEASED = "DECEASED"
    COMPLAINT_HOLD = "COMPLAINT_HOLD"
    TEMPORARY_HOLD = "TEMPORARY_HOLD"
    WRONG_NUMBER = "WRONG_NUMBER"
    INVALID_NUMBER = "INVALID_NUMBER"
    THIRD_PARTY_NOT_AUTHORIZED = "THIRD_PARTY_NOT_AUTHORIZED"
    THIRD_PARTY_BORROWER_REACHABLE = "THIRD_PARTY_BORROWER_REACHABLE"
    THIRD_PARTY_LIMIT = "THIRD_PARTY_LIMIT"
    THIRD_PARTY_OPTED_OUT = "THIRD_PARTY_OPTED_OUT"
    NOT_COLLECTIBLE = "NOT_COLLECTIBLE"
    CHANNEL_NOT_PERMITTED = "CHANNEL_NOT_PERMITTED"
    # Added after the table of DESIGN.md: listed last, so the order of every earlier code stays as it was.
    INCIDENT_PAUSE = "INCIDENT_PAUSE"


# The keys of PolicyParams.sources. The first ten are the ones the brief fixes for the policy model; the last two
# let a preset cite the basis of the number-status and collectibility checks (missing key -> "" as for any key).
SOURCE_KEYS: tuple[str, ...] = (
    "window",
    "daily_attempt_cap",
    "daily_conversation_cap",
    "rolling_attempt_cap",
    "conversation_cooldown",
    "holidays",
    "third_party",
    "channels",
    "consent",
    "restrictions",
    "number_status",
    "collectibility",
)

RULE_KEYS: Mapping[ReasonCode, str] = MappingProxyType(
    {
        ReasonCode.NO_CONSENT: "consent",
        ReasonCode.CONSENT_WITHDRAWN: "consent",
        ReasonCode.CONSENT_EXPIRED: "consent",
        ReasonCode.OUTSIDE_CONTACT_HOURS: "window",
        # A time the borrower told us is inconvenient is part of the same conduct rule as the hours
        # (Reg F 1006.6(b)(1): "a time known to be inconvenient"; CONC 7.9: regard to the customer's requests).
        ReasonCode.INCONVENIENT_TIME: "window",
        ReasonCode.HOLIDAY: "holidays",
        ReasonCode.DAILY_ATTEMPT_LIMIT: "daily_attempt_cap",
        ReasonCode.DAILY_CONVERSATION_LIMIT: "daily_conversation_cap",
        ReasonCode.ROLLING_ATTEMPT_LIMIT: "rolling_attempt_cap",
        ReasonCode.CONVERSATION_COOLDOWN: "conversation_cooldown",
        ReasonCode.CEASE_COMMUNICATION: "restrictions",
        ReasonCode.ATTORNEY_REPRESENTED: "restrictions",
        ReasonCode.DISPUTE_PENDING: "restrictions",
        ReasonCode.BANKRUPTCY: "restrictions",
        ReasonCode.DECEASED: "restrictions",
        ReasonCode.COMPLAINT_HOLD: "restrictions",
        ReasonCode.TEMPORARY_HOLD: "restrictions",
        ReasonCode.WRONG_NUMBER: "number_status",
        ReasonCode.INVALID_NUMBER: "number_status",
        ReasonCode.THIRD_PARTY_NOT_AUTHORIZED: "third_party",
        ReasonCode.THIRD_PARTY_BORROWER_REACHABLE: "third_party",
        ReasonCode.THIRD_PARTY_LIMIT: "third_party",
        ReasonCode.THIRD_PARTY_OPTED_OUT: "third_party",
        ReasonCode.NOT_COLLECTIBLE: "collectibility",
        ReasonCode.CHANNEL_NOT_PERMITTED: "channels",
        # A firm-wide hold under the incident plan: cited as the policy's holds are (CONC 7.9 / firm policy).
        ReasonCode.INCIDENT_PAUSE: "restrictions",
    }
)

# Message templates (python-format, translated lazily). Parameters are documented next to each template.
MESSAGES: Mapping[ReasonCode, Any] = MappingProxyType(
    {
        # channel
        ReasonCode.NO_CONSENT: _("No active consent covers this number for %(channel)s contact about collection."),
        # channel
        ReasonCode.CONSENT_WITHDRAWN: _("The consent covering this number for %(channel)s was withdrawn."),
        # channel
        ReasonCode.CONSENT_EXPIRED: _("The consent covering this number for %(channel)s has expired."),
        # zones (LocalTime values, written by the registered clock: "丹佛 06:30 (UTC−07:00)")
        ReasonCode.OUTSIDE_CONTACT_HOURS: _("Local time is outside the contact hours: %(zones)s."),
        # local (a LocalTime)
        ReasonCode.INCONVENIENT_TIME: _("The borrower declared this time inconvenient (%(local)s)."),
        # date
        ReasonCode.HOLIDAY: _("%(date)s is a public holiday and the policy forbids contact on holidays."),
        # count, cap
        ReasonCode.DAILY_ATTEMPT_LIMIT: _("%(count)s attempts to this number today reached the daily cap of %(cap)s."),
        # count, cap
        ReasonCode.DAILY_CONVERSATION_LIMIT: _(
            "%(count)s conversations with the borrower today reached the daily cap of %(cap)s."
        ),
        # count, days, cap
        ReasonCode.ROLLING_ATTEMPT_LIMIT: _(
            "%(count)s attempts on this debt in the last %(days)s days reached the cap of %(cap)s."
        ),
        # date, days
        ReasonCode.CONVERSATION_COOLDOWN: _(
            "A conversation about this debt took place on %(date)s: no calls for %(days)s days from that day."
        ),
        ReasonCode.CEASE_COMMUNICATION: _("The borrower asked in writing that communication stop."),
        ReasonCode.ATTORNEY_REPRESENTED: _("The borrower is represented by an attorney for this debt."),
        ReasonCode.DISPUTE_PENDING: _("The debt is disputed and verification is pending."),
        ReasonCode.BANKRUPTCY: _("The borrower is in bankruptcy."),
        ReasonCode.DECEASED: _("The borrower is deceased."),
        ReasonCode.COMPLAINT_HOLD: _("An open complaint pauses collection."),
        ReasonCode.TEMPORARY_HOLD: _("Collection is on hold."),
        ReasonCode.WRONG_NUMBER: _("This number was reported as a wrong number."),
        ReasonCode.INVALID_NUMBER: _("This number is not a valid phone number."),
        ReasonCode.THIRD_PARTY_NOT_AUTHORIZED: _("This third party's number is not authorized for collection contact."),
        ReasonCode.THIRD_PARTY_BORROWER_REACHABLE: _(
            "Third parties may be contacted only while the borrower is unreachable."
        ),
        # count, cap
        ReasonCode.THIRD_PARTY_LIMIT: _(
            "This third party was already contacted %(count)s times; the policy allows %(cap)s."
        ),
        ReasonCode.THIRD_PARTY_OPTED_OUT: _("This third party asked not to be contacted again."),
        ReasonCode.NOT_COLLECTIBLE: _("The loan is not collectible (status %(status)s, due %(due_date)s)."),
        # channel
        ReasonCode.CHANNEL_NOT_PERMITTED: _("The policy does not allow contact by %(channel)s."),
        ReasonCode.INCIDENT_PAUSE: _("Compliance has paused all collection contact for an incident."),
    }
)

# Variant used when the number itself carries the opt-out (status "opted_out") rather than a consent record.
OPTED_OUT_MESSAGE = _("The borrower opted this number out of contact.")

# A message names the channel in words, never by its code ("（渠道：电话）", not "（渠道：call）").
CHANNEL_NAMES: Mapping[str, Any] = MappingProxyType({"call": _("phone call"), "sms": _("SMS")})


class LocalTime(NamedTuple):
    """A wall clock a message names: a zone's key and the instant on it."""

    zone: str
    at: datetime


def _zone_and_time(zone: str, at: datetime) -> str:
    return f"{zone} {at:%Y-%m-%d %H:%M}"


# How a rendered message writes what the engine only knows as codes: a LocalTime (the desk registers its own
# borrower's clock, "丹佛 07:00 (UTC−07:00)", at start-up: CollectionsAppConfig.ready()), and the parameters
# whose values are codes of the desk's models (a loan's status). Until then, the zone key and the code.
_describers: dict[str, Callable[..., str]] = {"local_time": _zone_and_time}


def describe_values_with(*, local_time: Callable[[str, datetime], str] | None = None,
                         **labels: Callable[[Any], str]) -> None:
    """Register how messages write a LocalTime, and a label for the values of the parameters named (e.g.
    ``status=``): the engine stays free of the desk's clock and models."""
    if local_time is not None:
        _describers["local_time"] = local_time
    _describers.update(labels)


def _described(name: str, value: object) -> object:
    if isinstance(value, LocalTime):
        return _describers["local_time"](value.zone, value.at)
    if isinstance(value, tuple) and value and all(isinstance(item, LocalTime) for item in value):
        return ", ".join(_describers["local_time"](item.zone, item.at) for item in value)
    if name == "channel" and value in CHANNEL_NAMES:
        return str(CHANNEL_NAMES[str(value)])
    if name in _describers and name != "local_time":
        return _describers[name](value)
    return value


def _interpolate(template: Any, params: Mapping[str, object]) -> str:
    return str(template) % {name: _described(name, value) for name, value in params.items()}


# Interpolating a lazy string with % would translate it immediately (in the language active when the decision
# is built, or fail without settings); wrapping keeps the message lazy until it is rendered.
_lazy_interpolate = lazy(_interpolate, str)


def message_for(code: ReasonCode, template: Any = None, **params: object) -> str:
    """The lazy, translatable message for ``code`` (or ``template``), interpolating ``params`` when rendered."""
    tpl = MESSAGES[code] if template is None else template
    if not params:
        return cast(str, tpl)
    return _lazy_interpolate(tpl, params)
