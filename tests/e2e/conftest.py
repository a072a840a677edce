"""Browser tests: Playwright drives Debian's headless Chromium (/usr/bin/chromium) against a live server.
Skipped, with the reason, where Chromium or Playwright is not installed; CI installs both."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread with a running
# loop unless told it is safe. The test's own ORM calls happen between browser steps, never concurrently.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30000)  # a shared two-core machine runs the server, the browser and the tests
    yield page
    context.close()


@pytest.fixture
def open_page(browser):
    """Opens pages, each in its own browser context (its own cookies), at one of the desk's screens
    (helpers.VIEWPORTS): `open_page(PHONE)`, or `open_page(LAPTOP, storage_state=other.context.storage_state())`
    to carry a signed-in session over. All are closed at the end of the test."""
    contexts = []

    def open_(viewport, storage_state=None):
        options = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2} if viewport.phone else {}
        context = browser.new_context(viewport={"width": viewport.width, "height": viewport.height},
                                      locale="zh-CN", storage_state=storage_state, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30000)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
