"""Every reason code: one situation that produces it and one where it does not fire."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collections_app.policy import Channel, Direction, Outcome, Party, ReasonCode, evaluate

NY = ZoneInfo("America/New_York")
# Wednesday 3 March 2027, noon in New York: inside every preset window.
NOON = datetime(2027, 3, 3, 12, 0, tzinfo=NY)


def test_a_plain_call_to_a_consented_number_in_hours_is_allowed(mk):
    decision = evaluate(mk.snapshot(), channel=Channel.CALL, at=NOON)
    assert decision.allowed
    assert decision.reasons == ()
    assert decision.next_allowed_at is None
    assert decision.policy_code == "US"
    assert decision.policy_version == 1


def test_it_rejects_a_naive_instant(mk):
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(mk.snapshot(), channel=Channel.CALL, at=datetime(2027, 3, 3, 12, 0))


def test_it_accepts_the_channel_as_a_plain_string(mk):
    assert evaluate(mk.snapshot(), channel="sms", at=NOON).allowed


# --- consent -------------------------------------------------------------------------------------------------


def test_it_blocks_a_number_without_any_consent_with_no_consent(mk):
    decision = evaluate(mk.snapshot(consents=()), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.NO_CONSENT}
    assert decision.reasons[0].until is None
    assert decision.next_allowed_at is None


@pytest.mark.parametrize(
    "consent_kwargs",
    [
        pytest.param({"channels": frozenset({Channel.SMS})}, id="other channel"),
        pytest.param({"purpose": "marketing"}, id="other purpose"),
        pytest.param({"number_id": 2}, id="other number"),
        pytest.param({"granted_at": datetime(2027, 3, 4, tzinfo=UTC)}, id="granted later"),
    ],
)
def test_a_consent_that_does_not_cover_the_call_is_no_consent(mk, consent_kwargs):
    consent = mk.consent(**consent_kwargs)
    decision = evaluate(mk.snapshot(consents=(consent,)), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.NO_CONSENT}


def test_a_third_party_number_needs_no_consent_record(mk):
    snap = mk.snapshot(number=mk.third_party_number(), consents=(), policy=mk.policy("US"))
    decision = evaluate(snap, channel=Channel.CALL, at=NOON)
    assert ReasonCode.NO_CONSENT not in mk.codes(decision)


def test_it_reports_a_withdrawn_consent_as_consent_withdrawn(mk):
    consent = mk.consent(withdrawn_at=NOON - timedelta(days=1))
    decision = evaluate(mk.snapshot(consents=(consent,)), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.CONSENT_WITHDRAWN}
    assert decision.next_allowed_at is None


def test_a_consent_withdrawn_only_after_the_instant_still_covers_it(mk):
    consent = mk.consent(withdrawn_at=NOON + timedelta(minutes=1))
    assert evaluate(mk.snapshot(consents=(consent,)), channel=Channel.CALL, at=NOON).allowed


def test_a_borrower_number_marked_opted_out_is_consent_withdrawn_for_calls_and_sms(mk):
    snap = mk.snapshot(number=mk.number(status="opted_out"))
    for channel in Channel:
        assert mk.codes(evaluate(snap, channel=channel, at=NOON)) == {ReasonCode.CONSENT_WITHDRAWN}


def test_it_reports_an_expired_consent_as_consent_expired(mk):
    consent = mk.consent(expires_at=NOON - timedelta(seconds=1))
    decision = evaluate(mk.snapshot(consents=(consent,)), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.CONSENT_EXPIRED}
    assert decision.next_allowed_at is None


def test_a_consent_expiring_later_still_covers_it(mk):
    consent = mk.consent(expires_at=NOON + timedelta(seconds=1))
    assert evaluate(mk.snapshot(consents=(consent,)), channel=Channel.CALL, at=NOON).allowed


def test_withdrawal_wins_over_expiry_when_both_happened(mk):
    withdrawn = mk.consent(withdrawn_at=NOON - timedelta(days=2))
    expired = mk.consent(expires_at=NOON - timedelta(days=1))
    decision = evaluate(mk.snapshot(consents=(expired, withdrawn)), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.CONSENT_WITHDRAWN}


def test_one_active_consent_is_enough_even_next_to_an_expired_one(mk):
    consents = (mk.consent(expires_at=NOON - timedelta(days=1)), mk.consent())
    assert evaluate(mk.snapshot(consents=consents), channel=Channel.CALL, at=NOON).allowed


def test_a_call_only_consent_does_not_cover_sms(mk):
    snap = mk.snapshot(consents=(mk.consent(channels=frozenset({Channel.CALL})),))
    assert evaluate(snap, channel=Channel.CALL, at=NOON).allowed
    assert mk.codes(evaluate(snap, channel=Channel.SMS, at=NOON)) == {ReasonCode.NO_CONSENT}


# --- hours, inconvenient times, holidays -----------------------------------------------------------------------


def test_it_blocks_a_call_after_hours(mk):
    decision = evaluate(mk.snapshot(), channel=Channel.CALL, at=datetime(2027, 3, 3, 21, 0, tzinfo=NY))
    assert mk.codes(decision) == {ReasonCode.OUTSIDE_CONTACT_HOURS}
    assert decision.next_allowed_at == datetime(2027, 3, 4, 8, 0, tzinfo=NY)


def test_hours_apply_to_sms_too(mk):
    decision = evaluate(mk.snapshot(), channel=Channel.SMS, at=datetime(2027, 3, 3, 6, 0, tzinfo=NY))
    assert mk.codes(decision) == {ReasonCode.OUTSIDE_CONTACT_HOURS}


def test_it_blocks_a_time_the_borrower_declared_inconvenient(mk):
    # Works nights: Monday-Friday 08:00-16:00 is when they sleep.
    snap = mk.snapshot(inconvenient_times=(mk.inconvenient({0, 1, 2, 3, 4}, "08:00", "16:00"),))
    decision = evaluate(snap, channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.INCONVENIENT_TIME}
    assert decision.reasons[0].until == datetime(2027, 3, 3, 16, 0, tzinfo=NY)
    assert decision.next_allowed_at == datetime(2027, 3, 3, 16, 0, tzinfo=NY)


def test_a_declared_inconvenient_time_does_not_block_other_times_or_days(mk):
    snap = mk.snapshot(inconvenient_times=(mk.inconvenient({0, 1, 2, 3, 4}, "08:00", "16:00"),))
    assert evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 16, 0, tzinfo=NY)).allowed
    assert evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 6, 12, 0, tzinfo=NY)).allowed  # Saturday


def test_inconvenient_times_are_read_in_the_borrowers_zone(mk):
    # Borrower in Denver declares 10:00-12:00 inconvenient; noon in New York is 10:00 in Denver.
    snap = mk.snapshot(
        borrower_timezone="America/Denver",
        inconvenient_times=(mk.inconvenient(set(range(7)), "10:00", "12:00"),),
    )
    decision = evaluate(snap, channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.INCONVENIENT_TIME}
    assert decision.next_allowed_at == datetime(2027, 3, 3, 12, 0, tzinfo=ZoneInfo("America/Denver"))


def test_it_blocks_contact_on_a_public_holiday_when_the_policy_says_so(mk):
    holidays = frozenset({date(2027, 3, 3), date(2027, 3, 4)})
    snap = mk.snapshot(policy=mk.policy("US", holidays_blocked=True, holidays=holidays))
    decision = evaluate(snap, channel=Channel.SMS, at=NOON)
    assert mk.codes(decision) == {ReasonCode.HOLIDAY}
    # Two holidays in a row: it lifts at the start of the first ordinary day, and contact resumes at 08:00.
    assert decision.reasons[0].until == datetime(2027, 3, 5, 0, 0, tzinfo=NY)
    assert decision.next_allowed_at == datetime(2027, 3, 5, 8, 0, tzinfo=NY)


def test_holidays_do_not_block_when_the_policy_allows_contact_on_them(mk):
    snap = mk.snapshot(policy=mk.policy("US", holidays_blocked=False, holidays=frozenset({date(2027, 3, 3)})))
    assert evaluate(snap, channel=Channel.CALL, at=NOON).allowed


def test_a_holiday_is_a_borrower_local_date(mk):
    # 2027-03-04 02:00 UTC is still 3 March in New York: not the holiday of the 4th.
    snap = mk.snapshot(policy=mk.policy("US", holidays_blocked=True, holidays=frozenset({date(2027, 3, 4)})))
    at = datetime(2027, 3, 4, 1, 30, tzinfo=UTC)  # 20:30 on the 3rd in New York
    assert evaluate(snap, channel=Channel.CALL, at=at).allowed


# --- caps ------------------------------------------------------------------------------------------------------


def test_it_blocks_the_call_once_the_daily_attempt_cap_per_number_is_reached(mk):
    attempts = tuple(mk.attempt(NOON - timedelta(hours=k + 1)) for k in range(3))
    snap = mk.snapshot(policy=mk.policy("US", daily_attempt_cap=3, rolling_attempt_cap=None), attempts=attempts)
    decision = evaluate(snap, channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.DAILY_ATTEMPT_LIMIT}
    assert decision.reasons[0].until == datetime(2027, 3, 4, 0, 0, tzinfo=NY)


def test_the_daily_attempt_cap_counts_only_todays_attempts_to_this_number(mk):
    attempts = (
        mk.attempt(NOON - timedelta(days=1)),
        mk.attempt(NOON - timedelta(hours=1), number_id=2),
        mk.attempt(NOON - timedelta(hours=2)),
    )
    snap = mk.snapshot(policy=mk.policy("US", daily_attempt_cap=2, rolling_attempt_cap=None), attempts=attempts)
    assert evaluate(snap, channel=Channel.CALL, at=NOON).allowed


def test_the_daily_attempt_cap_does_not_apply_to_sms(mk):
    attempts = tuple(mk.attempt(NOON - timedelta(hours=k + 1)) for k in range(3))
    snap = mk.snapshot(policy=mk.policy("US", daily_attempt_cap=3), attempts=attempts)
    assert evaluate(snap, channel=Channel.SMS, at=NOON).allowed


def test_it_blocks_once_the_daily_conversation_cap_is_reached_across_numbers_and_loans(mk):
    conversations = (
        mk.attempt(NOON - timedelta(hours=1), outcome=Outcome.CONVERSATION),
        mk.attempt(NOON - timedelta(hours=2), outcome=Outcome.CONVERSATION, number_id=2, loan_id=mk.OTHER_LOAN),
        mk.attempt(NOON - timedelta(hours=3), outcome=Outcome.CONVERSATION, direction=Direction.INBOUND, number_id=2),
    )
    policy = mk.policy("US", daily_conversation_cap=3, conversation_cooldown_days=None)
    snap = mk.snapshot(policy=policy, attempts=conversations)
    decision = evaluate(snap, channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.DAILY_CONVERSATION_LIMIT}
    assert decision.next_allowed_at == datetime(2027, 3, 4, 8, 0, tzinfo=NY)


def test_third_party_conversations_and_yesterdays_do_not_count_toward_the_conversation_cap(mk):
    attempts = (
        mk.attempt(NOON - timedelta(days=1), outcome=Outcome.CONVERSATION),
        mk.attempt(NOON - timedelta(hours=1), outcome=Outcome.CONVERSATION, party=Party.THIRD_PARTY),
        mk.attempt(NOON - timedelta(hours=2), outcome=Outcome.CONVERSATION),
    )
    policy = mk.policy("US", daily_conversation_cap=2, conversation_cooldown_days=None, rolling_attempt_cap=None)
    assert evaluate(mk.snapshot(policy=policy, attempts=attempts), channel=Channel.CALL, at=NOON).allowed


def test_it_blocks_once_the_rolling_attempt_cap_is_reached(mk):
    attempts = tuple(mk.attempt(NOON - timedelta(days=k, hours=1)) for k in range(7))
    decision = evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.ROLLING_ATTEMPT_LIMIT}


def test_the_rolling_cap_does_not_fire_below_the_cap(mk):
    attempts = tuple(mk.attempt(NOON - timedelta(days=k, hours=1)) for k in range(6))
    assert evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=NOON).allowed


def test_it_blocks_calls_during_the_conversation_cooldown(mk):
    attempts = (mk.attempt(NOON - timedelta(days=2), outcome=Outcome.CONVERSATION),)
    decision = evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.CONVERSATION_COOLDOWN}


def test_a_conversation_about_another_debt_does_not_start_this_debts_cooldown(mk):
    attempts = (mk.attempt(NOON - timedelta(days=2), outcome=Outcome.CONVERSATION, loan_id=mk.OTHER_LOAN),)
    assert evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=NOON).allowed


def test_the_cooldown_does_not_apply_to_sms(mk):
    attempts = (mk.attempt(NOON - timedelta(days=2), outcome=Outcome.CONVERSATION),)
    assert evaluate(mk.snapshot(attempts=attempts), channel=Channel.SMS, at=NOON).allowed


# --- restrictions ------------------------------------------------------------------------------------------------

RESTRICTIONS = [
    ("cease_communication", ReasonCode.CEASE_COMMUNICATION),
    ("attorney", ReasonCode.ATTORNEY_REPRESENTED),
    ("dispute", ReasonCode.DISPUTE_PENDING),
    ("bankruptcy", ReasonCode.BANKRUPTCY),
    ("deceased", ReasonCode.DECEASED),
    ("complaint_hold", ReasonCode.COMPLAINT_HOLD),
    ("temporary_hold", ReasonCode.TEMPORARY_HOLD),
]


@pytest.mark.parametrize(("kind", "code"), RESTRICTIONS)
def test_an_active_restriction_on_the_borrower_blocks_every_channel(mk, kind, code):
    snap = mk.snapshot(restrictions=(mk.restriction(kind),))
    for channel in Channel:
        decision = evaluate(snap, channel=channel, at=NOON)
        assert mk.codes(decision) == {code}
        assert decision.reasons[0].until is None  # open-ended: not time-based
        assert decision.next_allowed_at is None


@pytest.mark.parametrize(("kind", "code"), RESTRICTIONS)
def test_a_restriction_on_this_loan_blocks_it(mk, kind, code):
    snap = mk.snapshot(restrictions=(mk.restriction(kind, loan_id=mk.LOAN),))
    assert mk.codes(evaluate(snap, channel=Channel.CALL, at=NOON)) == {code}


@pytest.mark.parametrize(
    "restriction_kwargs",
    [
        pytest.param({"loan_id": 11}, id="other loan"),
        pytest.param({"lifted_at": NOON - timedelta(hours=1)}, id="lifted"),
        pytest.param({"ends_at": NOON}, id="ended"),
        pytest.param({"starts_at": NOON + timedelta(hours=1)}, id="not started"),
    ],
)
@pytest.mark.parametrize(("kind", "code"), RESTRICTIONS)
def test_a_restriction_that_is_not_active_for_this_loan_does_not_block(mk, kind, code, restriction_kwargs):
    snap = mk.snapshot(restrictions=(mk.restriction(kind, **restriction_kwargs),))
    assert evaluate(snap, channel=Channel.CALL, at=NOON).allowed


def test_a_complaint_does_not_hold_collection_when_the_policy_says_so(mk):
    snap = mk.snapshot(
        policy=mk.policy("US", complaint_hold_blocks=False), restrictions=(mk.restriction("complaint_hold"),)
    )
    assert evaluate(snap, channel=Channel.CALL, at=NOON).allowed


def test_a_hold_with_an_end_lifts_at_its_end(mk):
    end = datetime(2027, 3, 3, 14, 30, tzinfo=NY)
    snap = mk.snapshot(restrictions=(mk.restriction("temporary_hold", ends_at=end),))
    decision = evaluate(snap, channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.TEMPORARY_HOLD}
    assert decision.reasons[0].until == end
    assert decision.next_allowed_at == end


def test_an_unknown_restriction_kind_is_an_error_not_a_silent_pass(mk):
    with pytest.raises(ValueError, match="restriction kind"):
        evaluate(mk.snapshot(restrictions=(mk.restriction("sulking"),)), channel=Channel.CALL, at=NOON)


# --- number status -----------------------------------------------------------------------------------------------


def test_it_blocks_a_number_reported_wrong(mk):
    decision = evaluate(mk.snapshot(number=mk.number(status="wrong_number")), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.WRONG_NUMBER}
    assert decision.next_allowed_at is None


def test_it_blocks_a_number_marked_invalid(mk):
    decision = evaluate(mk.snapshot(number=mk.number(status="invalid")), channel=Channel.SMS, at=NOON)
    assert mk.codes(decision) == {ReasonCode.INVALID_NUMBER}


def test_it_blocks_a_number_that_does_not_parse(mk):
    decision = evaluate(mk.snapshot(number=mk.number(e164=None)), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.INVALID_NUMBER}
    assert ReasonCode.WRONG_NUMBER not in mk.codes(decision)


def test_an_active_valid_number_is_neither_wrong_nor_invalid(mk):
    decision = evaluate(mk.snapshot(number=mk.number(status="active")), channel=Channel.CALL, at=NOON)
    assert not mk.codes(decision) & {ReasonCode.WRONG_NUMBER, ReasonCode.INVALID_NUMBER}


# --- third parties -------------------------------------------------------------------------------------------------


def _unreachable_history(mk, at: datetime) -> tuple:
    """Three unanswered calls to the borrower's own number in the last three days, no conversation."""
    return tuple(mk.attempt(at - timedelta(days=k, hours=1)) for k in range(3))


