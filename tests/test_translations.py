"""The Simplified Chinese catalogue: complete, compiled, and used by the UI (zh-hans default, English on request)."""

from __future__ import annotations

import ast
import gettext
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "django.po"
MO_FILE = LC_MESSAGES / "django.mo"


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)


def _unquote(text: str) -> str:
    return ast.literal_eval(text)  # a .po string literal is a valid Python string literal for what we use


def parse_po(path: Path) -> list[Entry]:
    """A small state machine over msgctxt / msgid / msgid_plural / msgstr[n] lines and their continuations."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            if current is not None:
                entries.append(current)
            current, target = None, None
            continue
        if current is None:
            current = Entry(line=number)
        if line.startswith("#,"):
            current.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith("msgctxt "):
            current.msgctxt, target = _unquote(line[len("msgctxt "):]), ("msgctxt", 0)
        elif line.startswith("msgid_plural "):
            current.msgid_plural, target = _unquote(line[len("msgid_plural "):]), ("msgid_plural", 0)
        elif line.startswith("msgid "):
            current.msgid, target = _unquote(line[len("msgid "):]), ("msgid", 0)
        elif line.startswith("msgstr["):
            index, value = line[len("msgstr["):].split("] ", 1)
            current.msgstr[int(index)], target = _unquote(value), ("msgstr", int(index))
        elif line.startswith("msgstr "):
            current.msgstr[0], target = _unquote(line[len("msgstr "):]), ("msgstr", 0)
        elif line.startswith('"') and target is not None:
            kind, index = target
            if kind == "msgctxt":
                current.msgctxt = (current.msgctxt or "") + _unquote(line)
            elif kind == "msgid":
                current.msgid += _unquote(line)
            elif kind == "msgid_plural":
                current.msgid_plural = (current.msgid_plural or "") + _unquote(line)
            else:
                current.msgstr[index] += _unquote(line)
        else:
            raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
    if current is not None:
        entries.append(current)
    return entries


def catalogue_of(mo_path: Path) -> dict:
    with mo_path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)


# --- (a) completeness -------------------------------------------------------------------------------------------


def test_english_has_no_catalogue():
    assert not (Path(settings.BASE_DIR) / "locale" / "en").exists()


def test_every_message_is_translated_and_none_is_fuzzy():
    entries = [entry for entry in parse_po(PO_FILE) if entry.msgid]
    assert len(entries) > 100
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]
    untranslated = [entry.msgid for entry in entries if not entry.msgstr or not all(entry.msgstr.values())]
    assert fuzzy == []
    assert untranslated == []
    plurals = [entry for entry in entries if entry.msgid_plural is not None]
    assert all(set(entry.msgstr) == {0} for entry in plurals), "Chinese has one plural form (nplurals=1)"


def test_the_header_is_not_fuzzy_and_declares_one_plural_form():
    header = next(entry for entry in parse_po(PO_FILE) if entry.msgid == "")
    assert "fuzzy" not in header.flags
    assert "Plural-Forms: nplurals=1; plural=0;" in header.msgstr[0]


# --- (b) the committed .mo matches the .po ----------------------------------------------------------------------


def test_the_committed_mo_is_compiled_from_the_current_po(tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("GNU gettext (msgfmt) is not installed")
    compiled = tmp_path / "django.mo"
    subprocess.run([msgfmt, "--check", "-o", str(compiled), str(PO_FILE)], check=True, capture_output=True)
    assert MO_FILE.exists(), "run `manage.py compilemessages -l zh_Hans` and commit the .mo"
    fresh, committed = catalogue_of(compiled), catalogue_of(MO_FILE)
    stale = sorted(str(key) for key in fresh.keys() ^ committed.keys())
    assert stale == [], "the .mo is stale: run `manage.py compilemessages -l zh_Hans`"
    changed = sorted(str(key) for key in fresh if fresh[key] != committed[key])
    assert changed == [], "the .mo is stale: run `manage.py compilemessages -l zh_Hans`"


# --- (c) Django uses the catalogue ------------------------------------------------------------------------------

KEY_STRINGS = {
    "Sign out": "退出登录",
    "Sign in": "登录",
    "Worklist": "工作清单",
    "Today's worklist": "今日工作清单",
    "Call": "拨打",
    "No answer": "无人接听",
    "Blocked": "暂不可联系",
    "Contactable now": "当前可联系",
    "No consent": "无授权同意",
    "Outside contact hours": "不在允许联系时间内",
    "Cease-communication request": "已要求停止联系",
}


@pytest.mark.parametrize(("english", "chinese"), KEY_STRINGS.items())
def test_key_strings_are_chinese_by_default_and_english_on_request(english, chinese):
    with translation.override("zh-hans"):
        assert translation.gettext(english) == chinese
    with translation.override("en"):
        assert translation.gettext(english) == english


def test_reason_labels_and_messages_are_translated():
    from collections_app.contact.reason_labels import label
    from collections_app.policy import ReasonCode
    from collections_app.policy.reasons import message_for

    with translation.override("zh-hans"):
        assert label(ReasonCode.NO_CONSENT) == "无授权同意"
        assert label(ReasonCode.CEASE_COMMUNICATION) == "已要求停止联系"
        assert str(message_for(ReasonCode.DAILY_ATTEMPT_LIMIT, count=6, cap=6)) == (
            "今日已联系此号码 6 次，达到每日上限 6 次。"
        )
    with translation.override("en"):
        assert label(ReasonCode.NO_CONSENT) == "No consent"


def test_choice_labels_are_translated():
    from collections_app.models import AttemptOutcome

    with translation.override("zh-hans"):
        assert str(AttemptOutcome.NO_ANSWER.label) == "无人接听"
    with translation.override("en"):
        assert str(AttemptOutcome.NO_ANSWER.label) == "No answer"


# --- (d) a rendered page ----------------------------------------------------------------------------------------


def test_the_product_default_language_is_simplified_chinese():
    from config.settings import base

    assert base.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _name in base.LANGUAGES] == ["zh-hans", "en"]


@pytest.mark.django_db
def test_the_worklist_is_chinese_by_default_and_english_after_switching(client, collector, loan, settings):
    from config.settings import base

    # config.settings.test reads assertions in English; restore the product default for this test.
    settings.LANGUAGE_CODE = base.LANGUAGE_CODE
    client.force_login(collector)
    url = reverse("worklist")

    body = client.get(url).content.decode()
    assert "今日工作清单" in body
    assert "退出登录" in body
    assert "Today's worklist" not in body

    response = client.post(reverse("set_language"), {"language": "en", "next": url})
    assert response.status_code == 302

    body = client.get(url).content.decode()
    assert "Today's worklist" in body
    assert "Sign out" in body
    assert "今日工作清单" not in body
