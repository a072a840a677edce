"""Preset contact policies for China, the United States and the United Kingdom (data, not code).

Compliance officers copy a preset into a new policy version and edit it. The dict keys are PolicyParams field
names (minus ``version`` and ``holidays``, which are passed to ``params_from_preset``); times are "HH:MM" strings,
``windows`` is a list of 7 [start, end] pairs (Monday..Sunday) or null, ``channels_allowed`` a list of channel
values, ``sources`` maps each rule key (reasons.SOURCE_KEYS) to the rule's legal source. Where a source could not be
checked against the official text it says *unverified*; where a rule is the firm's choice and not law it says
"Firm policy". Everything is JSON-serialisable so the ORM side can store a preset in a JSONField verbatim.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date, time
from types import MappingProxyType
from typing import Any

from .reasons import SOURCE_KEYS
from .types import Channel, PolicyParams, Window

PresetData = dict[str, Any]

_CALL_AND_SMS = ["call", "sms"]


def _every_day(start: str, end: str) -> list[list[str] | None]:
    return [[start, end] for _ in range(7)]


CN: PresetData = {
    "code": "CN",
    "default_timezone": "Asia/Shanghai",
    "windows": _every_day("08:00", "22:00"),
    "daily_attempt_cap": 6,
    "daily_conversation_cap": 3,
    "rolling_attempt_cap": None,
    "rolling_window_days": 7,
    "conversation_cooldown_days": None,
    # The guideline caps attempts "where calls go unanswered" without excluding failed connections: count them.
    "count_not_connected": True,
    "holidays_blocked": False,
    "third_party_requires_authorization": True,
    "third_party_only_when_borrower_unreachable": True,
    "unreachable_after_days": 3,
    "unreachable_min_attempts": 3,
    "third_party_max_contacts": None,
    "third_party_stop_on_opt_out": True,
    "channels_allowed": _CALL_AND_SMS,
    "complaint_hold_blocks": True,
    "sources": {
        "window": (
            "China Banking Association, 《金融机构个人消费类贷款催收工作指引（试行）》 (2026-01-30): no calls, "
            "visits or other collection between 22:00 and 08:00 without the debtor's consent; GB/T 45251—2025 likewise "
            "(*unverified* against the official texts). Times the borrower declared inconvenient: firm policy "
            "(Civil Code art. 1033(1) protects the peace of private life)."
        ),
        "daily_attempt_cap": (
            "China Banking Association, 《金融机构个人消费类贷款催收工作指引（试行）》 (2026): where calls go "
            "unanswered, at most 6 attempts per day to the same contact method unless agreed otherwise "
            "(*unverified* against the official text)."
        ),
        "daily_conversation_cap": (
            "GB/T 45251—2025 《互联网金融 个人网络消费信贷 贷后催收风控指引》: reported to limit connected collection "
            "calls to 3 per day across the lender and its agencies (*unverified*)."
        ),
        "rolling_attempt_cap": "No rolling cap in the CN sources; a firm cap would be firm policy.",
        "conversation_cooldown": "No cooldown in the CN sources; a firm cooldown would be firm policy.",
        "holidays": "No holiday ban in the CN sources; blocking holidays would be firm policy.",
        "third_party": (
            "China Banking Association guideline (2026): third parties only when the debtor cannot be reached, "
            "only to obtain contact details or pass on a message, never disclosing the debt, stop if they ask "
            "(*unverified*); NFRA 《消费金融公司管理办法》 (2024): no collection from third parties unrelated to the "
            "debt. Only contacts the borrower named, with authorization, may be called (never the phone book)."
        ),
        "channels": "Civil Code art. 1033(1): telephone and SMS contact both need consent or a legal basis.",
        "consent": (
            "Civil Code art. 1033(1): no disturbing private life by telephone or SMS without express consent or a "
            "legal basis; PIPL art. 13 (consent or another legal basis) and art. 15 (consent may be withdrawn)."
        ),
        "restrictions": (
            "Civil Code art. 1033(1); NFRA 《消费金融公司管理办法》 (2024): no harassment. Firm policy: an open "
            "complaint, a dispute, bankruptcy, death or a hold pauses collection."
        ),
        "number_status": (
            "Civil Code art. 1033(1): a wrong number reaches a stranger who never consented. Firm policy: invalid "
            "numbers are not dialled."
        ),
        "collectibility": "Firm policy: collection contact only for an active loan past its due date.",
    },
}

US: PresetData = {
    "code": "US",
    "default_timezone": "America/New_York",
    "windows": _every_day("08:00", "21:00"),
    # CFPB's rebuttal factor (7 calls to one number in a day) is already implied by the 7-in-7 cap per debt.
    "daily_attempt_cap": None,
    "daily_conversation_cap": None,
    "rolling_attempt_cap": 7,
    "rolling_window_days": 7,
    "conversation_cooldown_days": 7,
    "count_not_connected": False,
    "holidays_blocked": False,
    # FDCPA 1692b lets a collector seek location information without the consumer's authorization.
    "third_party_requires_authorization": False,
    "third_party_only_when_borrower_unreachable": True,
    "unreachable_after_days": 3,
    "unreachable_min_attempts": 3,
    "third_party_max_contacts": 1,
    "third_party_stop_on_opt_out": True,
    "channels_allowed": _CALL_AND_SMS,
    "complaint_hold_blocks": True,
    "sources": {
        "window": (
            "Regulation F, 12 CFR 1006.6(b)(1)(i): before 8:00 a.m. and after 9:00 p.m. local time at the "
            "consumer's location is inconvenient; where the location is uncertain the time must be convenient in "
            "every possible location. 1006.6(b)(1): no communication at a time known to be inconvenient."
        ),
        "daily_attempt_cap": "No per-number daily cap in Regulation F; a firm cap would be firm policy.",
        "daily_conversation_cap": "No daily conversation cap in Regulation F; a firm cap would be firm policy.",
        "rolling_attempt_cap": (
            "Regulation F, 12 CFR 1006.14(b)(2)(i): no more than seven calls about a particular debt within seven "
            "consecutive days; 1006.14(b)(3): calls not connected to the dialed number (busy, not in service) do "
            "not count; unanswered, voicemail and dropped calls do."
        ),
        "conversation_cooldown": (
            "Regulation F, 12 CFR 1006.14(b)(2)(ii): no call about a debt within seven consecutive days after a "
            "telephone conversation about it, the date of the conversation being the first day; a conversation "
            "the consumer starts counts too."
        ),
        "holidays": "No holiday ban in Regulation F; blocking holidays would be firm policy.",
        "third_party": (
            "FDCPA 15 U.S.C. 1692b(3) and Regulation F 12 CFR 1006.10: a third party may be contacted only to "
            "obtain location information, without saying a debt is owed, and at most once unless asked."
        ),
        "channels": (
            "Regulation F: the time and place rules of 12 CFR 1006.6(b) cover every communication, SMS included; "
            "the call-frequency presumptions of 1006.14(b) concern telephone calls."
        ),
        "consent": (
            "Firm policy: calls and SMS to a consumer's number only with a recorded consent for that channel; "
            "withdrawn or expired consent stops contact."
        ),
        "restrictions": (
            "Regulation F 12 CFR 1006.6(b)(2): no communication once the collector knows the consumer is "
            "represented by an attorney for the debt; 1006.6(c): after a written refusal to pay or cease request "
            "only limited notices; FDCPA 15 U.S.C. 1692g(b): collection stops while a dispute awaits verification. "
            "Firm policy: complaint, bankruptcy, death and holds pause collection."
        ),
        "number_status": "Firm policy: numbers reported wrong or invalid are not dialled.",
        "collectibility": "Firm policy: collection contact only for an active loan past its due date.",
    },
}

UK: PresetData = {
    "code": "UK",
    "default_timezone": "Europe/London",
    "windows": _every_day("08:00", "21:00"),
    # CONC 7 sets no numeric cap. Firm policy: none here; set one as a labelled firm cap in a new version.
    "daily_attempt_cap": None,
    "daily_conversation_cap": None,
    "rolling_attempt_cap": None,
    "rolling_window_days": 7,
    "conversation_cooldown_days": None,
    "count_not_connected": True,
    "holidays_blocked": False,
    "third_party_requires_authorization": True,
    "third_party_only_when_borrower_unreachable": True,
    "unreachable_after_days": 3,
    "unreachable_min_attempts": 3,
    "third_party_max_contacts": None,
    "third_party_stop_on_opt_out": True,
    "channels_allowed": _CALL_AND_SMS,
    "complaint_hold_blocks": True,
    "sources": {
        "window": (
            "FCA CONC 7.9: no contact at unreasonable times, due regard to the customer's reasonable requests about "
            "when they may be contacted; 08:00–21:00 is the usual reasonable-hours default (MCOB 13.5.4 G)."
        ),
        "daily_attempt_cap": "No statutory cap in CONC 7; any cap set here is firm policy, not law.",
        "daily_conversation_cap": "No statutory cap in CONC 7; any cap set here is firm policy, not law.",
        "rolling_attempt_cap": "No statutory cap in CONC 7; any cap set here is firm policy, not law.",
        "conversation_cooldown": "No statutory cooldown in CONC 7; any cooldown set here is firm policy, not law.",
        "holidays": "No holiday ban in CONC 7; blocking holidays would be firm policy.",
        "third_party": (
            "FCA CONC 7.9: reasonable steps so that third parties do not become aware the customer is being "
            "pursued. Firm policy: only authorized contacts, only while the customer is unreachable, stop if asked."
        ),
        "channels": "FCA CONC 7.9: due regard to the customer's requests about how they may be contacted.",
        "consent": (
            "FCA CONC 7.9: due regard to the customer's requests about how they may be contacted. Firm policy: a "
            "recorded consent per number and channel."
        ),
        "restrictions": (
            "FCA CONC 7.9: due regard to the customer's reasonable requests. Firm policy: cease, representation, "
            "dispute, bankruptcy, death, an open complaint and holds pause collection."
        ),
        "number_status": "Firm policy: numbers reported wrong or invalid are not dialled.",
        "collectibility": "Firm policy: collection contact only for an active loan past its due date.",
    },
}

PRESETS: Mapping[str, PresetData] = MappingProxyType({"CN": CN, "US": US, "UK": UK})

# Keys a preset dict must carry (PolicyParams fields except version and holidays).
PRESET_KEYS: frozenset[str] = frozenset(
    name for name in PolicyParams.__dataclass_fields__ if name not in {"version", "holidays"}
)


def preset(code: str) -> PresetData:
    """A deep copy of the preset ``code`` ("CN", "US" or "UK"), safe to edit."""
    return copy.deepcopy(PRESETS[code])


def parse_hhmm(value: str) -> time:
    """'HH:MM' -> time; '24:00' is accepted as midnight at the end of the day (00:00 in the window convention)."""
    if value == "24:00":
        return time(0, 0)
    hours, _, minutes = value.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"time must be 'HH:MM', got {value!r}")
    return time(int(hours), int(minutes))


def _windows(value: Any) -> tuple[Window | None, ...]:
    if not isinstance(value, list | tuple) or len(value) != 7:
        raise ValueError("windows must be a list of 7 entries (Monday..Sunday)")
    out: list[Window | None] = []
    for entry in value:
        if entry is None:
            out.append(None)
            continue
        if not isinstance(entry, list | tuple) or len(entry) != 2:
            raise ValueError(f"window entry must be [start, end] or null, got {entry!r}")
        out.append((parse_hhmm(entry[0]), parse_hhmm(entry[1])))
    return tuple(out)


def params_from_preset(
    data: Mapping[str, Any], *, version: int = 1, holidays: frozenset[date] = frozenset()
) -> PolicyParams:
    """Build PolicyParams from preset-shaped data (a preset, or a compliance officer's edited copy)."""
    missing = PRESET_KEYS - data.keys()
    unknown = data.keys() - PRESET_KEYS
    if missing or unknown:
        raise ValueError(f"preset keys: missing {sorted(missing)}, unknown {sorted(unknown)}")
    sources = {str(k): str(v) for k, v in data["sources"].items()}
    unknown_sources = sources.keys() - set(SOURCE_KEYS)
    if unknown_sources:
        raise ValueError(f"unknown source keys {sorted(unknown_sources)}")
    return PolicyParams(
        code=str(data["code"]),
        version=version,
        default_timezone=str(data["default_timezone"]),
        windows=_windows(data["windows"]),
        daily_attempt_cap=data["daily_attempt_cap"],
        daily_conversation_cap=data["daily_conversation_cap"],
        rolling_attempt_cap=data["rolling_attempt_cap"],
        rolling_window_days=int(data["rolling_window_days"]),
        conversation_cooldown_days=data["conversation_cooldown_days"],
        count_not_connected=bool(data["count_not_connected"]),
        holidays_blocked=bool(data["holidays_blocked"]),
        holidays=frozenset(holidays),
        third_party_requires_authorization=bool(data["third_party_requires_authorization"]),
        third_party_only_when_borrower_unreachable=bool(data["third_party_only_when_borrower_unreachable"]),
        unreachable_after_days=int(data["unreachable_after_days"]),
        unreachable_min_attempts=int(data["unreachable_min_attempts"]),
        third_party_max_contacts=data["third_party_max_contacts"],
        third_party_stop_on_opt_out=bool(data["third_party_stop_on_opt_out"]),
        channels_allowed=frozenset(Channel(c) for c in data["channels_allowed"]),
        complaint_hold_blocks=bool(data["complaint_hold_blocks"]),
        sources=MappingProxyType(sources),
    )