def test_an_authorized_third_party_may_be_called_while_the_borrower_is_unreachable(mk):
    snap = mk.cn_snapshot(
        number=mk.third_party_number(zones=("Asia/Shanghai",)), attempts=_unreachable_history(mk, mk.sh(2027, 3, 3, 12))
    )
    assert evaluate(snap, channel=Channel.CALL, at=mk.sh(2027, 3, 3, 12)).allowed


def test_it_blocks_an_unauthorized_third_party(mk):
    at = mk.sh(2027, 3, 3, 12)
    snap = mk.cn_snapshot(
        number=mk.third_party_number(authorized=False, zones=("Asia/Shanghai",)),
        attempts=_unreachable_history(mk, at),
    )
    decision = evaluate(snap, channel=Channel.CALL, at=at)
    assert mk.codes(decision) == {ReasonCode.THIRD_PARTY_NOT_AUTHORIZED}
    assert decision.next_allowed_at is None


def test_an_unauthorized_third_party_is_fine_where_the_policy_needs_no_authorization(mk):
    # US: location contact under FDCPA 1692b needs no authorization from the consumer.
    snap = mk.snapshot(number=mk.third_party_number(authorized=False), attempts=_unreachable_history(mk, NOON))
    assert evaluate(snap, channel=Channel.CALL, at=NOON).allowed


