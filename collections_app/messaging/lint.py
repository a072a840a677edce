"""The content rules of message templates: pure functions, no ORM (the forbidden phrases come in as arguments).

`lint_body` checks a template's text when a version is saved and submitted; `lint_rendered` checks the text a
message would carry, its variables filled in, when it is rendered. Each rule has a stable code (what the version
stores, the audit events carry and the admin shows in words) and its source. Phrases are matched on normalised
text (`normalise`): NFKC (full-width letters and digits become ASCII), case folded, traditional Chinese folded to
simplified (OpenCC's t2s), and spacing and punctuation folded, so `法 院`, `法·院`, `法院` and `ＡＲＲＥＳＴ` all match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import opencc

# --- Variables -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    name: str
    discloses_debt: bool  # names or points to the debt: never in a third-party-safe template nor a voicemail (US)


# The whitelist. No borrower's personal data: a message may reach the wrong person, and a name adds nothing the
# borrower needs to act on it.
VARIABLES: Mapping[str, Variable] = {
    v.name: v for v in (
        Variable("institution", discloses_debt=False),  # the lender or agency, as it identifies itself
        Variable("agent_name", discloses_debt=False),  # the collector's working name
        Variable("agent_phone", discloses_debt=False),  # the number to call back
        Variable("amount_due", discloses_debt=True),
        Variable("due_date", discloses_debt=True),
        Variable("pay_link", discloses_debt=True),  # a payment page names the debt
    )
}
DEBT_VARIABLES = frozenset(name for name, v in VARIABLES.items() if v.discloses_debt)

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def placeholders(body: str) -> list[str]:
    """The names in braces, in order of first use."""
    return list(dict.fromkeys(match.strip() for match in _PLACEHOLDER.findall(body)))


def has_stray_braces(body: str) -> bool:
    return "{" in _PLACEHOLDER.sub("", body) or "}" in _PLACEHOLDER.sub("", body)


# --- Rules ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    code: str
    jurisdictions: frozenset[str]  # empty: every jurisdiction
    source: str
    phrases: bool = False  # matched through the forbidden-phrase list

    def applies(self, *, jurisdiction: str) -> bool:
        return not self.jurisdictions or jurisdiction in self.jurisdictions


CN, US, UK = frozenset({"CN"}), frozenset({"US"}), frozenset({"UK"})
_CBA = ("China Banking Association, 金融机构个人消费类贷款催收工作指引（试行） (2026; unverified against the official "
        "text)")

RULES: Mapping[str, Rule] = {
    r.code: r for r in (
        Rule("UNKNOWN_VARIABLE", frozenset(), "Collector Desk: variables from the whitelist only (firm policy)"),
        Rule("MALFORMED_PLACEHOLDER", frozenset(), "Collector Desk: a brace that opens no variable (firm policy)"),
        Rule("MISSING_VARIABLE", frozenset(), "Collector Desk: every variable filled in when rendered"),
        Rule("THIRD_PARTY_DEBT_DISCLOSURE", frozenset(),
             f"{_CBA}: third parties never told of the debt; 12 CFR 1006.10 and FDCPA 1692b(2); FCA CONC 7.9"),
        Rule("CN_INSTITUTION_NOT_IDENTIFIED", CN, f"{_CBA}: the institution identifies itself"),
        Rule("CN_THREAT", CN, f"{_CBA}: no threats, violence or intimidation; NFRA 消费金融公司管理办法 (2024)",
             phrases=True),
        Rule("CN_INSULT", CN, f"{_CBA}: no insults", phrases=True),
        Rule("CN_IMPERSONATION", CN, f"{_CBA}: no impersonation of administrative or judicial authorities (公检法)",
             phrases=True),
        Rule("CN_CONTACTS_MENTIONED", CN,
             f"{_CBA}: third parties only when authorized and never collected from; no contact of the phone book "
             "(通讯录); NFRA 消费金融公司管理办法 (2024)", phrases=True),
        Rule("CN_EXTRA_FEES", CN, f"{_CBA}: no extra fees charged", phrases=True),
        Rule("US_NOT_FROM_DEBT_COLLECTOR", US,
             "12 CFR 1006.18(e): every communication says it is from a debt collector"),
        Rule("US_NO_OPT_OUT", US,
             "12 CFR 1006.6(e): a clear and conspicuous, reasonable and simple way to opt out of electronic messages"),
        Rule("US_VOICEMAIL_NOT_LIMITED", US,
             "12 CFR 1006.2(j): a limited-content message gives a name, a request to reply and a callback number"),
        Rule("US_DEBT_MENTIONED", US,
             "12 CFR 1006.2(j) (limited-content message) and 1006.10 (third-party location contact): nothing about "
             "a debt", phrases=True),
        Rule("UK_FIRM_NOT_IDENTIFIED", UK, "FCA CONC 7.3 (fair treatment in arrears): the firm identifies itself"),
        Rule("UK_PRESSURE", UK, "FCA CONC 7.3.10 R: no pressure to pay in an unreasonably short time or to borrow",
             phrases=True),
        Rule("FIRM_POLICY", frozenset(), "firm policy: wording the firm does not use", phrases=True),
    )
}
PHRASE_RULES = tuple(code for code, rule in RULES.items() if rule.phrases)


# --- Normalisation -------------------------------------------------------------------------------------------------


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _is_separator(char: str) -> bool:
    # Punctuation, symbols, spaces and controls: what people put between letters to get past a filter.
    return unicodedata.category(char)[0] in "PSZC"


def _fold(text: str) -> str:
    return _t2s().convert(unicodedata.normalize("NFKC", text).casefold())


def normalise(text: str) -> str:
    """`text` with every separator removed (for Chinese phrases, which have no spaces between words)."""
    return "".join(char for char in _fold(text) if not _is_separator(char))


def normalise_words(text: str) -> str:
    """`text` as words separated by one space, padded with one at each end (for phrases in Latin letters, matched
    as whole words so that `sue` does not match `issue`); a run of single letters is joined (`d.e.b.t` is `debt`)."""
    words = "".join(" " if _is_separator(char) else char for char in _fold(text)).split()
    joined: list[str] = []
    run = ""
    for word in words:
        if len(word) == 1 and word.isascii():
            run += word
            continue
        if run:
            joined.append(run)
            run = ""
        joined.append(word)
    if run:
        joined.append(run)
    return f" {' '.join(joined)} "


def _is_latin(phrase: str) -> bool:
    """Letters and digits all ASCII: matched as whole words. A phrase with Chinese in it (`回复TD`) is matched
    without word boundaries, as Chinese is written without spaces."""
    letters = [char for char in _fold(phrase) if char.isalnum()]
    return bool(letters) and all(char.isascii() for char in letters)


def phrase_in(phrase: str, *, compact: str, words: str) -> bool:
    if _is_latin(phrase):
        return normalise_words(phrase) in words
    needle = normalise(phrase)
    return bool(needle) and needle in compact


# --- Checking ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    phrase: str
    rule_code: str
    jurisdiction: str = ""  # empty: every jurisdiction


@dataclass(frozen=True)
class Finding:
    code: str
    detail: str = ""  # a variable's name or a forbidden phrase (template wording, never personal data)


@dataclass(frozen=True)
class TemplateFacts:
    channel: str
    jurisdiction: str
    third_party_safe: bool


_REQUEST_TO_REPLY = ("please call", "call us", "call me", "call back", "return this call", "return our call",
                     "reply", "请回电", "请致电", "回电")
_DEBT_COLLECTOR_STATEMENTS = ("debt collector", "债务催收")
_OPT_OUT = re.compile(r" (?:reply|text|send) (?:stop|quit|unsubscribe|end|cancel)\b")
_OPT_OUT_ZH = ("回复td退订", "回复t退订", "回复退订", "退订回td", "退订回t")


def _text_findings(text: str, facts: TemplateFacts, phrases: Iterable[Phrase]) -> list[Finding]:
    """The rules that read the words: phrases, and what a kind of message must say."""
    compact, words = normalise(text), normalise_words(text)
    findings: list[Finding] = []
    jurisdiction = facts.jurisdiction
    for phrase in phrases:
        rule = RULES.get(phrase.rule_code)
        if rule is None or not rule.applies(jurisdiction=jurisdiction):
            continue
        if phrase.jurisdiction and phrase.jurisdiction != jurisdiction:
            continue
        if rule.code == "US_DEBT_MENTIONED" and not (facts.channel == "voice" or facts.third_party_safe):
            continue  # the debt collector's own SMS to the borrower says what it is about
        if phrase_in(phrase.phrase, compact=compact, words=words):
            findings.append(Finding(rule.code, phrase.phrase))
    if jurisdiction == "US":
        limited = facts.channel == "voice" or facts.third_party_safe
        if facts.channel == "sms" and not limited and not any(
            phrase_in(s, compact=compact, words=words) for s in _DEBT_COLLECTOR_STATEMENTS
        ):
            findings.append(Finding("US_NOT_FROM_DEBT_COLLECTOR"))
        if facts.channel == "sms" and not (_OPT_OUT.search(words) or any(s in compact for s in _OPT_OUT_ZH)):
            findings.append(Finding("US_NO_OPT_OUT"))
        if facts.channel == "voice" and not any(phrase_in(s, compact=compact, words=words)
                                                for s in _REQUEST_TO_REPLY):
            findings.append(Finding("US_VOICEMAIL_NOT_LIMITED"))
    return findings


def _variable_findings(names: Sequence[str], facts: TemplateFacts) -> list[Finding]:
    findings = [Finding("UNKNOWN_VARIABLE", name) for name in names if name not in VARIABLES]
    debt = [name for name in names if name in DEBT_VARIABLES]
    if facts.third_party_safe:
        findings += [Finding("THIRD_PARTY_DEBT_DISCLOSURE", name) for name in debt]
    if facts.jurisdiction == "CN" and "institution" not in names:
        findings.append(Finding("CN_INSTITUTION_NOT_IDENTIFIED", "institution"))
    if facts.jurisdiction == "UK" and "institution" not in names:
        findings.append(Finding("UK_FIRM_NOT_IDENTIFIED", "institution"))
    if facts.jurisdiction == "US" and facts.channel == "voice":
        findings += [Finding("US_DEBT_MENTIONED", name) for name in debt]
        if "agent_phone" not in names:
            findings.append(Finding("US_VOICEMAIL_NOT_LIMITED", "agent_phone"))
        if not {"agent_name", "institution"} & set(names):
            findings.append(Finding("US_VOICEMAIL_NOT_LIMITED", "agent_name"))
    return findings


def lint_body(body: str, facts: TemplateFacts, phrases: Iterable[Phrase]) -> list[Finding]:
    """Every rule a template's text breaks (empty: it passes). Variables are left out of the phrase matching:
    their values are checked when a message is rendered."""
    names = placeholders(body)
    findings = _variable_findings(names, facts)
    if has_stray_braces(body):
        findings.append(Finding("MALFORMED_PLACEHOLDER"))
    findings += _text_findings(_PLACEHOLDER.sub(" ", body), facts, phrases)
    return _unique(findings)


def fill(body: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda match: values[match.group(1).strip()], body)


def lint_rendered(body: str, values: Mapping[str, str], facts: TemplateFacts,
                  phrases: Iterable[Phrase]) -> tuple[str, list[Finding]]:
    """The text of a message from `body` and `values`, and every rule it breaks: the template's rules again (the
    phrase list may have grown since it was approved) and the phrases on the filled-in text (a value can carry
    one). A value that is missing, or a value for a variable outside the whitelist, is a finding."""
    phrases = list(phrases)
    findings = lint_body(body, facts, phrases)
    names = placeholders(body)
    findings += [Finding("UNKNOWN_VARIABLE", name) for name in values if name not in VARIABLES]
    missing = [name for name in names if name in VARIABLES and not str(values.get(name, "")).strip()]
    findings += [Finding("MISSING_VARIABLE", name) for name in missing]
    if any(f.code in ("UNKNOWN_VARIABLE", "MALFORMED_PLACEHOLDER", "MISSING_VARIABLE") for f in findings):
        return "", _unique(findings)
    text = fill(body, {name: str(value) for name, value in values.items()})
    findings += _text_findings(text, facts, phrases)
    return text, _unique(findings)


def _unique(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def finding_codes(findings: Iterable[Finding]) -> list[str]:
    return sorted({finding.code for finding in findings})
