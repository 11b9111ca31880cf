"""Headless Chromium for the console tests (test_console.py), driven by Playwright's Python
package (its bundled driver; the browser is Debian's `chromium`, never one Playwright downloads).

`SLUICE_CHROMIUM` points at another Chromium binary; the default is Debian's /usr/bin/chromium,
which tests/run.sh installs. A missing browser fails the test (it is a test tool, like kcat),
never skips it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

CHROMIUM_DEFAULT = "/usr/bin/chromium"
# No sandbox (the tests may run as root in a container), no GPU, and nothing the browser would
# fetch on its own: the machine may have no internet, and a test must not wait on it.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# Launching Chromium, cold.
LAUNCH_MS_MAX = 60_000
# One page action or expectation: the console polls every one to five seconds.
ACTION_MS_MAX = 15_000


def chromium_path() -> str:
    path = Path(os.environ.get("SLUICE_CHROMIUM") or CHROMIUM_DEFAULT)
    if not path.is_file():
        pytest.fail(f"no Chromium at {path}: install Debian's `chromium` (tests/run.sh does) "
                    "or set SLUICE_CHROMIUM", pytrace=False)
    return str(path)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                    args=CHROMIUM_ARGS, timeout=LAUNCH_MS_MAX)
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page and what went wrong in it: uncaught script errors, Content-Security-Policy
    violations and anything else the page logged as an error (Chromium reports all of these on
    the page's console), except failed requests, which the console shows in its panels."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        page.on("console", self.on_console)
        page.set_default_timeout(ACTION_MS_MAX)

    def on_console(self, message: ConsoleMessage) -> None:
        failed_request = message.text.startswith("Failed to load resource")
        csp = "Content Security Policy" in message.text
        if csp or (message.type in ("error", "assert") and not failed_request):
            self.problems.append(f"console {message.type}: {message.text}")

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@contextmanager
def console_page(browser: Browser, url: str,
                 before: Callable[[Page], None] | None = None) -> Iterator[Watched]:
    """A fresh browser context (no shared cache or storage) with `url` open; `before` runs on
    the page first (to route requests to canned answers)."""
    context = browser.new_context()
    try:
        watched = Watched(context.new_page())
        if before is not None:
            before(watched.page)
        watched.page.goto(url)
        yield watched
    finally:
        context.close()