def test_it_blocks_a_third_party_while_the_borrower_was_reached_recently(mk):
    at = mk.sh(2027, 3, 3, 12)
    attempts = (*_unreachable_history(mk, at), mk.attempt(at - timedelta(days=2), outcome=Outcome.CONVERSATION))
    snap = mk.cn_snapshot(number=mk.third_party_number(zones=("Asia/Shanghai",)), attempts=attempts)
    decision = evaluate(snap, channel=Channel.CALL, at=at)
    assert mk.codes(decision) == {ReasonCode.THIRD_PARTY_BORROWER_REACHABLE}
    assert decision.next_allowed_at is None


def test_the_borrower_counts_as_reachable_until_enough_attempts_failed(mk):
    at = mk.sh(2027, 3, 3, 12)
    attempts = _unreachable_history(mk, at)[:2]
    snap = mk.cn_snapshot(number=mk.third_party_number(zones=("Asia/Shanghai",)), attempts=attempts)
    assert mk.codes(evaluate(snap, channel=Channel.CALL, at=at)) == {ReasonCode.THIRD_PARTY_BORROWER_REACHABLE}


def test_a_conversation_older_than_the_unreachable_period_no_longer_makes_the_borrower_reachable(mk):
    at = mk.sh(2027, 3, 3, 12)
    attempts = (*_unreachable_history(mk, at), mk.attempt(at - timedelta(days=3), outcome=Outcome.CONVERSATION))
    snap = mk.cn_snapshot(number=mk.third_party_number(zones=("Asia/Shanghai",)), attempts=attempts)
    assert evaluate(snap, channel=Channel.CALL, at=at).allowed


