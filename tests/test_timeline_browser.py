"""The timeline in a real Chromium: install, open an activity from its menu, add and edit an app activity.

The app is served on 127.0.0.1 (live_app) and the sandbox portal's UI drives it exactly as Bitrix24 would: the
slider's form POST, the BX24 shim, events to /events. Screenshots go to $SCREENSHOT_DIR (default
artifacts/screenshots, git-ignored). Skipped where no Chromium is installed (Debian's `chromium`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from app.models import Portal, PortalState
from tests.browser import BROWSER_TESTS, Moderator, chromium

pytestmark = BROWSER_TESTS
EDITED = "Edited in the browser test"


@pytest.fixture
def shots() -> Path:
    """Where the screenshots go; CI keeps the directory."""
    folder = Path(os.environ.get("SCREENSHOT_DIR", "artifacts/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def moderator(live_app: Any) -> Iterator[Moderator]:
    """A Chromium page, 1280x900 like a laptop's portal, watched as a moderator would: any console error (a
    CSP violation is one), uncaught exception or failed request, or what `Moderator.check` finds, fails."""
    with chromium() as browser:
        moderator = Moderator(browser.new_page(viewport={"width": 1280, "height": 900}))
        yield moderator
    moderator.assert_clean()


@pytest.fixture
def page(moderator: Moderator) -> Any:
    return moderator.page


def open_from_list_menu(page: Any, portal_url: str, activity_id: int, query: str = "") -> Any:
    """The activity list's ⋯ menu → Timeline Bridge: the activity page in the slider (its frame locator)."""
    page.goto(f"{portal_url}/crm/activity/list/{query}")
    page.click(f"#row-menu-button-{activity_id}")
    page.click(f'#row-menu-{activity_id} .js-open-placement[data-placement="CRM_ACTIVITY_LIST_MENU"]')
    frame = page.frame_locator("#app-frame")
    frame.locator(f'#tb-activity[data-activity-id="{activity_id}"]').wait_for()
    return frame


def add_text_block(frame: Any, text: str) -> None:
    """Open the activity page's block editor and add a text block saying `text`; wait for its preview."""
    frame.locator("#tb-editor-wrap > summary").click()
    frame.locator("#tb-block-type").select_option("text")
    frame.locator("#tb-block-add").click()
    frame.locator("#tb-editor [data-path$='.properties.value']").last.fill(text)
    frame.locator("#tb-preview", has_text=text).wait_for()


def first_todo(sandbox: Any) -> Any:
    """A to-do on a deal: the activity the user opens the app from."""
    todos = [
        a
        for a in sandbox.portal.crm.activities.values()
        if a.provider == "CRM_TODO" and not a.completed and a.field("OWNER_TYPE_ID") == 2
    ]
    return sorted(todos, key=lambda a: a.id)[0]


def test_open_from_the_menu_add_an_app_activity_edit_its_block_and_see_it_in_the_timeline(
    live_app: Any, sandbox: Any, page: Any, moderator: Moderator, shots: Path
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
    frame = open_from_list_menu(page, sandbox.portal_url, todo.id)
    moderator.check("activity page")
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
    moderator.check("block editor")
    frame.locator("#tb-blocks-save").click()
    frame.locator("#tb-notice").wait_for()
    frame.locator("#tb-blocks-current", has_text=EDITED).wait_for()
    page.screenshot(path=str(shots / "4-block-edited.png"))

    page.click("#app-slider-close")
    page.reload()
    page.locator(f"#activity-{created} .cb-set", has_text=EDITED).wait_for()
    page.screenshot(path=str(shots / "5-timeline.png"), full_page=True)


def install(page: Any, sandbox: Any, live_app: Any) -> None:
    """The administrator installs the app from the portal's home (the installer runs in the slider)."""
    live_app.app.config["B24_JS_URL"] = f"{sandbox.portal_url}/bx24.js"  # the portal's BX24 library
    page.set_default_timeout(15_000)
    page.goto(f"{sandbox.portal_url}/?user_id=1")
    page.click("#install-app")
    page.wait_for_selector("#app-slider[data-installed='Y']", state="attached")


def frame_fits(page: Any) -> tuple[float, float]:
    """The height the page asked for its frame (the slider's iframe keeps a viewport-high minimum of its own)
    and the height of what it shows (its <main> and the body's margins)."""
    frame = page.frame(name="app-frame")
    content = frame.evaluate(
        """() => { const s = getComputedStyle(document.body);
          return document.querySelector('main').getBoundingClientRect().height
            + parseFloat(s.marginTop) + parseFloat(s.marginBottom); }"""
    )
    return page.locator("#app-frame").evaluate("f => parseFloat(f.style.height)"), content


def wait_for_fit(page: Any) -> None:
    """Until the frame is its content's height (the page sends BX24.resizeWindow on every change of size)."""
    deadline = time.monotonic() + 10
    while abs((fit := frame_fits(page))[0] - math.ceil(fit[1])) > 1:
        assert time.monotonic() < deadline, f"the frame is {fit[0]} px high for {fit[1]} px of content"
        time.sleep(0.1)


def test_the_frame_follows_its_content_and_the_slider_has_one_title(
    live_app: Any, sandbox: Any, page: Any, moderator: Moderator, shots: Path
) -> None:
    install(page, sandbox, live_app)
    page.click("#app-slider-close")
    page.click("#open-app")  # the main page: the portal's own title for it is the app's code
    page.frame_locator("#app-frame").locator("#health").wait_for()
    page.wait_for_function("document.getElementById('app-slider-title').textContent === 'Timeline Bridge'")
    wait_for_fit(page)
    page.click("#app-slider-close")

    todo = first_todo(sandbox)
    frame = open_from_list_menu(page, sandbox.portal_url, todo.id)
    assert page.locator("#app-slider-title").inner_text() == "Timeline Bridge"
    wait_for_fit(page)
    tall, _ = frame_fits(page)
    frame.locator("#tb-editor-wrap > summary").click()  # the editor opens: the frame grows with it
    deadline = time.monotonic() + 10
    while frame_fits(page)[0] <= tall:
        assert time.monotonic() < deadline, "the frame did not grow with the editor"
        time.sleep(0.1)
    wait_for_fit(page)

    page.once("dialog", lambda dialog: dialog.accept())  # "Delete this activity?"
    frame.locator("#tb-delete button").click()
    frame.locator("#tb-deleted").wait_for()
    wait_for_fit(page)  # and shrinks to the short page left after the delete
    height, content = frame_fits(page)
    assert height < tall / 3 and abs(height - content) <= 1
    assert page.locator("#app-slider-title").inner_text() == "Timeline Bridge"
    moderator.check("deleted")
    page.screenshot(path=str(shots / "6-deleted.png"))
