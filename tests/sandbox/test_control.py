"""Control endpoints (/_sandbox/...), the seed, and the Python lifecycle API."""

from __future__ import annotations

import pytest
import requests

from sandbox import create_sandbox
from sandbox.apps import LifecycleError, add_app, finish_install, install_app, uninstall_app, update_app
from sandbox.seed import seed_demo
from sandbox.state import Sandbox
from sandbox.testing import RunningSandbox


def test_seed_has_three_users_and_crm_owners(sandbox: RunningSandbox) -> None:
    portal = sandbox.portal
    users = portal.users
    assert users[1].is_admin and not users[2].is_admin and users[2].can_edit_crm
    assert not users[3].is_admin and not users[3].can_edit_crm
    assert {type_id for type_id, _ in portal.owners} == {
        1,
        2,
        3,
        4,
        7,
        1032,
    }  # quotes and the smart process too
    assert portal.owners[(3, 1)].fields["NAME"] == "Elena"
    assert len(portal.member_id) == 32
    assert len(sandbox.portals) == 2 and sandbox.portals[1].domain != portal.domain


def test_state_endpoint_describes_portals(sandbox: RunningSandbox) -> None:
    body = sandbox.control("state", method="GET").json()
    assert body["oauth_base_url"] == sandbox.oauth_url
    first = body["portals"][0]
    assert first["domain"] == sandbox.portal.domain
    assert [u["id"] for u in first["users"]] == [1, 2, 3, 4, 5]
    assert first["apps"][0]["installed"] is True


def test_reset_reseeds_with_new_member_ids(sandbox: RunningSandbox) -> None:
    old = sandbox.portal.member_id
    body = sandbox.control("reset").json()
    assert body["domain"] == sandbox.portal.domain and body["member_id"] != old
    assert sandbox.portal.member_id == body["member_id"]


def test_settings_can_be_read_and_changed(sandbox: RunningSandbox) -> None:
    assert sandbox.control("settings", method="GET").json()["token_lifetime"] == 3600
    changed = sandbox.control("settings", {"token_lifetime": 60}).json()
    assert changed["token_lifetime"] == 60
    assert sandbox.control("token").json()["expires_in"] == 60


def test_token_endpoint_issues_for_a_user_and_portal(sandbox: RunningSandbox) -> None:
    body = sandbox.control("token", {"user_id": 3, "domain": sandbox.portals[1].domain}).json()
    assert body["user_id"] == 3 and body["member_id"] == sandbox.portals[1].member_id
    assert body["application_token"] == sandbox.portals[1].apps[sandbox.app.client_id].application_token
    assert sandbox.control("token", {"user_id": 99}).status_code == 404
    assert sandbox.control("token", {"member_id": "nope"}).status_code == 404


def test_control_works_on_portal_hosts_for_that_portal(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.portal_urls[1]}/_sandbox/token"
    body = requests.post(url, json={"user_id": 2}, timeout=5).json()
    assert body["member_id"] == sandbox.portals[1].member_id


def test_lifecycle_endpoints(sandbox: RunningSandbox) -> None:
    assert sandbox.control("apps/uninstall").status_code == 200
    assert sandbox.control("apps/finish").status_code == 400  # nothing to finish: the app is gone
    added = sandbox.control("apps/add").json()
    assert added["installed"] is False and len(added["application_token"]) == 32
    assert sandbox.control("apps/finish").json()["installed"] is True
    assert sandbox.control("apps/update").json()["version"] == 2
    assert sandbox.control("apps/bogus").status_code == 404


def test_robot_endpoint_reports_rest_errors(sandbox: RunningSandbox) -> None:
    response = sandbox.control("robot", {"method": "no.such"})
    assert response.status_code == 404 and response.json()["error"] == "ERROR_METHOD_NOT_FOUND"


def test_errors_endpoint_lists_tracebacks(sandbox: RunningSandbox) -> None:
    sandbox.call("sandboxtest.explode")
    assert "ZeroDivisionError" in sandbox.control("errors", method="GET").json()["errors"][0]


def test_deliveries_can_be_cleared(sandbox: RunningSandbox) -> None:
    sandbox.call("event.bind", {"event": "ONAPPTEST", "handler": "http://127.0.0.1:9/x"})
    sandbox.call("event.test")
    sandbox.wait_for_deliveries(1)
    assert sandbox.control("deliveries", method="DELETE").json()["deliveries"] == []


def test_python_lifecycle_api_without_servers() -> None:
    flask_app = create_sandbox({"portal_domains": ["127.0.0.1:1"], "api_only": False})
    state: Sandbox = flask_app.extensions["sandbox"]
    portal = state.portal()
    app = portal.apps[state.setting("client_id")]
    assert app.installed is False
    assert install_app(state, portal) is app and app.installed is False  # UI apps wait for installFinish
    with pytest.raises(LifecycleError):
        finish_install(state, portal, user_id=3)
    finish_install(state, portal)
    assert app.installed is True
    assert update_app(state, portal, version=5).version == 5
    uninstall_app(state, portal, clean=True)
    assert state.setting("client_id") not in portal.apps
    assert add_app(state, portal).application_token != app.application_token
    with pytest.raises(LifecycleError):
        add_app(state, portal, "unknown.client")


def test_seed_demo_defaults_to_one_portal() -> None:
    state = Sandbox()
    portal = seed_demo(state)
    assert list(state.portals.values()) == [portal]
    assert portal.users[1].is_admin


def test_requests_are_counted_per_portal_method_batch_commands_and_status(sandbox: RunningSandbox) -> None:
    sandbox.call("user.admin")
    sandbox.call(
        "batch", {"cmd": {"a": "crm.activity.get?id=1", "b": "user.admin", "c": "crm.activity.get?id=2"}}
    )
    sandbox.control("faults", {"kind": "status", "status": 500, "count": 1})
    sandbox.call("user.admin")
    rows = sandbox.control("requests", method="GET").json()["requests"]
    counts = {(r["method"], r["commands"], r["status"]): r["count"] for r in rows}
    assert counts == {
        ("user.admin", "", 200): 1,
        ("batch", "crm.activity.get+user.admin", 200): 1,
        ("user.admin", "", 500): 1,
    }
    assert {r["domain"] for r in rows} == {sandbox.portal.domain}
    assert sandbox.control("requests", method="DELETE").json()["requests"] == []


def test_deliveries_after_an_id_lists_only_the_newer_ones(sandbox: RunningSandbox) -> None:
    sandbox.call("event.bind", {"event": "ONAPPTEST", "handler": "http://127.0.0.1:9/x"})
    for _ in range(3):
        sandbox.call("event.test")
    sandbox.wait_for_deliveries(3)
    first = sandbox.control("deliveries", method="GET").json()["deliveries"][0]["id"]
    newer = requests.get(f"{sandbox.oauth_url}/_sandbox/deliveries?after={first}", timeout=5).json()
    assert [d["id"] for d in newer["deliveries"]] == [first + 1, first + 2]