def test_calls_to_third_parties_do_not_make_the_borrower_unreachable(mk):
    at = mk.sh(2027, 3, 3, 12)
    attempts = tuple(
        mk.attempt(at - timedelta(days=k, hours=1), number_id=mk.THIRD_PARTY_NUMBER, third_party_id=99)
        for k in range(3)
    )
    snap = mk.cn_snapshot(number=mk.third_party_number(zones=("Asia/Shanghai",)), attempts=attempts)
    assert mk.codes(evaluate(snap, channel=Channel.CALL, at=at)) == {ReasonCode.THIRD_PARTY_BORROWER_REACHABLE}


def test_it_blocks_a_second_contact_with_a_third_party_under_the_us_once_rule(mk):
    earlier = mk.attempt(NOON - timedelta(days=30), number_id=mk.THIRD_PARTY_NUMBER, third_party_id=mk.THIRD_PARTY_ID)
    snap = mk.snapshot(number=mk.third_party_number(), attempts=(earlier, *_unreachable_history(mk, NOON)))
    for channel in Channel:
        decision = evaluate(snap, channel=channel, at=NOON)
        assert mk.codes(decision) == {ReasonCode.THIRD_PARTY_LIMIT}
        assert decision.next_allowed_at is None


def test_a_not_connected_call_to_a_third_party_is_not_a_contact_under_reg_f(mk):
    earlier = mk.attempt(
        NOON - timedelta(days=30),
        number_id=mk.THIRD_PARTY_NUMBER,
        third_party_id=mk.THIRD_PARTY_ID,
        outcome=Outcome.NOT_CONNECTED,
    )
    snap = mk.snapshot(number=mk.third_party_number(), attempts=(earlier, *_unreachable_history(mk, NOON)))
    assert evaluate(snap, channel=Channel.CALL, at=NOON).allowed


