"""Collections models, one module per area; import them from here."""

from .contact import (
    ApiToken,
    AttemptChannel,
    AttemptDirection,
    AttemptOutcome,
    AttemptParty,
    ContactAttempt,
    ContactPolicy,
    ContactPolicyVersion,
    PublicHoliday,
)
from .core import (
    CURRENCY_DECIMALS,
    Currency,
    Loan,
    LoanStatus,
    Payment,
    Team,
    TeamMember,
    bucket_for,
)
from .desk import Callback, Note, WorklistEntry

__all__ = [
    "CURRENCY_DECIMALS",
    "Callback",
    "Note",
    "WorklistEntry",
    "ApiToken",
    "AttemptChannel",
    "AttemptDirection",
    "AttemptOutcome",
    "AttemptParty",
    "ContactAttempt",
    "ContactPolicy",
    "ContactPolicyVersion",
    "Currency",
    "Loan",
    "LoanStatus",
    "Payment",
    "PublicHoliday",
    "Team",
    "TeamMember",
    "bucket_for",
]
