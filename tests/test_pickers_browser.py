"""The pickers in a real Chromium, by keyboard: type part of a name, choose with the arrows and Enter, send.

The app runs on 127.0.0.1 (live_app) inside the sandbox portal's slider, as in test_timeline_browser; the
change is read back from the sandbox's activity. Any console error or failed request fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import BROWSER_TESTS, chromium
from tests.test_timeline_browser import first_todo, open_from_list_menu
from tests.test_timeline_browser import shots as shots  # the fixture

pytestmark = BROWSER_TESTS


@pytest.fixture
def page(live_app: Any) -> Iterator[Any]:
    """A 1280x900 Chromium page that records every console error, uncaught error and failed request."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url} {request.failure}"))
        page.problems = problems  # the test starts afresh once the activity page is open
        yield page
    assert problems == []


def pick(page: Any, frame: Any, field: str, typed: str, expected: str, shot: Path | None = None) -> None:
    """Focus the picker, type, go down to the option naming `expected` with the arrow keys, Enter."""
    box = frame.locator(field)
    box.focus()
    page.keyboard.type(typed, delay=30)
    listbox = frame.locator(f"#{box.get_attribute('aria-controls')}")
    listbox.locator('[role="option"]').first.wait_for()
    assert box.get_attribute("aria-expanded") == "true" and box.get_attribute("role") == "combobox"
    for _ in range(listbox.locator('[role="option"]').count()):
        page.keyboard.press("ArrowDown")
        active = frame.locator(f"#{box.get_attribute('aria-activedescendant')}")
        assert active.get_attribute("aria-selected") == "true"
        if expected in active.inner_text():
            break
    else:
        raise AssertionError(f"no option names {expected!r}")
    if shot is not None:
        page.screenshot(path=str(shot))
    page.keyboard.press("Enter")  # chooses: the list closes, the field shows the name
    assert box.get_attribute("aria-expanded") == "false" and box.input_value() == expected


def send(page: Any, frame: Any, done: str) -> None:
    """Enter again sends the form (implicit submission); wait for the page that says it was done."""
    page.keyboard.press("Enter")
    frame.locator("#tb-notice", has_text=done).wait_for()


def test_responsible_and_links_are_chosen_by_name_with_the_keyboard(
    live_app: Any, sandbox: Any, page: Any, shots: Path
) -> None:
    live_app.app.config["B24_JS_URL"] = f"{sandbox.portal_url}/bx24.js"
    page.set_default_timeout(15_000)
    page.goto(f"{sandbox.portal_url}/?user_id=1")
    page.click("#install-app")
    page.wait_for_selector("#app-slider[data-installed='Y']", state="attached")
    todo = first_todo(sandbox)
    frame = open_from_list_menu(page, sandbox.portal_url, todo.id)
    page.problems.clear()  # leaving the installer's slider for the list aborts its last load; not ours

    pick(page, frame, "#tb-responsible-value", "pet", "Peter Brown", shots / "pickers-0-user-list.png")
    page.screenshot(path=str(shots / "pickers-1-user-chosen.png"))
    send(page, frame, "The responsible user was changed.")
    assert todo.fields["RESPONSIBLE_ID"] == 3
    frame.locator('[data-fact="responsible"]', has_text="Peter Brown").wait_for()

    frame.locator("#tb-add-type").select_option(label="Company")
    pick(page, frame, "#tb-add-item", "nord", "Company: Nordwind GmbH")
    send(page, frame, "The link was added.")
    assert (4, 2) in todo.bindings

    move = '.tb-binding[data-entity-type-id="4"][data-entity-id="2"] .tb-picker-input'
    pick(page, frame, move, "harbor", "Company: Blue Harbor Inc")
    page.screenshot(path=str(shots / "pickers-2-item-chosen.png"))
    send(page, frame, "The link was moved.")
    assert (4, 3) in todo.bindings and (4, 2) not in todo.bindings
    frame.locator(".tb-binding-label", has_text="Company: Blue Harbor Inc").wait_for()
    page.screenshot(path=str(shots / "pickers-3-moved.png"))