def test_it_stops_contacting_a_third_party_who_asked_not_to_be_contacted(mk):
    at = mk.sh(2027, 3, 3, 12)
    snap = mk.cn_snapshot(
        number=mk.third_party_number(status="opted_out", zones=("Asia/Shanghai",)),
        attempts=_unreachable_history(mk, at),
    )
    decision = evaluate(snap, channel=Channel.SMS, at=at)
    assert mk.codes(decision) == {ReasonCode.THIRD_PARTY_OPTED_OUT}
    assert ReasonCode.CONSENT_WITHDRAWN not in mk.codes(decision)


def test_a_third_party_opt_out_is_not_enforced_when_the_policy_disables_it(mk):
    at = mk.sh(2027, 3, 3, 12)
    snap = mk.cn_snapshot(
        policy=mk.policy("CN", third_party_stop_on_opt_out=False),
        number=mk.third_party_number(status="opted_out", zones=("Asia/Shanghai",)),
        attempts=_unreachable_history(mk, at),
    )
    assert evaluate(snap, channel=Channel.CALL, at=at).allowed


# --- collectibility and channel ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["paid", "settled", "closed", "written_off"])
def test_it_blocks_a_loan_that_is_no_longer_active(mk, status):
    decision = evaluate(mk.snapshot(loan_status=status), channel=Channel.CALL, at=NOON)
    assert mk.codes(decision) == {ReasonCode.NOT_COLLECTIBLE}
    assert decision.next_allowed_at is None


