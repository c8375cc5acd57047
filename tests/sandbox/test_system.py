"""Identity methods and enums on the portal (notes §7, §8)."""

from __future__ import annotations

import pytest

from sandbox.testing import RunningSandbox


def test_portal_app_info_shape(sandbox: RunningSandbox) -> None:
    result = sandbox.call("app.info").json()["result"]
    assert result == {
        "ID": sandbox.app.numeric_id,
        "CODE": "local.timeline_bridge",
        "VERSION": 1,
        "STATUS": "L",
        "INSTALLED": True,
        "PAYMENT_EXPIRED": "N",
        "DAYS": None,
        "LANGUAGE_ID": "en",
        "LICENSE": "en_project",
        "LICENSE_TYPE": "project",
        "LICENSE_FAMILY": "project",
    }
    assert "member_id" not in result and "domain" not in result


def test_portal_app_info_reports_installed_false_during_install(sandbox: RunningSandbox) -> None:
    sandbox.app.installed = False
    assert sandbox.call("app.info").json()["result"]["INSTALLED"] is False


def test_enterprise_licence_shows_in_app_info(sandbox: RunningSandbox) -> None:
    sandbox.portal.license = "de_ent10000"
    result = sandbox.call("app.info").json()["result"]
    assert (result["LICENSE_TYPE"], result["LICENSE_FAMILY"]) == ("ent10000", "ent")


def test_app_info_outside_app_context_is_access_denied(sandbox: RunningSandbox) -> None:
    response = sandbox.control("robot", {"method": "app.info"})
    assert response.status_code == 403 and response.json()["error"] == "ACCESS_DENIED"


@pytest.mark.parametrize(("user_id", "admin"), [(1, True), (2, False), (3, False)])
def test_user_current_profile_and_admin(sandbox: RunningSandbox, user_id: int, admin: bool) -> None:
    token = sandbox.token(user_id)
    current = sandbox.call("user.current", token=token).json()["result"]
    assert current["ID"] == str(user_id) and current["ACTIVE"] is True and current["UF_DEPARTMENT"] == [1]
    profile = sandbox.call("profile", token=token).json()["result"]
    assert profile["ID"] == str(user_id) and profile["ADMIN"] is admin
    assert sandbox.call("user.admin", token=token).json()["result"] is admin


def test_inactive_user_cannot_authorize(sandbox: RunningSandbox) -> None:
    token = sandbox.token(2)
    sandbox.portal.users[2].active = False
    response = sandbox.call("profile", token=token)
    assert response.status_code == 401 and response.json()["error"] == "authorization_error"


def test_user_current_needs_a_user_scope(sandbox: RunningSandbox) -> None:
    sandbox.app.scope = ["crm"]
    assert sandbox.call("user.current").json()["error"] == "insufficient_scope"
    assert sandbox.call("profile").status_code == 200  # basic scope


def test_scope_and_server_time(sandbox: RunningSandbox) -> None:
    assert sandbox.call("scope").json()["result"] == ["crm", "placement", "user_brief"]
    assert "crm" in sandbox.call("scope", {"full": True}).json()["result"]
    assert "T" in sandbox.call("server.time").json()["result"]


@pytest.mark.parametrize(
    ("method", "names"),
    [
        ("crm.enum.activitytype", ["", "Meeting", "Call", "Task", "E-mail", "Activity", "User Action"]),
        ("crm.enum.activitystatus", ["", "Pending", "Completed", "Auto completed"]),
        ("crm.enum.activitypriority", ["", "Low", "Medium", "High"]),
        ("crm.enum.activitydirection", ["", "Incoming", "Outgoing"]),
    ],
)
def test_activity_enums(sandbox: RunningSandbox, method: str, names: list[str]) -> None:
    result = sandbox.call(method).json()["result"]
    assert [row["ID"] for row in result] == list(range(len(names)))
    assert [row["NAME"] for row in result] == names
    assert result[0] == {"ID": 0, "NAME": "", "SYMBOL_CODE": None, "SYMBOL_CODE_SHORT": None}


def test_owner_type_enum(sandbox: RunningSandbox) -> None:
    result = sandbox.call("crm.enum.ownertype").json()["result"]
    assert [row["ID"] for row in result] == [1, 2, 3, 4, 5, 31, 7, 8, 36, 39]
    assert result[1] == {"ID": 2, "NAME": "Deal", "SYMBOL_CODE": "DEAL", "SYMBOL_CODE_SHORT": "D"}


def test_enums_need_the_crm_scope(sandbox: RunningSandbox) -> None:
    sandbox.app.scope = ["placement"]
    assert sandbox.call("crm.enum.ownertype").json()["error"] == "insufficient_scope"


def test_enums_ignore_junk_params(sandbox: RunningSandbox) -> None:
    assert sandbox.call("crm.enum.activitystatus", {"filter": {"x": [1, 2]}}).status_code == 200
