"""What browser tests share: signing in (with the second factor for staff), the three screens the desk is checked
at, and the checks every page must pass on each of them (nothing scrolls sideways, no raw code on screen)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.utils import translation

from collections_app.contact.reason_labels import label
from collections_app.permissions import needs_second_factor
from tests import factories as f
from tests.second_factor import confirmed_device, totp_code

LANGUAGES = ("zh-hans", "en")  # Chinese is the desk's default


@dataclass(frozen=True)
class Viewport:
    width: int
    height: int
    phone: bool = False  # a touch screen that reports itself as mobile, at twice the pixels


DESKTOP = Viewport(1440, 900)
LAPTOP = Viewport(1280, 720)
PHONE = Viewport(390, 844, phone=True)
VIEWPORTS = (DESKTOP, LAPTOP, PHONE)

# How far the page scrolls sideways (0 when it fits its width).
_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
SIGN_OUT = "form[action$='/logout/'] button"  # the desk's top bar and the admin's user tools

# What the desk stores and the policy speaks in, never what a page may show in its place: snake_case
# (named_collector, contact_frequency), SCREAMING_SNAKE (OUTSIDE_CONTACT_HOURS), and the single words that are
# codes on this desk (a number's e164, a reveal's reason "dial"). Matched as whole ASCII words, so a code right
# after Chinese text is found too.
RAW_CODE = re.compile(
    r"(?<![A-Za-z0-9_])(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|e164|dial)(?![A-Za-z0-9_])"
)


def raw_codes(text: str) -> list[str]:
    """The raw codes in a text, each once, in order of appearance."""
    return list(dict.fromkeys(RAW_CODE.findall(text)))


def visible_raw_codes(page) -> list[str]:
    """The raw codes in what the page shows (the rendered text of its body: nothing hidden, no attribute)."""
    return raw_codes(page.inner_text("body"))


def reason_text(code: str, language: str) -> str:
    """What a page says for a policy reason code in `language` (its label; the code itself is not for people)."""
    with translation.override(language):
        return label(code)


def horizontal_overflow(page) -> int:
    return page.evaluate(_OVERFLOW)


_CUT_TABLES = """() => Array.from(document.querySelectorAll("main table, #content table"))
    .filter(t => t.getClientRects().length && t.scrollWidth > t.clientWidth + 1)
    .map(t => (t.closest("[id]") || t).id || t.className || "table")"""


def cut_tables(page) -> list[str]:
    """The tables of the page wider than the box they are shown in (their last columns cut off, to be scrolled
    to inside the card): on the desk's pages each row is a card on a phone instead."""
    return page.evaluate(_CUT_TABLES)


def sign_out_on_screen(page) -> bool:
    """The page's Sign out is within the screen's width."""
    button = page.locator(SIGN_OUT)
    box = button.first.bounding_box() if button.count() else None
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]


def screenshot(page, folder: Path, role: str, name: str, viewport: Viewport, language: str) -> Path:
    """The whole page, saved as <role>-<page>-<width>-<lang>.png."""
    path = folder / f"{role}-{name}-{viewport.width}-{language}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def submit_password(page, live_server, username: str) -> None:
    """The login page's first step: the user name and the factories' password."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit].primary")


def sign_in_collector(page, live_server, username):
    """Sign a collector in through the login page (the factories' password), landing on the worklist."""
    submit_password(page, live_server, username)
    page.wait_for_url(f"{live_server.url}/worklist/")


def sign_in(page, live_server, user) -> None:
    """Sign any user in through the login page; a supervisor, compliance officer or staff user then types the code
    their authenticator shows now (tests/second_factor.py), as at a real sign-in. A code is accepted once: the same
    user signs in at most once per 30 seconds of the (travelled) clock; share the session (`storage_state`) with
    other pages instead."""
    staff = needs_second_factor(user)
    device = confirmed_device(user) if staff else None
    submit_password(page, live_server, user.get_username())
    if device is not None:
        page.wait_for_url(re.compile(r".*/accounts/second-factor/\?next=.*"))
        page.fill("input[name=code]", totp_code(device))
        page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/accounts/" not in url)


def choose_language(page, language: str) -> None:
    """The top bar's language switch; the page reloads in that language."""
    with page.expect_navigation():
        page.click(f"form.lang button[value={language}]")
    assert page.get_attribute("html", "lang") == language
