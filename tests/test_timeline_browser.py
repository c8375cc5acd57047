"""The timeline in a real Chromium: install, open an activity from its menu, add and edit an app activity.

The app is served on 127.0.0.1 (live_app) and the sandbox portal's UI drives it exactly as Bitrix24 would: the
slider's form POST, the BX24 shim, events to /events. Screenshots go to $SCREENSHOT_DIR (default
artifacts/screenshots, git-ignored). Skipped where no Chromium is installed (Debian's `chromium`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from app.models import Portal, PortalState
from tests.browser import BROWSER_TESTS, chromium

pytestmark = BROWSER_TESTS
EDITED = "Edited in the browser test"


@pytest.fixture
def shots() -> Path:
    """Where the screenshots go; CI keeps the directory."""
    folder = Path(os.environ.get("SCREENSHOT_DIR", "artifacts/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(live_app: Any) -> Iterator[Any]:
    """A Chromium page, 1280x900 like a laptop's portal; any CSP violation Chromium reports fails the test."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        violations: list[str] = []
        page.on("console", lambda msg: violations.append(msg.text) if csp_violation(msg) else None)
        yield page
    assert violations == [], "the Content-Security-Policy blocked something the pages do"


def csp_violation(message: Any) -> bool:
    """Chromium reports what a policy blocked as a console error naming the Content Security Policy."""
    return message.type == "error" and "Content Security Policy" in message.text


def first_todo(sandbox: Any) -> Any:
    """A to-do on a deal: the activity the user opens the app from."""
    todos = [
        a
        for a in sandbox.portal.crm.activities.values()
        if a.provider == "CRM_TODO" and not a.completed and a.field("OWNER_TYPE_ID") == 2
    ]
    return sorted(todos, key=lambda a: a.id)[0]


def open_from_the_list(page: Any, portal_url: str, activity_id: int) -> Any:
    """Open the app on an activity from its row menu in the portal's activity list; the slider's frame."""
    page.goto(f"{portal_url}/crm/activity/list/")
    page.click(f"#row-menu-button-{activity_id}")
    page.click(f'#row-menu-{activity_id} .js-open-placement[data-placement="CRM_ACTIVITY_LIST_MENU"]')
    frame = page.frame_locator("#app-frame")
    frame.locator(f'#tb-activity[data-activity-id="{activity_id}"]').wait_for()
    return frame


def test_open_from_the_menu_add_an_app_activity_edit_its_block_and_see_it_in_the_timeline(
    live_app: Any, sandbox: Any, page: Any, shots: Path
) -> None:
    live_app.app.config["B24_JS_URL"] = f"{sandbox.portal_url}/bx24.js"  # the portal's BX24 library
    sandbox.configure(rest_app_blocks_allowed=True)  # the disputed outcome: REST_APP takes blocks (§9.10)
    page.set_default_timeout(15_000)
    page.goto(f"{sandbox.portal_url}/?user_id=1")
    page.click("#install-app")  # the installer in the slider registers everything and calls installFinish
    page.wait_for_selector("#app-slider[data-installed='Y']", state="attached")
    page.screenshot(path=str(shots / "1-installed.png"))
    with live_app.app.app_context():
        assert db.session.scalar(db.select(Portal.state)) is PortalState.ACTIVE  # ONAPPINSTALL arrived

    todo = first_todo(sandbox)
    frame = open_from_the_list(page, sandbox.portal_url, todo.id)
    page.screenshot(path=str(shots / "2-activity-page.png"))

    before = set(sandbox.portal.crm.activities)
    frame.locator("#create-template").select_option(label="Follow-up call")
    frame.locator("#create-template").focus()
    page.keyboard.press("Tab")  # keyboard only: from the template's select to its button, then Enter
    assert frame.locator("#create-submit").evaluate("button => button === document.activeElement")
    page.keyboard.press("Enter")
    frame.locator("#tb-notice").wait_for()
    page.screenshot(path=str(shots / "3-app-activity-added.png"))
    (created,) = set(sandbox.portal.crm.activities) - before
    assert sandbox.portal.crm.activities[created].provider == "REST_APP"

    page.goto(f"{sandbox.portal_url}/crm/deal/details/{todo.field('OWNER_ID')}/")
    page.click(f"#activity-{created} .js-open-activity")  # opens the app with view_activity
    frame.locator(f'#tb-activity[data-activity-id="{created}"]').wait_for()
    frame.locator("#tb-editor-wrap > summary").click()  # the editor opens on demand
    field = frame.locator('#tb-editor [data-path$=".properties.value"]').first
    field.fill(EDITED)
    frame.locator("#tb-preview", has_text=EDITED).wait_for()  # the live check rendered the preview
    frame.locator("#tb-blocks-save").click()
    frame.locator("#tb-notice").wait_for()
    frame.locator("#tb-blocks-current", has_text=EDITED).wait_for()
    page.screenshot(path=str(shots / "4-block-edited.png"))

    page.click("#app-slider-close")
    page.reload()
    page.locator(f"#activity-{created} .cb-set", has_text=EDITED).wait_for()
    page.screenshot(path=str(shots / "5-timeline.png"), full_page=True)
