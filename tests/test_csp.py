"""The Content-Security-Policy of every page: scripts from us and the BX24 library, framed by the portal."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import csp_directives
from tests.test_install import open_installer
from tests.test_main import open_main_page
from tests.test_timeline_page import activity_of, bind_list_menu, open_activity, open_from_menu

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def assert_real_policy(response: Any, *, js_source: str, framed_by: str) -> None:
    """Every page: default-src 'self', scripts from self and the BX24 library, no plugins, no <base>."""
    policy = csp_directives(response)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == f"'self' {js_source}"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == framed_by
    assert policy["img-src"] == " ".join(["'self' https:", *([framed_by] if framed_by != "'none'" else [])])
    assert "unsafe" not in response.headers["Content-Security-Policy"]


def assert_no_inline_script(html: str) -> None:
    """Every <script> loads a file or only carries data: the policy would block any other."""
    for attributes, body in SCRIPT_TAG.findall(html):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes + body[:80]
        assert "src=" not in attributes or not body.strip()
    assert not INLINE_HANDLER.search(html) and " style=" not in html


@pytest.fixture
def js(connected_app, sandbox) -> str:
    """The BX24 library served by the portal, as the browser test loads it: its origin may serve scripts."""
    connected_app.config["B24_JS_URL"] = f"{sandbox.portal_url}/bx24.js"
    return sandbox.portal_url


def test_the_activity_page_has_the_real_policy(connected_app, sandbox, portal, js) -> None:
    bind_list_menu(portal)
    client = connected_app.test_client()
    for response in (
        open_activity(client, sandbox, activity_of(sandbox).id),
        open_from_menu(client, sandbox, {"ID": activity_of(sandbox).id}),
    ):
        assert response.status_code == 200
        assert_real_policy(response, js_source=js, framed_by=sandbox.portal_url)
        assert_no_inline_script(response.get_data(as_text=True))


@pytest.mark.parametrize("user_id", [1, 2], ids=["administrator", "user"])
def test_the_main_page_has_the_real_policy(connected_app, sandbox, portal, js, user_id: int) -> None:
    response = open_main_page(connected_app.test_client(), sandbox, user_id=user_id)
    assert response.status_code == 200
    assert_real_policy(response, js_source=js, framed_by=sandbox.portal_url)
    assert_no_inline_script(response.get_data(as_text=True))


def test_the_installer_page_has_the_real_policy(live_app, sandbox) -> None:
    live_app.app.config["B24_JS_URL"] = f"{sandbox.portal_url}/bx24.js"
    response = open_installer(sandbox)
    assert response.status_code == 200, response.text
    assert_real_policy(response, js_source=sandbox.portal_url, framed_by=sandbox.portal_url)
    assert_no_inline_script(response.text)


def test_a_refused_installer_has_the_real_policy(live_app, sandbox) -> None:
    response = open_installer(sandbox, AUTH_ID="f" * 40)
    assert response.status_code == 403
    js_source = "api.bitrix24.com"  # the default //api.bitrix24.com/api/v1/ keeps the page's scheme
    assert_real_policy(response, js_source=js_source, framed_by=sandbox.portal_url)
    assert_no_inline_script(response.text)


@pytest.mark.parametrize(
    ("fields", "status"),
    [({"AUTH_ID": "f" * 40}, 401), ({"member_id": "0" * 32}, 404)],
    ids=["reopen", "not-installed"],
)
def test_refusal_pages_have_the_real_policy(connected_app, sandbox, portal, js, fields, status) -> None:
    response = open_main_page(connected_app.test_client(), sandbox, **fields)
    assert response.status_code == status
    assert_real_policy(response, js_source=js, framed_by=sandbox.portal_url)
    assert_no_inline_script(response.get_data(as_text=True))


@pytest.mark.parametrize(
    "request_",
    [("get", "/no-such-page"), ("post", "/"), ("post", "/repair"), ("get", "/oauth/start?domain=x")],
    ids=["404", "400-no-frame", "401-no-token", "oauth-refused"],
)
def test_error_pages_have_the_real_policy_and_may_be_framed_by_nobody(
    connected_app, sandbox, portal, js, request_
) -> None:
    verb, path = request_
    response = getattr(connected_app.test_client(), verb)(path)
    assert response.status_code >= 400
    assert_real_policy(response, js_source=js, framed_by="'none'")
    assert_no_inline_script(response.get_data(as_text=True))


@pytest.mark.parametrize("domain", ["* x.bitrix24.com", "x.bitrix24.com\nX-Injected: 1", "x.bitrix24.com;"])
def test_an_unverified_domain_never_reaches_the_header(connected_app, sandbox, portal, domain) -> None:
    connected_app.config["B24_ALLOWED_HOSTS"] = ("127.0.0.1:*", "*.bitrix24.com")
    client = connected_app.test_client()
    frame = {"AUTH_ID": "a" * 40, "member_id": portal.member_id}
    for response in (
        open_main_page(client, sandbox, query={"DOMAIN": domain}),
        client.post(f"/placements/activity-menu?{urlencode({'DOMAIN': domain})}", data=frame),
        client.post(f"/install?{urlencode({'DOMAIN': domain})}", data=frame),
    ):
        assert response.status_code == 400
        assert csp_directives(response)["frame-ancestors"] == "'none'"
        assert "X-Injected" not in response.headers


def test_no_template_carries_an_inline_script_or_style() -> None:
    for template in TEMPLATES.rglob("*.html"):
        assert_no_inline_script(template.read_text())
