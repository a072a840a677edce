"""Each content rule with a body that passes it and one that breaks it, checked as a version is saved (its findings
stored) and submitted (refused with the rule's code); and the phrase matching on normalised text."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from collections_app.messaging import lint
from collections_app.messaging.selectors import forbidden_phrases_for
from collections_app.messaging.services import template_version_create, template_version_submit
from collections_app.models import TemplateVersionState

from .conftest import CN_SMS, UK_SMS, US_SMS, US_VOICE, make_template

pytestmark = pytest.mark.django_db

CN_OK = "【{institution}】您的借款已于{due_date}到期，请及时还款。"

# (rule, template settings, a body that passes, a body that breaks the rule)
CASES = [
    ("UNKNOWN_VARIABLE", {}, CN_OK, "【{institution}】{borrower_name}您好，请及时还款。"),
    ("MALFORMED_PLACEHOLDER", {}, CN_OK, "【{institution}】请于{due_date到期前还款。"),
    ("THIRD_PARTY_DEBT_DISCLOSURE", {"third_party_safe": True}, "【{institution}】请转告机主回电{agent_phone}。",
     "【{institution}】请转告机主尽快还款{amount_due}元。"),
    ("CN_INSTITUTION_NOT_IDENTIFIED", {}, CN_OK, "您的借款已于{due_date}到期，请及时还款。"),
    ("CN_THREAT", {}, CN_OK, "【{institution}】今天不还款，后果自负。"),
    ("CN_INSULT", {}, CN_OK, "【{institution}】老赖，请及时还款。"),
    ("CN_IMPERSONATION", {}, CN_OK, "【{institution}】法院已受理，请及时还款。"),
    ("CN_CONTACTS_MENTIONED", {}, CN_OK, "【{institution}】再不还款将联系你的通讯录。"),
    ("CN_EXTRA_FEES", {}, CN_OK, "【{institution}】逾期将收取催收费。"),
    ("US_NOT_FROM_DEBT_COLLECTOR", {"jurisdiction": "US", "language": "en"}, US_SMS,
     "{institution}: {amount_due} was due on {due_date}. Reply STOP to opt out."),
    ("US_NO_OPT_OUT", {"jurisdiction": "US", "language": "en"}, US_SMS,
     "{institution}: this is a debt collector. {amount_due} was due on {due_date}. To opt out, write to us."),
    ("US_VOICEMAIL_NOT_LIMITED", {"jurisdiction": "US", "language": "en", "channel": "voice"}, US_VOICE,
     "Hello, this is {agent_name} from {institution}."),
    ("US_DEBT_MENTIONED", {"jurisdiction": "US", "language": "en", "channel": "voice"}, US_VOICE,
     "This is {agent_name} from {institution} about your overdue balance. Please call us back at {agent_phone}."),
    ("UK_FIRM_NOT_IDENTIFIED", {"jurisdiction": "UK", "language": "en"}, UK_SMS,
     "A payment of {amount_due} was due on {due_date}. Please call {agent_phone}."),
    ("UK_PRESSURE", {"jurisdiction": "UK", "language": "en"}, UK_SMS,
     "{institution}: pay immediately or the bailiffs will be told. Call {agent_phone}."),
]


@pytest.mark.parametrize(("rule", "settings", "passing", "failing"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_passes_a_good_body_and_refuses_a_bad_one(compliance, rule, settings, passing, failing):
    assert rule in lint.RULES and lint.RULES[rule].source
    template = make_template(compliance, **settings)
    good = template_version_create(template=template, body=passing, actor=compliance)
    assert good.lint_codes == []
    bad = template_version_create(template=template, body=failing, actor=compliance)
    assert rule in bad.lint_codes  # saved as a draft, its findings shown
    with pytest.raises(ValidationError) as refused:
        template_version_submit(version=bad, actor=compliance)
    assert rule in {error.code for error in refused.value.error_dict["body"]}
    bad.refresh_from_db()
    assert bad.state == TemplateVersionState.DRAFT
    template_version_submit(version=good, actor=compliance)
    good.refresh_from_db()
    assert good.state == TemplateVersionState.PENDING_APPROVAL


def test_the_unknown_variable_is_named(compliance):
    template = make_template(compliance)
    version = template_version_create(template=template, body="【{institution}】{borrower_name}，{id_number}",
                                      actor=compliance)
    with pytest.raises(ValidationError) as refused:
        template_version_submit(version=version, actor=compliance)
    messages = " ".join(refused.value.messages)
    assert "borrower_name" in messages and "id_number" in messages


@pytest.mark.parametrize("variable", sorted(lint.DEBT_VARIABLES))
def test_a_third_party_safe_template_may_use_no_debt_variable(compliance, variable):
    template = make_template(compliance, third_party_safe=True)
    version = template_version_create(template=template, body=f"【{{institution}}】{{{variable}}}", actor=compliance)
    assert version.lint_codes == ["THIRD_PARTY_DEBT_DISCLOSURE"]


def test_a_us_third_party_message_says_nothing_about_a_debt_and_needs_no_debt_collector_statement(compliance):
    template = make_template(compliance, jurisdiction="US", language="en", third_party_safe=True)
    ok = template_version_create(template=template, body="{agent_name} of {institution} asks you to call "
                                 "{agent_phone}. Reply STOP to opt out.", actor=compliance)
    assert ok.lint_codes == []
    told = template_version_create(template=template, body="{institution} is a debt collector. Call "
                                   "{agent_phone}. Reply STOP to opt out.", actor=compliance)
    assert told.lint_codes == ["US_DEBT_MENTIONED"]


def test_the_templates_of_the_fixtures_pass(compliance):
    for code, body, settings in (("cn", CN_SMS, {}), ("us", US_SMS, {"jurisdiction": "US", "language": "en"}),
                                 ("usv", US_VOICE, {"jurisdiction": "US", "language": "en", "channel": "voice"}),
                                 ("uk", UK_SMS, {"jurisdiction": "UK", "language": "en"})):
        template = make_template(compliance, code=code, **settings)
        assert template_version_create(template=template, body=body, actor=compliance).lint_codes == [], code


# --- Normalisation -------------------------------------------------------------------------------------------------

CN_FACTS = lint.TemplateFacts(channel="sms", jurisdiction="CN", third_party_safe=False)
UK_FACTS = lint.TemplateFacts(channel="sms", jurisdiction="UK", third_party_safe=False)


@pytest.mark.parametrize("disguised", [
    "【{institution}】法 院已受理",  # spaces
    "【{institution}】法·院已受理",  # punctuation
    "【{institution}】法\u3000院已受理",  # an ideographic space
    "【{institution}】公－检－法",  # full-width hyphens
    "【{institution}】將聯繫你的通訊錄",  # traditional characters
])
def test_chinese_phrases_match_through_spacing_punctuation_and_traditional_characters(disguised):
    codes = lint.finding_codes(lint.lint_body(disguised, CN_FACTS, forbidden_phrases_for("CN")))
    assert codes and set(codes) <= {"CN_IMPERSONATION", "CN_CONTACTS_MENTIONED"}, codes


@pytest.mark.parametrize("disguised", [
    "{institution}: PAY IMMEDIATELY.",  # case
    "{institution}: ｐａｙ　ｉｍｍｅｄｉａｔｅｌｙ.",  # full-width letters and space
    "{institution}: pay,  immediately!",  # punctuation and spacing
    "{institution}: the B.A.I.L.I.F.F.S are coming",  # letters spelled apart
])
def test_latin_phrases_match_through_case_width_punctuation_and_spacing(disguised):
    codes = lint.finding_codes(lint.lint_body(disguised, UK_FACTS, forbidden_phrases_for("UK")))
    assert codes == ["UK_PRESSURE"]


def test_latin_phrases_match_whole_words_only():
    # "owe" is a US phrase; "Owen" and "however" are not it.
    facts = lint.TemplateFacts(channel="voice", jurisdiction="US", third_party_safe=False)
    body = "This is {agent_name} Owen from {institution}; however, please call us back at {agent_phone}."
    assert lint.lint_body(body, facts, forbidden_phrases_for("US")) == []


def test_a_phrase_of_another_jurisdiction_does_not_apply():
    assert lint.lint_body("【{institution}】pay immediately", CN_FACTS, forbidden_phrases_for("CN")) == []


def test_normalise_folds_width_case_spacing_punctuation_and_traditional():
    assert lint.normalise("ＡＢＣ　d-e，通訊錄！") == "abcde通讯录"


def test_a_phrase_mixing_chinese_and_latin_letters_matches_without_word_boundaries():
    phrases = [lint.Phrase(phrase="加收VIP费", rule_code="CN_EXTRA_FEES", jurisdiction="CN")]
    findings = lint.lint_body("【{institution}】逾期将加收 vip 费。", CN_FACTS, phrases)
    assert lint.finding_codes(findings) == ["CN_EXTRA_FEES"]
