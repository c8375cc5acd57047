"""`make run` end to end in a real Chromium: the demo's own command as a subprocess, on free ports.

It walks the README's "Try it": the activity list's ⋯ menu opens Timeline Bridge; a linked activity is added
and the frame reloaded (one activity); blocks edited; an activity with buttons added and "Mark done" clicked
in the sandbox timeline (the worker completes it within seconds); the main page as administrator (with a
rule the worker then applies to a new to-do) and as an ordinary user; the portal in Russian; the sandbox's
settings. Then the demo is stopped with Ctrl-C (SIGINT)
and started again: the same portal, the same activities, one installation. Screenshots go to $SCREENSHOTS
(default artifacts/screenshots/demo; `make screenshots` writes docs/screenshots). Skipped without Chromium.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet

from tests.browser import BROWSER_TESTS, Moderator, chromium
from tests.test_timeline_browser import add_text_block
from tests.test_timeline_browser import open_from_list_menu as open_in_the_list

ROOT = Path(__file__).resolve().parent.parent
pytestmark = BROWSER_TESTS
ESCAPES = re.compile(r"\x1b\[")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_run_command(ports: dict[str, int], state: Path) -> list[str]:
    """What `make run` runs (the Makefile's DEMO line), with this interpreter and these ports."""
    return [
        sys.executable,
        "-m",
        "sandbox.demo",
        "--app-port",
        str(ports["APP_PORT"]),
        "--portal-port",
        str(ports["PORTAL_PORT"]),
        "--oauth-port",
        str(ports["OAUTH_PORT"]),
        "--state",
        str(state),
    ]


def test_the_make_run_recipe_is_the_command_this_test_starts() -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo = re.search(r"^DEMO := (.*?)(?<!\\)\n", makefile, re.M | re.S)
    assert demo is not None
    words = demo.group(1).replace("\\\n", " ").split()
    assert words == [
        "$(BIN)/python",
        "-m",
        "sandbox.demo",
        "--app-port",
        "$(APP_PORT)",
        "--portal-port",
        "$(PORTAL_PORT)",
        "--oauth-port",
        "$(OAUTH_PORT)",
        "--state",
        "$(SANDBOX_STATE)",
    ]
    assert re.search(r"^run: \$\(STAMP\)\n\t@\$\(DEMO\)\n", makefile, re.M)


@dataclass
class Demo:
    """One `make run` process: its output lines as they come, and the URLs it wires together."""

    process: subprocess.Popen[str]
    ports: dict[str, int]
    lines: list[str] = field(default_factory=list)

    @property
    def portal(self) -> str:
        return f"http://127.0.0.1:{self.ports['PORTAL_PORT']}"

    @property
    def oauth(self) -> str:
        return f"http://127.0.0.1:{self.ports['OAUTH_PORT']}"

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_url(self, timeout: float = 90.0) -> None:
        """The URL to open is printed once the app and a worker are up; nothing of start-up comes after."""
        deadline = time.monotonic() + timeout
        wanted = f"Open {self.portal}/"
        while wanted not in self.lines:
            assert self.process.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, "\n".join(self.lines)
            time.sleep(0.2)

    def stop(self) -> int:
        """Ctrl-C: SIGINT to the process (and its group, as a terminal does)."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(30)

    def rest(self, method: str, params: dict[str, Any]) -> Any:
        """Call the portal's REST API as the app, with a token the sandbox issues for the administrator."""
        token = requests.post(f"{self.oauth}/_sandbox/token", json={"user_id": 1}, timeout=10).json()
        answer = requests.post(
            f"{self.portal}/rest/{method}", json={**params, "auth": token["access_token"]}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def activity_ids(self) -> set[int]:
        ids: set[int] = set()
        start = 0
        while True:
            page = self.rest("crm.activity.list", {"select": ["ID"], "start": start, "order": {"ID": "ASC"}})
            ids |= {int(row["ID"]) for row in page["result"]}
            if "next" not in page:
                return ids
            start = page["next"]

    def member_id(self) -> str:
        [portal] = requests.get(f"{self.oauth}/_sandbox/state", timeout=10).json()["portals"]
        return str(portal["member_id"])


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    """The demo's own database and secrets in tmp_path: instance/ of the checkout is left alone."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        SECRET_KEY="demo-browser-test-secret-key-0123456789abcdef",
        TOKEN_KEYS=Fernet.generate_key().decode(),
        WEB_CONCURRENCY="1",
    )
    env.pop("TEST_DATABASE_URL", None)
    return env


@pytest.fixture
def start_demo(tmp_path: Path, demo_env: dict[str, str]) -> Iterator[Any]:
    """Start `make run`'s command; every started demo is stopped at the end, whatever happens."""
    ports = {"APP_PORT": free_port(), "PORTAL_PORT": free_port(), "OAUTH_PORT": free_port()}
    started: list[Demo] = []

    def start() -> Demo:
        process = subprocess.Popen(
            make_run_command(ports, tmp_path / "sandbox-state.pickle"),
            cwd=ROOT,
            env=demo_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own group, as a terminal's foreground job
        )
        demo = Demo(process, ports)
        threading.Thread(target=demo.read, daemon=True).start()
        started.append(demo)
        demo.wait_for_url()
        return demo

    yield start
    for demo in started:
        if demo.process.poll() is None:  # a failed test: stop it as Ctrl-C would, so it stops its processes
            os.killpg(demo.process.pid, signal.SIGINT)
            try:
                demo.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(demo.process.pid, signal.SIGKILL)
                demo.process.wait(10)
        if demo.process.stdout is not None:
            demo.process.stdout.close()


@pytest.fixture
def shots() -> Path:
    folder = Path(os.environ.get("SCREENSHOTS", "artifacts/screenshots/demo"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def app_frame(page: Any) -> Any:
    return page.frame(name="app-frame")


def open_from_list_menu(page: Any, demo: Demo, activity_id: int) -> Any:
    return open_in_the_list(page, demo.portal, activity_id)


def a_deal_todo(demo: Demo) -> int:
    rows = demo.rest(
        "crm.activity.list",
        {"filter": {"PROVIDER_ID": "CRM_TODO", "COMPLETED": "N", "OWNER_TYPE_ID": 2}, "order": {"ID": "ASC"}},
    )["result"]
    return int(rows[0]["ID"])


def installations(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT member_id, state FROM portals").fetchall()


def test_make_run_the_first_hour_and_a_restart(start_demo, browser, shots: Path, tmp_path: Path) -> None:
    demo = start_demo()
    time.sleep(1.5)  # anything of the start-up printed late would show up meanwhile
    assert demo.lines[-1] == f"Open {demo.portal}/", "\n".join(demo.lines)  # the last line before requests
    assert not any(ESCAPES.search(line) for line in demo.lines)
    assert any(re.search(r"\| GET /healthz 200 \d+ms$", line) for line in demo.lines)  # short request lines
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    moderator = Moderator(page)  # console errors, failed requests, axe and sideways scroll on every app page
    page.goto(f"{demo.portal}/?user_id=1")
    page.screenshot(path=str(shots / "01-portal-home.png"))

    # The activity list's ⋯ menu → Timeline Bridge: the activity page in the slider.
    todo = a_deal_todo(demo)
    page.goto(f"{demo.portal}/crm/activity/list/")
    page.click(f"#row-menu-button-{todo}")
    page.screenshot(path=str(shots / "02-activity-menu.png"))
    frame = open_from_list_menu(page, demo, todo)
    moderator.check("activity page")
    page.screenshot(path=str(shots / "03-activity-page.png"))

    # Add a linked activity, then reload the frame: the browser sends the form again; nothing is added again.
    before = demo.activity_ids()
    frame.locator("#create-template").select_option(label="Follow-up call")
    frame.locator("#create-submit").click()
    frame.locator("#tb-notice").wait_for()
    frame.locator("#tb-notice").scroll_into_view_if_needed()
    moderator.check("linked activity added")
    page.screenshot(path=str(shots / "04-linked-activity-added.png"))
    [linked] = demo.activity_ids() - before
    app_frame(page).evaluate("location.reload()")
    frame.locator("#tb-notice", has_text="already sent").wait_for()
    assert demo.activity_ids() - before == {linked}

    # Edit the blocks of the opened activity in the structured editor.
    add_text_block(frame, "Called back, sending the offer")
    frame.locator("#tb-preview").scroll_into_view_if_needed()
    moderator.check("block editor")
    page.screenshot(path=str(shots / "05-blocks-editor.png"))
    frame.locator("#tb-blocks-save").click()
    frame.locator("#tb-blocks-current", has_text="Called back").wait_for()

    # An activity with buttons; "Mark done" in the sandbox timeline; the worker completes it within seconds.
    before = demo.activity_ids()
    frame.locator("#tb-cfg-title").fill("Confirm the delivery date")
    frame.locator("#tb-cfg-text").fill("Acme asked for the 14th.")
    frame.locator("#tb-cfg-tags").fill("delivery")
    frame.locator("#tb-cfg-submit").click()
    frame.locator("#tb-notice", has_text="with buttons was added").wait_for()
    [buttons] = demo.activity_ids() - before
    owner = demo.rest("crm.activity.get", {"id": buttons})["result"]["OWNER_ID"]
    page.click("#app-slider-close")
    page.goto(f"{demo.portal}/crm/deal/details/{owner}/")
    item = page.locator(f"#activity-{buttons}")
    item.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "06-activity-with-buttons.png"))
    item.locator(".cfg-button", has_text="Mark done").click()
    deadline = time.monotonic() + 20
    while page.locator(f"#activity-{buttons}[data-completed='Y']").count() == 0:
        assert time.monotonic() < deadline, "the worker did not complete the activity"
        time.sleep(0.5)
        page.reload()
    item.scroll_into_view_if_needed()
    assert "Done by Maria Ivanova on " in item.inner_text()  # by name, as her `profile` gave it to the worker
    page.screenshot(path=str(shots / "07-marked-done.png"))

    # The main page as administrator (counts moved: the worker mirrored the activities) and as a user.
    page.goto(f"{demo.portal}/?user_id=1")
    page.click("#open-app")
    frame = page.frame_locator("#app-frame")
    frame.locator("#health").wait_for()
    assert int(frame.locator("#activity-count").inner_text()) >= 2
    assert frame.locator("#workers-stalled").count() == 0
    moderator.check("main page (administrator)")
    page.screenshot(path=str(shots / "08-main-page-admin.png"))

    # An enrichment rule from the main page; a to-do added in the portal gets its block from the worker.
    rule = frame.locator("#rule-form")
    rule.locator("input[name=name]").fill("Deal to-dos")
    rule.locator("select[name=provider_id]").select_option(label="To-do")  # names, not PROVIDER_ID values
    rule.locator("select[name=owner_type_id]").select_option(label="Deal")
    rule.locator('#rule-editor [data-path$=".properties.value"]').fill("Rule: {{SUBJECT}}")  # no JSON typed
    rule.locator("button[type=submit]").click()
    frame.locator("[data-rule-id]").first.wait_for()
    page.click("#app-slider-close")
    page.goto(f"{demo.portal}/crm/deal/details/{owner}/")
    page.fill("#quick-todo-title", "Ask about the invoice")
    page.click("#quick-todo-add")
    deadline = time.monotonic() + 20
    while page.locator(".cb-set", has_text="Rule: Ask about the invoice").count() == 0:
        assert time.monotonic() < deadline, "the worker did not apply the rule"
        time.sleep(0.5)
        page.reload()
    page.goto(f"{demo.portal}/?user_id=2")
    page.click("#open-app")
    page.frame_locator("#app-frame").locator("main").wait_for()
    assert page.frame_locator("#app-frame").locator("#health").count() == 0
    moderator.check("main page (user)")
    page.screenshot(path=str(shots / "09-main-page-user.png"))
    page.click("#app-slider-close")

    # The portal in Russian: the app follows the portal's language.
    page.goto(f"{demo.portal}/?user_id=1&lang=ru")
    frame = open_from_list_menu(page, demo, todo)
    frame.locator("html[lang='ru']").wait_for(state="attached")
    moderator.check("activity page (ru)")
    page.screenshot(path=str(shots / "10-activity-page-russian.png"))
    page.click("#app-slider-close")
    page.goto(f"{demo.portal}/settings/?lang=en")
    page.screenshot(path=str(shots / "11-sandbox-settings.png"))

    # Ctrl-C stops everything; a second start finds the same portal, activities and installation.
    member_id, activities = demo.member_id(), demo.activity_ids()
    assert demo.stop() == 0, "\n".join(demo.lines[-30:])
    again = start_demo()
    assert "Sandbox portal: the saved portal" in "\n".join(again.lines)
    assert "Timeline Bridge: already installed on this portal" in again.lines, "\n".join(again.lines)
    assert again.member_id() == member_id and again.activity_ids() == activities
    assert installations(tmp_path / "demo.sqlite3") == [(member_id, "active")]
    page.goto(f"{again.portal}/crm/deal/details/{owner}/")
    page.locator(f"#activity-{buttons}[data-completed='Y']").wait_for()
    open_from_list_menu(page, again, linked)  # the app still knows the portal: its token works
    assert again.stop() == 0
    assert len(moderator.checked) == 6
    moderator.assert_clean()
