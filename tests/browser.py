"""Chromium for the browser tests: where it is, its flags, one launch (playwright drives the real browser),
and the checks a Marketplace moderator makes on every page (`Moderator`)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Mark a browser test module with `pytestmark = BROWSER_TESTS`: it is skipped on a machine without Chromium.
BROWSER_TESTS = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM, reason="no Chromium on this machine")]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
# axe-core as pinned by tests/axe/package-lock.json (`npm ci --prefix tests/axe`).
AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")  # axe impacts a moderator would refuse
RUN_AXE = """async () => {
  const result = await window.axe.run(document, { resultTypes: ['violations'] });
  return result.violations.filter(v => ['serious', 'critical'].includes(v.impact)).map(v =>
    `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`);
}"""
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")
OVERFLOW = "() => { const s = document.scrollingElement; return [s.scrollWidth, s.clientWidth]; }"


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched Chromium (playwright's Browser), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Moderator:
    """A moderator's checks on one playwright Page.

    Every console error, uncaught exception and failed request (a 4xx/5xx answer, or one that failed) is kept
    as it happens; `check` adds axe-core's serious and critical violations and any sideways scroll of the page
    or of the app's frame; `assert_clean` fails on any of them.
    """

    page: Any
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    expected: set[tuple[int, str]] = field(default_factory=set)  # (status, path) a test provokes on purpose

    def __post_init__(self) -> None:
        assert AXE.is_file(), f"{AXE} is missing: run `npm ci --prefix tests/axe`"
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught exception: {error}"))
        self.page.on("response", self._response)
        self.page.on("requestfailed", self._failed)

    def _console(self, message: Any) -> None:
        url = message.location.get("url", "")
        status = FAILED_LOAD.match(message.text)  # Chromium's console line for an answer with an error status
        if status and (int(status.group(1)), urlsplit(url).path) in self.expected:
            return
        if message.type == "error":
            self.problems.append(f"console error: {message.text} ({url})")

    def _response(self, response: Any) -> None:
        path = urlsplit(response.url).path
        if response.status >= 400 and (response.status, path) not in self.expected:
            self.problems.append(f"{response.status} {response.request.method} {response.url}")

    def expect(self, status: int, path: str) -> None:
        """A refusal the test provokes on purpose (an error page is shown with its status) is no failure."""
        self.expected.add((status, path))

    def _failed(self, request: Any) -> None:
        # A navigation the test starts aborts what the previous page still loads: not a broken link.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed ({request.failure}): {request.method} {request.url}")

    def check(self, name: str, frame: Any | None = None) -> None:
        """axe-core on `frame` (default: the app frame, else the page itself) and no sideways scroll."""
        target = frame or self.page.frame(name="app-frame") or self.page.main_frame
        target.wait_for_load_state()
        if not target.evaluate("() => Boolean(window.axe)"):
            target.evaluate(AXE.read_text(encoding="utf-8"))
        self.problems += [f"{name}: axe {violation}" for violation in target.evaluate(RUN_AXE)]
        for where, frame_ in (("page", self.page.main_frame), ("frame", target)):
            scroll, client = frame_.evaluate(OVERFLOW)
            if scroll > client:
                self.problems.append(f"{name}: the {where} scrolls sideways ({scroll} px in {client} px)")
        self.checked.append(name)

    def assert_clean(self) -> None:
        assert self.problems == [], "a moderator would refuse:\n" + "\n".join(self.problems)
