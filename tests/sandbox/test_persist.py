"""sandbox.persist: the sandbox's state survives a restart, for the same ports only, written atomically."""

from __future__ import annotations

import time
from pathlib import Path

from sandbox import create_sandbox, persist
from sandbox.apps import find_app, finish_install
from sandbox.events import bind_handler
from sandbox.tokens import issue_token

SETTINGS = {
    "oauth_base_url": "http://127.0.0.1:8700",
    "portal_domains": ["127.0.0.1:8701"],
    "app_base_url": "http://127.0.0.1:5000",
}


def started(**overrides):
    app = create_sandbox({**SETTINGS, **overrides})
    return app, app.extensions["sandbox"]


def test_a_restart_finds_the_same_portal_activities_installation_and_tokens(tmp_path: Path) -> None:
    path = tmp_path / "state.pickle"
    _, first = started()
    portal = first.portal()
    app = find_app(first, portal)
    finish_install(first, portal)
    bind_handler(portal, app, "ONCRMACTIVITYADD", "http://127.0.0.1:5000/events", user_id=1)
    token = issue_token(first, portal, app, 1).access_token
    first.settings["rest_app_blocks_allowed"] = True  # flipped on the settings page
    persist.save(first, path)

    flask_app, second = started()
    assert second.portal().member_id != portal.member_id  # a fresh seed ...
    assert persist.restore(second, path).startswith("the saved portal")
    again = second.portal()  # ... replaced by the saved one
    assert again.member_id == portal.member_id
    assert sorted(again.crm.activities) == sorted(portal.crm.activities)
    installed = find_app(second, again)
    assert installed.installed and [b["event"] for b in installed.events] == ["ONCRMACTIVITYADD"]
    assert second.setting("rest_app_blocks_allowed") is True
    answer = flask_app.test_client().post(
        "/rest/crm.activity.list", json={"auth": token}, base_url="http://127.0.0.1:8701"
    )
    assert answer.status_code == 200 and answer.get_json()["total"] == len(portal.crm.activities)


def test_a_file_made_for_other_ports_is_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "state.pickle"
    _, first = started()
    persist.save(first, path)
    _, other = started(portal_domains=["127.0.0.1:9701"])
    seeded = other.portal().member_id
    said = persist.restore(other, path)
    assert "made for other ports (portal 127.0.0.1:8701" in said
    assert other.portal().member_id == seeded


def test_a_torn_or_foreign_file_starts_a_new_portal(tmp_path: Path) -> None:
    path = tmp_path / "state.pickle"
    path.write_bytes(b"\x80\x05not a pickle")
    _, sandbox = started()
    seeded = sandbox.portal().member_id
    assert "could not be read" in persist.restore(sandbox, path)
    assert sandbox.portal().member_id == seeded


def test_no_file_means_a_new_portal(tmp_path: Path) -> None:
    _, sandbox = started()
    assert persist.restore(sandbox, tmp_path / "none.pickle").startswith("a new portal")


def test_a_change_through_rest_is_saved_soon_after_and_atomically(tmp_path: Path) -> None:
    path = tmp_path / "state.pickle"
    flask_app, sandbox = started(preinstalled=True)
    autosave = persist.attach(flask_app, path)
    try:
        portal = sandbox.portal()
        token = issue_token(sandbox, portal, find_app(sandbox, portal), 1).access_token
        fields = {
            "OWNER_TYPE_ID": 2,
            "OWNER_ID": 1,
            "TYPE_ID": 4,
            "SUBJECT": "Remember me",
            "RESPONSIBLE_ID": 1,
        }
        fields["COMMUNICATIONS"] = [{"VALUE": "a@example.com", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}]
        answer = flask_app.test_client().post(
            "/rest/crm.activity.add", json={"auth": token, "fields": fields}, base_url="http://127.0.0.1:8701"
        )
        assert answer.status_code == 200, answer.get_json()
        new_id = answer.get_json()["result"]
        deadline = time.monotonic() + 5
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        autosave.stop()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    _, later = started(preinstalled=True)
    persist.restore(later, path)
    assert later.portal().crm.activities[new_id].fields["SUBJECT"] == "Remember me"