def test_it_blocks_a_loan_not_yet_past_due_on_the_borrowers_calendar(mk):
    at = datetime(2027, 3, 4, 1, 30, tzinfo=UTC)  # 20:30 on 3 March (the due date) in New York
    decision = evaluate(mk.snapshot(due_date=date(2027, 3, 3)), channel=Channel.SMS, at=at)
    assert mk.codes(decision) == {ReasonCode.NOT_COLLECTIBLE}


def test_a_loan_past_its_due_date_is_collectible(mk):
    assert evaluate(mk.snapshot(due_date=date(2027, 3, 2)), channel=Channel.CALL, at=NOON).allowed


def test_it_blocks_a_channel_the_policy_does_not_allow(mk):
    snap = mk.snapshot(policy=mk.policy("US", channels_allowed=frozenset({Channel.CALL})))
    decision = evaluate(snap, channel=Channel.SMS, at=NOON)
    assert mk.codes(decision) == {ReasonCode.CHANNEL_NOT_PERMITTED}
    assert decision.next_allowed_at is None
    assert evaluate(snap, channel=Channel.CALL, at=NOON).allowed


# --- explanation ---------------------------------------------------------------------------------------------------


def test_every_reason_carries_the_policy_source_of_its_rule(mk):
    decision = evaluate(
        mk.snapshot(consents=(), restrictions=(mk.restriction("attorney"),)),
        channel=Channel.CALL,
        at=datetime(2027, 3, 3, 22, 0, tzinfo=NY),
    )
    rules = {reason.code: reason.rule for reason in decision.reasons}
    assert "1006.6(b)(1)(i)" in rules[ReasonCode.OUTSIDE_CONTACT_HOURS]
    assert "1006.6(b)(2)" in rules[ReasonCode.ATTORNEY_REPRESENTED]
    assert rules[ReasonCode.NO_CONSENT]


