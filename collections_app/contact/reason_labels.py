"""Short, translatable titles of the policy's reason codes, for lists where the full message (which needs the
decision's details) is not at hand, e.g. a worklist built overnight."""

from django.utils.translation import gettext_lazy as _

from ..policy import ReasonCode

LABELS = {
    ReasonCode.NO_CONSENT: _("No consent"),
    ReasonCode.CONSENT_WITHDRAWN: _("Consent withdrawn"),
    ReasonCode.CONSENT_EXPIRED: _("Consent expired"),
    ReasonCode.OUTSIDE_CONTACT_HOURS: _("Outside contact hours"),
    ReasonCode.INCONVENIENT_TIME: _("Time the borrower declared inconvenient"),
    ReasonCode.HOLIDAY: _("Public holiday"),
    ReasonCode.DAILY_ATTEMPT_LIMIT: _("Daily attempt limit reached"),
    ReasonCode.DAILY_CONVERSATION_LIMIT: _("Daily conversation limit reached"),
    ReasonCode.ROLLING_ATTEMPT_LIMIT: _("Attempt limit for the period reached"),
    ReasonCode.CONVERSATION_COOLDOWN: _("Cooldown after a conversation"),
    ReasonCode.CEASE_COMMUNICATION: _("Cease-communication request"),
    ReasonCode.ATTORNEY_REPRESENTED: _("Represented by an attorney"),
    ReasonCode.DISPUTE_PENDING: _("Dispute pending"),
    ReasonCode.BANKRUPTCY: _("Bankruptcy"),
    ReasonCode.DECEASED: _("Deceased"),
    ReasonCode.COMPLAINT_HOLD: _("Complaint hold"),
    ReasonCode.TEMPORARY_HOLD: _("Temporary hold"),
    ReasonCode.WRONG_NUMBER: _("Wrong number"),
    ReasonCode.INVALID_NUMBER: _("Invalid number"),
    ReasonCode.THIRD_PARTY_NOT_AUTHORIZED: _("Third party not authorized"),
    ReasonCode.THIRD_PARTY_BORROWER_REACHABLE: _("Borrower reachable: no third-party contact"),
    ReasonCode.THIRD_PARTY_LIMIT: _("Third-party contact limit reached"),
    ReasonCode.THIRD_PARTY_OPTED_OUT: _("Third party opted out"),
    ReasonCode.NOT_COLLECTIBLE: _("Not collectible"),
    ReasonCode.CHANNEL_NOT_PERMITTED: _("Channel not permitted"),
    ReasonCode.INCIDENT_PAUSE: _("Incident pause"),
}


# The rules a policy version cites its legal sources for (policy.SOURCE_KEYS), as the sources table names them.
SOURCE_LABELS = {
    "window": _("Contact hours"),
    "daily_attempt_cap": _("Attempts per number per day"),
    "daily_conversation_cap": _("Conversations per day"),
    "rolling_attempt_cap": _("Attempts per debt in the rolling window"),
    "conversation_cooldown": _("Cooldown after a conversation"),
    "holidays": _("Public holidays"),
    "third_party": _("Third parties"),
    "channels": _("Channels"),
    "consent": _("Consent"),
    "restrictions": _("Restrictions and holds"),
    "number_status": _("Number status"),
    "collectibility": _("Collectibility"),
}


def source_label(key: str) -> str:
    return str(SOURCE_LABELS.get(key, key))


def label(code: str) -> str:
    try:
        return str(LABELS[ReasonCode(code)])
    except ValueError:
        return code
