"""Fixtures for the browser tests: one demo hub process and one Chromium for the whole session.

Skipped (with the reason) only when Debian's Chromium is not installed: run
scripts/install-browser. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, DemoHub


@pytest.fixture(scope="session")
def demo_hub() -> Iterator[DemoHub]:
    hub = DemoHub()
    try:
        hub.wait_for_trades()
        yield hub
    finally:
        hub.stop()


# Package scope: sync Playwright keeps an event loop running in this thread while it is open,
# which would stop the async tests of later folders (tests/e2e_ha) in the same run.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install it with scripts/install-browser")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Problems:
    """Console errors and uncaught exceptions of a page."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"page error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.messages.append(f"console {message.type}: {message.text}")


def open_dashboard(
    browser: Browser, url: str, *, width: int = 1280, height: int = 900, locale: str = "en-GB"
) -> tuple[Page, Problems]:
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    page = context.new_page()
    problems = Problems(page)
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)
    return page, problems


@pytest.fixture
def dashboard(browser: Browser, demo_hub: DemoHub) -> Iterator[tuple[Page, Problems]]:
    page, problems = open_dashboard(browser, demo_hub.url + "/")
    yield page, problems
    page.context.close()