def test_a_missing_source_is_an_empty_rule_text(mk):
    snap = mk.snapshot(policy=mk.policy("US", sources={}), consents=())
    assert evaluate(snap, channel=Channel.CALL, at=NOON).reasons[0].rule == ""


def test_messages_are_lazy_and_render_with_the_cap(mk):
    from django.utils import translation

    attempts = tuple(mk.attempt(NOON - timedelta(days=k, hours=1)) for k in range(7))
    reason = evaluate(mk.snapshot(attempts=attempts), channel=Channel.CALL, at=NOON).reasons[0]
    assert not isinstance(reason.message, str)  # a lazy proxy, rendered in the reader's language
    with translation.override("en"):
        assert str(reason.message) == "7 attempts on this debt in the last 7 days reached the cap of 7."


def test_reasons_are_listed_in_the_stable_code_order(mk):
    snap = mk.snapshot(
        consents=(),
        restrictions=(mk.restriction("cease_communication"), mk.restriction("attorney")),
        number=mk.number(status="wrong_number"),
        loan_status="paid",
    )
    decision = evaluate(snap, channel=Channel.CALL, at=datetime(2027, 3, 3, 23, 0, tzinfo=NY))
    order = list(ReasonCode)
    assert [r.code for r in decision.reasons] == sorted((r.code for r in decision.reasons), key=order.index)
    assert len(decision.reasons) == 6


# --- a table that must name every code: adding a code without a scenario fails here ------------------------------

