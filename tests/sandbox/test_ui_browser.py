"""The slider and the BX24 shim in a real Chromium: install through installFinish, then a list-menu placement.

Skipped where no Chromium is installed (Debian's `chromium` package, /usr/bin/chromium).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from sandbox.testing import RunningSandbox, start_sandbox
from tests.browser import BROWSER_TESTS, chromium

pytestmark = BROWSER_TESTS


def fake_app(portal_url: str, seen: list[tuple[str, dict[str, str]]]) -> Flask:
    """A stand-in app: its installer binds a list-menu placement and calls installFinish."""
    app = Flask("fake_app")
    head = f'<!doctype html><script src="{portal_url}/bx24.js"></script><pre id="out"></pre>'

    @app.route("/install", methods=["GET", "POST"])
    def install() -> str:
        seen.append(("install", {**request.args, **request.form}))
        menu = request.host_url + "menu"
        return head + (
            "<script>BX24.init(function () { BX24.callMethod('placement.bind', {PLACEMENT: "
            f"'CRM_ACTIVITY_LIST_MENU', HANDLER: '{menu}', TITLE: 'Fake menu'}}, function () "
            "{ BX24.installFinish(); }); });</script>"
        )

    @app.route("/", methods=["GET", "POST"])
    @app.route("/menu", methods=["POST"])
    def page() -> str:
        seen.append((request.path, {**request.args, **request.form}))
        return head + (
            "<script>BX24.init(function () { BX24.callMethod('user.current', {}, function (r) {"
            "document.getElementById('out').textContent = 'user=' + r.data().NAME + ' ' + "
            "JSON.stringify(BX24.placement.info()); BX24.resizeWindow(800, 432); }); });</script>"
        )

    return app


@pytest.fixture
def running() -> Iterator[tuple[RunningSandbox, list[tuple[str, dict[str, str]]]]]:
    """A fresh sandbox (app not installed) whose registered app is the fake app on a free port."""
    seen: list[tuple[str, dict[str, str]]] = []
    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sandbox = start_sandbox(preinstalled=False, app_base_url=f"http://127.0.0.1:{server.server_address[1]}")
    holder["app"] = fake_app(sandbox.portal_url, seen)
    try:
        yield sandbox, seen
    finally:
        sandbox.stop()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_install_then_open_a_list_menu_placement_in_chromium(
    running: tuple[RunningSandbox, list[tuple[str, dict[str, str]]]],
) -> None:
    sandbox, seen = running
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{sandbox.portal_url}/?user_id=1")
        page.click("#install-app")
        frame = page.frame_locator("#app-frame")
        frame.locator("#out", has_text="user=Maria").wait_for(timeout=10_000)
        assert sandbox.app.installed
        assert page.eval_on_selector("#app-frame", "e => e.style.height") == "432px"
        page.click("#app-slider-close")
        page.wait_for_selector('#app-card[data-app-state="installed"]')
        page.goto(f"{sandbox.portal_url}/crm/activity/list/")
        page.locator(".row-menu-button").first.click()
        page.locator('.js-open-placement[data-placement="CRM_ACTIVITY_LIST_MENU"]').first.click()
        frame.locator("#out", has_text="CRM_ACTIVITY_LIST_MENU").wait_for(timeout=10_000)
    paths = [path for path, _ in seen]
    assert paths == ["install", "/", "/menu"]
    assert seen[2][1]["PLACEMENT"] == "CRM_ACTIVITY_LIST_MENU" and len(seen[2][1]["APP_SID"]) == 32
