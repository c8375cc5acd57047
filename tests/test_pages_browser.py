"""Every page of the app in a real Chromium, looked at as a Marketplace moderator would (tests/browser.py's
Moderator: console errors, failed requests, axe-core, sideways scroll at 1280 px), with a screenshot of each.

The installer's steps, done, failed and refused pages; the main page as administrator (every section) and
as an ordinary user, the activity page and its block editor, each in English and Russian; the error pages
(not found, a GET of a POST-only URL). Screenshots go to $SCREENSHOTS/pages (default artifacts/screenshots;
`make screenshots` writes docs/screenshots/pages). Skipped where no Chromium is installed.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.apps import find_app
from sandbox.ui.frame import open_frame
from tests.browser import BROWSER_TESTS, Moderator, chromium
from tests.test_timeline_browser import add_text_block, first_todo, install, open_from_list_menu

pytestmark = BROWSER_TESTS
WIDTH, HEIGHT = 1280, 900
TITLED = "document.getElementById('app-slider-title').textContent === 'Timeline Bridge'"


@pytest.fixture
def shots() -> Path:
    folder = Path(os.environ.get("SCREENSHOTS", "artifacts/screenshots")) / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def moderator(live_app: Any, sandbox: Any) -> Iterator[Moderator]:
    """A watched 1280 px page, the app loading the portal's BX24 library; fails on what a moderator sees."""
    live_app.app.config["B24_JS_URL"] = f"{sandbox.portal_url}/bx24.js"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.set_default_timeout(15_000)
        moderator = Moderator(page)
        yield moderator
    moderator.assert_clean()


def shoot(moderator: Moderator, shots: Path, name: str, *, whole_frame: bool = False) -> None:
    """Check the page, then screenshot it; `whole_frame` makes the window as tall as the app's frame asked."""
    moderator.check(name)
    page = moderator.page
    if whole_frame:
        asked = page.locator("#app-frame").evaluate("f => parseFloat(f.style.height) || 0")
        page.set_viewport_size({"width": WIDTH, "height": max(HEIGHT, int(asked) + 120)})
    page.screenshot(path=str(shots / f"{name}.png"))
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})


def test_the_installers_done_failed_and_refused_pages(
    live_app: Any, sandbox: Any, moderator: Moderator, shots: Path
) -> None:
    page = moderator.page
    # Refused: a sign-in the portal does not confirm (a forged AUTH_ID posted to the installer).
    moderator.expect(403, "/install")
    portal = sandbox.portal
    frame = open_frame(sandbox.state, portal, find_app(sandbox.state, portal), portal.users[1], lang="en")
    fields = {**frame.fields, "AUTH_ID": "f" * 70}
    inputs = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(str(v))}">' for k, v in fields.items()
    )
    page.set_content(f'<form method="post" action="{html.escape(frame.url)}">{inputs}</form>')
    page.evaluate("document.forms[0].submit()")
    page.locator("h1", has_text="We could not confirm this installation").wait_for()
    shoot(moderator, shots, "installer-refused")

    # Failed: the app lacks the placement scope, so binding its menus fails; the steps say which.
    with sandbox.state.lock:
        sandbox.app.scope = [scope for scope in sandbox.app.scope if scope != "placement"]
    moderator.expect(502, "/install")
    page.goto(f"{sandbox.portal_url}/?user_id=1")
    page.click("#install-app")
    page.frame_locator("#app-frame").locator(".tb-step--failed").first.wait_for()
    page.wait_for_function(TITLED)  # the app's name, not the portal's code for it
    shoot(moderator, shots, "installer-failed", whole_frame=True)


def test_the_installers_steps_when_done(
    live_app: Any, sandbox: Any, moderator: Moderator, shots: Path
) -> None:
    page = moderator.page
    held: list[Any] = []  # the portal's answer to installFinish, held so that the done page stays on screen
    page.route("**/_ui/bx24/install-finish", lambda route: held.append(route))
    page.goto(f"{sandbox.portal_url}/?user_id=1")
    page.click("#install-app")
    page.frame_locator("#app-frame").locator("#done-title").wait_for()
    page.wait_for_function(TITLED)
    shoot(moderator, shots, "installer-done", whole_frame=True)
    held[0].continue_()
    page.wait_for_selector("#app-slider[data-installed='Y']", state="attached")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_main_and_activity_pages_as_administrator_and_user(
    live_app: Any, sandbox: Any, moderator: Moderator, shots: Path, lang: str
) -> None:
    page = moderator.page
    install(page, sandbox, live_app)
    page.frame_locator("#app-frame").locator("#health").wait_for()

    page.goto(f"{sandbox.portal_url}/?user_id=1&lang={lang}")
    page.click("#open-app")
    app = page.frame_locator("#app-frame")
    app.locator(f"html[lang='{lang}'] #health").wait_for()
    for section in (
        "#health",
        "#installation",
        "#counts",
        "#recent-events",
        "#failures",
        "#rules",
        "#templates",
    ):
        assert app.locator(section).count() == 1, section
    shoot(moderator, shots, f"main-admin-{lang}", whole_frame=True)
    page.click("#app-slider-close")

    page.goto(f"{sandbox.portal_url}/?user_id=2&lang={lang}")
    page.click("#open-app")
    app.locator(f"html[lang='{lang}'] #about").wait_for()
    shoot(moderator, shots, f"main-user-{lang}")
    page.click("#app-slider-close")

    todo = first_todo(sandbox)
    for user in (1, 2):
        open_from_list_menu(page, sandbox.portal_url, todo.id, f"?user_id={user}&lang={lang}")
        app.locator(f"html[lang='{lang}']").wait_for(state="attached")
        who = "admin" if user == 1 else "user"
        shoot(moderator, shots, f"activity-{who}-{lang}", whole_frame=True)
        page.click("#app-slider-close")

    open_from_list_menu(page, sandbox.portal_url, todo.id, f"?user_id=1&lang={lang}")
    add_text_block(app, "Called back, sending the offer")
    app.locator("#tb-editor-wrap").scroll_into_view_if_needed()
    shoot(moderator, shots, f"editor-{lang}", whole_frame=True)


def test_the_error_pages(live_app: Any, sandbox: Any, moderator: Moderator, shots: Path) -> None:
    page = moderator.page
    moderator.expect(404, "/no-such-page")
    page.goto(f"{live_app.url}/no-such-page")
    page.locator(".tb-error h1").wait_for()
    shoot(moderator, shots, "error-not-found")
    moderator.expect(405, "/install")
    page.goto(f"{live_app.url}/install")
    page.locator(".tb-error h1").wait_for()
    shoot(moderator, shots, "error-open-from-the-portal")


def test_the_dark_scheme_passes_the_same_checks(live_app: Any, sandbox: Any, shots: Path) -> None:
    """prefers-color-scheme: dark (tokens.css's dark context): the same pages, the same moderator."""
    live_app.app.config["B24_JS_URL"] = f"{sandbox.portal_url}/bx24.js"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, color_scheme="dark")
        page.set_default_timeout(15_000)
        moderator = Moderator(page)
        install(page, sandbox, live_app)
        page.frame_locator("#app-frame").locator("#health").wait_for()
        shoot(moderator, shots, "main-admin-dark", whole_frame=True)
        page.click("#app-slider-close")
        app = open_from_list_menu(page, sandbox.portal_url, first_todo(sandbox).id)
        app.locator("#tb-editor-wrap > summary").click()
        shoot(moderator, shots, "activity-dark", whole_frame=True)
    moderator.assert_clean()