_SH_NOON = datetime(2027, 3, 3, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _scenarios(mk):
    """code -> (fires, stays silent): each a (snapshot, channel, at) triple."""
    call, sms = Channel.CALL, Channel.SMS
    night = datetime(2027, 3, 3, 23, 0, tzinfo=NY)
    history = tuple(mk.attempt(_SH_NOON - timedelta(days=k, hours=1)) for k in range(3))
    tp_zone = {"zones": ("Asia/Shanghai",)}
    seven = tuple(mk.attempt(NOON - timedelta(days=k, hours=1)) for k in range(7))
    talk = (mk.attempt(NOON - timedelta(days=1), outcome=Outcome.CONVERSATION),)
    three_talks = tuple(mk.attempt(_SH_NOON - timedelta(hours=k + 1), outcome=Outcome.CONVERSATION) for k in range(3))
    six = tuple(mk.attempt(_SH_NOON - timedelta(minutes=10 * (k + 1))) for k in range(6))
    us_once = (mk.attempt(NOON - timedelta(days=9), number_id=mk.THIRD_PARTY_NUMBER, third_party_id=mk.THIRD_PARTY_ID),)
    holiday_policy = mk.policy("US", holidays_blocked=True, holidays=frozenset({date(2027, 3, 3)}))
    sms_only = mk.policy("US", channels_allowed=frozenset({Channel.SMS}))
    plain = (mk.snapshot(), call, NOON)

    def restricted(kind):
        return (mk.snapshot(restrictions=(mk.restriction(kind),)), call, NOON)

    return {
        ReasonCode.NO_CONSENT: ((mk.snapshot(consents=()), call, NOON), plain),
        ReasonCode.CONSENT_WITHDRAWN: (
            (mk.snapshot(consents=(mk.consent(withdrawn_at=NOON - timedelta(days=1)),)), call, NOON),
            plain,
        ),
        ReasonCode.CONSENT_EXPIRED: (
            (mk.snapshot(consents=(mk.consent(expires_at=NOON - timedelta(days=1)),)), call, NOON),
            plain,
        ),
        ReasonCode.OUTSIDE_CONTACT_HOURS: ((mk.snapshot(), call, night), plain),
        ReasonCode.INCONVENIENT_TIME: (
            (mk.snapshot(inconvenient_times=(mk.inconvenient({2}, "11:00", "13:00"),)), call, NOON),
            (mk.snapshot(inconvenient_times=(mk.inconvenient({3}, "11:00", "13:00"),)), call, NOON),
        ),
        ReasonCode.HOLIDAY: (
            (mk.snapshot(policy=holiday_policy), sms, NOON),
            (mk.snapshot(policy=holiday_policy), sms, NOON + timedelta(days=1)),
        ),
        ReasonCode.DAILY_ATTEMPT_LIMIT: (
            (mk.cn_snapshot(attempts=six), call, _SH_NOON),
            (mk.cn_snapshot(attempts=six[:5]), call, _SH_NOON),
        ),
        ReasonCode.DAILY_CONVERSATION_LIMIT: (
            (mk.cn_snapshot(attempts=three_talks), call, _SH_NOON),
            (mk.cn_snapshot(attempts=three_talks[:2]), call, _SH_NOON),
        ),
        ReasonCode.ROLLING_ATTEMPT_LIMIT: (
            (mk.snapshot(attempts=seven), call, NOON),
            (mk.snapshot(attempts=seven[:6]), call, NOON),
        ),
        ReasonCode.CONVERSATION_COOLDOWN: (
            (mk.snapshot(attempts=talk), call, NOON),
            (mk.snapshot(attempts=talk), call, NOON + timedelta(days=6)),
        ),
        **{code: (restricted(kind), plain) for kind, code in RESTRICTIONS},
        ReasonCode.WRONG_NUMBER: ((mk.snapshot(number=mk.number(status="wrong_number")), call, NOON), plain),
        ReasonCode.INVALID_NUMBER: ((mk.snapshot(number=mk.number(e164=None)), call, NOON), plain),
        ReasonCode.THIRD_PARTY_NOT_AUTHORIZED: (
            (
                mk.cn_snapshot(number=mk.third_party_number(authorized=False, **tp_zone), attempts=history),
                call,
                _SH_NOON,
            ),
            (mk.cn_snapshot(number=mk.third_party_number(**tp_zone), attempts=history), call, _SH_NOON),
        ),
        ReasonCode.THIRD_PARTY_BORROWER_REACHABLE: (
            (mk.cn_snapshot(number=mk.third_party_number(**tp_zone), attempts=history[:2]), call, _SH_NOON),
            (mk.cn_snapshot(number=mk.third_party_number(**tp_zone), attempts=history), call, _SH_NOON),
        ),
        ReasonCode.THIRD_PARTY_LIMIT: (
            (
                mk.snapshot(number=mk.third_party_number(), attempts=(*us_once, *_unreachable_history(mk, NOON))),
                call,
                NOON,
            ),
            (mk.snapshot(number=mk.third_party_number(), attempts=_unreachable_history(mk, NOON)), call, NOON),
        ),
        ReasonCode.THIRD_PARTY_OPTED_OUT: (
            (
                mk.cn_snapshot(number=mk.third_party_number(status="opted_out", **tp_zone), attempts=history),
                sms,
                _SH_NOON,
            ),
            (mk.cn_snapshot(number=mk.third_party_number(**tp_zone), attempts=history), sms, _SH_NOON),
        ),
        ReasonCode.NOT_COLLECTIBLE: ((mk.snapshot(loan_status="settled"), call, NOON), plain),
        ReasonCode.CHANNEL_NOT_PERMITTED: (
            (mk.snapshot(policy=sms_only), call, NOON),
            (mk.snapshot(policy=sms_only), sms, NOON),
        ),
        ReasonCode.INCIDENT_PAUSE: (
            (mk.snapshot(pauses=(mk.pause(),)), call, NOON),
            (mk.snapshot(pauses=(mk.pause(lifted_at=NOON - timedelta(hours=1)),)), call, NOON),
        ),
    }


def test_the_scenario_table_covers_every_reason_code(mk):
    assert set(_scenarios(mk)) == set(ReasonCode)


@pytest.mark.parametrize("code", list(ReasonCode))
def test_each_reason_code_fires_exactly_in_its_scenario(mk, code):
    fires, silent = _scenarios(mk)[code]
    snap, channel, at = fires
    assert mk.codes(evaluate(snap, channel=channel, at=at)) == {code}
    snap, channel, at = silent
    assert evaluate(snap, channel=channel, at=at).allowed
