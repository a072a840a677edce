"""Contact policy engine (pure Python: no ORM, no clock). See DESIGN.md, "The contact policy engine"."""

from .engine import evaluate
from .horizon import verdict_horizon
from .presets import PRESET_KEYS, PRESETS, params_from_preset, parse_hhmm, preset
from .reasons import MESSAGES, RULE_KEYS, SOURCE_KEYS, ReasonCode
from .rules import RESTRICTION_CODES, TIME_BASED_CODES
from .types import (
    AttemptFact,
    Channel,
    ConsentFact,
    Decision,
    Direction,
    InconvenientTime,
    LoanFact,
    NumberFact,
    Outcome,
    Party,
    PauseFact,
    PolicyParams,
    Reason,
    RestrictionFact,
    Snapshot,
    Window,
)
from .zones import (
    candidate_zones,
    local_day,
    next_wall_boundary,
    primary_zone,
    window_contains,
    window_opening_zones,
)

__all__ = [
    "MESSAGES",
    "PRESETS",
    "PRESET_KEYS",
    "RESTRICTION_CODES",
    "RULE_KEYS",
    "SOURCE_KEYS",
    "TIME_BASED_CODES",
    "AttemptFact",
    "Channel",
    "ConsentFact",
    "Decision",
    "Direction",
    "InconvenientTime",
    "LoanFact",
    "NumberFact",
    "Outcome",
    "Party",
    "PauseFact",
    "PolicyParams",
    "Reason",
    "ReasonCode",
    "RestrictionFact",
    "Snapshot",
    "Window",
    "candidate_zones",
    "evaluate",
    "local_day",
    "next_wall_boundary",
    "params_from_preset",
    "parse_hhmm",
    "preset",
    "primary_zone",
    "verdict_horizon",
    "window_contains",
    "window_opening_zones",
]
