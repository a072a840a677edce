"""The CN/US/UK presets are plain JSON-able data, every rule carries its source, and they build PolicyParams."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, time

import pytest

from collections_app.policy import (
    PRESET_KEYS,
    PRESETS,
    RULE_KEYS,
    SOURCE_KEYS,
    Channel,
    PolicyParams,
    ReasonCode,
    params_from_preset,
    parse_hhmm,
    preset,
)


@pytest.mark.parametrize("code", ["CN", "US", "UK"])
def test_a_preset_is_json_data_with_exactly_the_policy_field_keys(code):
    data = PRESETS[code]
    assert json.loads(json.dumps(data)) == data
    assert set(data) == PRESET_KEYS
    assert {f.name for f in dataclasses.fields(PolicyParams)} - {"version", "holidays"} == PRESET_KEYS


@pytest.mark.parametrize("code", ["CN", "US", "UK"])
def test_every_rule_of_a_preset_carries_a_source(code):
    sources = PRESETS[code]["sources"]
    assert set(sources) == set(SOURCE_KEYS)
    assert all(text.strip() for text in sources.values())


def test_every_reason_code_maps_to_a_source_key():
    assert set(RULE_KEYS) == set(ReasonCode)
    assert set(RULE_KEYS.values()) <= set(SOURCE_KEYS)


def test_the_reason_codes_are_exactly_the_public_vocabulary():
    assert {code.value for code in ReasonCode} == {
        "NO_CONSENT",
        "CONSENT_WITHDRAWN",
        "CONSENT_EXPIRED",
        "OUTSIDE_CONTACT_HOURS",
        "INCONVENIENT_TIME",
        "HOLIDAY",
        "DAILY_ATTEMPT_LIMIT",
        "DAILY_CONVERSATION_LIMIT",
        "ROLLING_ATTEMPT_LIMIT",
        "CONVERSATION_COOLDOWN",
        "CEASE_COMMUNICATION",
        "ATTORNEY_REPRESENTED",
        "DISPUTE_PENDING",
        "BANKRUPTCY",
        "DECEASED",
        "COMPLAINT_HOLD",
        "TEMPORARY_HOLD",
        "WRONG_NUMBER",
        "INVALID_NUMBER",
        "THIRD_PARTY_NOT_AUTHORIZED",
        "THIRD_PARTY_BORROWER_REACHABLE",
        "THIRD_PARTY_LIMIT",
        "THIRD_PARTY_OPTED_OUT",
        "NOT_COLLECTIBLE",
        "CHANNEL_NOT_PERMITTED",
        "INCIDENT_PAUSE",
    }


def test_the_cn_preset_follows_the_cba_guideline_and_marks_unverified_sources():
    params = params_from_preset(PRESETS["CN"])
    assert params.default_timezone == "Asia/Shanghai"
    assert params.windows == ((time(8), time(22)),) * 7
    assert params.daily_attempt_cap == 6
    assert params.daily_conversation_cap == 3
    assert "unverified" in params.sources["daily_conversation_cap"]
    assert "GB/T 45251" in params.sources["daily_conversation_cap"]
    assert params.third_party_requires_authorization
    assert params.third_party_only_when_borrower_unreachable
    assert params.third_party_stop_on_opt_out
    assert params.third_party_max_contacts is None
    assert "1033" in params.sources["consent"] and "PIPL" in params.sources["consent"]


def test_the_us_preset_follows_regulation_f():
    params = params_from_preset(PRESETS["US"])
    assert params.default_timezone == "America/New_York"
    assert params.windows == ((time(8), time(21)),) * 7
    assert (params.rolling_attempt_cap, params.rolling_window_days, params.conversation_cooldown_days) == (7, 7, 7)
    assert params.count_not_connected is False
    assert params.third_party_max_contacts == 1
    assert "1006.14(b)(2)" in params.sources["rolling_attempt_cap"]
    assert "1006.14(b)(3)" in params.sources["rolling_attempt_cap"]
    assert "1692b(3)" in params.sources["third_party"]
    assert "1006.6(b)(2)" in params.sources["restrictions"] and "1006.6(c)" in params.sources["restrictions"]


def test_the_uk_preset_has_reasonable_hours_and_labels_caps_as_firm_policy():
    params = params_from_preset(PRESETS["UK"])
    assert params.default_timezone == "Europe/London"
    assert params.windows == ((time(8), time(21)),) * 7
    assert "CONC 7.9" in params.sources["window"] and "MCOB 13.5.4" in params.sources["window"]
    for key in ("daily_attempt_cap", "daily_conversation_cap", "rolling_attempt_cap"):
        assert "firm policy" in params.sources[key]


@pytest.mark.parametrize("code", ["CN", "US", "UK"])
def test_every_preset_allows_calls_and_sms_and_the_same_unreachable_rule(code):
    params = params_from_preset(PRESETS[code])
    assert params.channels_allowed == frozenset({Channel.CALL, Channel.SMS})
    assert (params.unreachable_after_days, params.unreachable_min_attempts) == (3, 3)
    assert params.code == code


def test_params_from_preset_takes_the_version_and_holidays_separately():
    holidays = frozenset({date(2027, 10, 1)})
    params = params_from_preset(PRESETS["CN"], version=4, holidays=holidays)
    assert params.version == 4
    assert params.holidays == holidays


def test_preset_returns_an_editable_copy():
    data = preset("US")
    data["windows"][0] = ["09:00", "17:00"]
    data["sources"]["window"] = "edited"
    assert PRESETS["US"]["windows"][0] == ["08:00", "21:00"]
    params = params_from_preset(data, version=2)
    assert params.windows[0] == (time(9), time(17))
    assert params.sources["window"] == "edited"


def test_a_preset_with_a_missing_or_unknown_key_is_rejected():
    data = preset("UK")
    del data["daily_attempt_cap"]
    with pytest.raises(ValueError, match="daily_attempt_cap"):
        params_from_preset(data)
    data = preset("UK")
    data["max_calls"] = 3
    with pytest.raises(ValueError, match="max_calls"):
        params_from_preset(data)


@pytest.mark.parametrize(
    "windows",
    [
        pytest.param([["08:00", "21:00"]] * 6, id="six days"),
        pytest.param([["8:00", "21:00"]] * 7, id="not HH:MM"),
        pytest.param([["08:00"]] * 7, id="half a window"),
    ],
)
def test_a_malformed_window_table_is_rejected(windows):
    data = preset("UK")
    data["windows"] = windows
    with pytest.raises(ValueError):
        params_from_preset(data)


def test_windows_may_end_at_midnight_or_be_null():
    data = preset("UK")
    data["windows"] = [["20:00", "02:00"], ["18:00", "24:00"], ["18:00", "00:00"], None, None, None, None]
    params = params_from_preset(data)
    assert params.windows[:4] == ((time(20), time(2)), (time(18), time(0)), (time(18), time(0)), None)


def test_parse_hhmm_rejects_nonsense():
    assert parse_hhmm("07:05") == time(7, 5)
    for bad in ("7:05", "25:00", "07:60", "ab:cd", ""):
        with pytest.raises(ValueError):
            parse_hhmm(bad)


def test_policy_params_reject_a_window_table_without_seven_days():
    params = params_from_preset(PRESETS["US"])
    with pytest.raises(ValueError):
        dataclasses.replace(params, windows=params.windows[:5])
    with pytest.raises(ValueError):
        dataclasses.replace(params, daily_attempt_cap=-1)
