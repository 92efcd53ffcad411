"""The console under its Content-Security-Policy: pages, HTMX and charts raise no violation."""

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

#: Pages that use HTMX, ECharts and the console's own scripts.
PAGES = ["/", "/customers", "/value", "/health", "/voice", "/service", "/relations", "/audit"]


def test_console_pages_raise_no_csp_violation(page: Page):
    problems: list[str] = []

    def remember(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            problems.append(f"{page.url}: {message.text}")

    page.on("console", remember)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    log_in(page)
    for path in PAGES:
        answer = page.goto(path)
        assert answer is not None
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")

    assert problems == []
