"""placement.bind / unbind / get / list (notes §3.1)."""

from __future__ import annotations

import pytest

from sandbox.testing import RunningSandbox

HANDLER = "http://127.0.0.1:5000/placements/activity-menu"


def bind(sandbox: RunningSandbox, token: str | None = None, **params: object) -> dict:
    body = {"PLACEMENT": "CRM_ACTIVITY_LIST_MENU", "HANDLER": HANDLER, "TITLE": "Timeline Bridge", **params}
    return sandbox.call("placement.bind", body, token=token).json()


def test_bind_and_get(sandbox: RunningSandbox) -> None:
    assert bind(sandbox, OPTIONS={"any": "x"})["result"] is True
    assert sandbox.call("placement.get").json()["result"] == [
        {
            "placement": "CRM_ACTIVITY_LIST_MENU",
            "userId": 0,
            "handler": HANDLER,
            "options": [],
            "title": "Timeline Bridge",
            "description": "",
            "langAll": {"en": {"TITLE": "Timeline Bridge", "DESCRIPTION": "", "GROUP_NAME": ""}},
        }
    ]


def test_keys_are_case_insensitive_and_lang_all_wins(sandbox: RunningSandbox) -> None:
    params = {
        "placement": "crm_deal_activity_timeline_menu",
        "handler": HANDLER,
        "title": "ignored",
        "lang_all": {"en": {"TITLE": "Open"}, "de": {"TITLE": "Öffnen"}},
    }
    assert sandbox.call("placement.bind", params).json()["result"] is True
    row = sandbox.call("placement.get").json()["result"][0]
    assert row["placement"] == "CRM_DEAL_ACTIVITY_TIMELINE_MENU"
    assert row["title"] == "Open" and row["langAll"]["de"]["TITLE"] == "Öffnen"


def test_duplicate_is_error_core(sandbox: RunningSandbox) -> None:
    bind(sandbox)
    assert bind(sandbox) == {
        "error": "ERROR_CORE",
        "error_description": "Unable to set placement handler: Handler already binded",
    }


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"PLACEMENT": "NO_SUCH_PLACEMENT"}, "ERROR_PLACEMENT_NOT_FOUND"),
        ({"PLACEMENT": "DEFAULT"}, "ERROR_PLACEMENT_NOT_FOUND"),
        ({"PLACEMENT": "CRM_CONTACT_ACTIVITY_TIMELINE_MENU"}, "ERROR_PLACEMENT_NOT_FOUND"),
        ({"PLACEMENT": ""}, "ERROR_ARGUMENT"),
        ({"PLACEMENT": ["CRM_ACTIVITY_LIST_MENU"]}, "ERROR_ARGUMENT"),
        ({"HANDLER": ""}, "ERROR_ARGUMENT"),
        ({"HANDLER": "http://localhost/x"}, "ERROR_WRONG_HANDLER_URL"),
        ({"HANDLER": "gopher://a.example.com/x"}, "ERROR_UNSUPPORTED_PROTOCOL"),
        ({"USER_ID": 2}, "ERROR_PLACEMENT_USER_MODE"),
    ],
)
def test_bind_errors(sandbox: RunningSandbox, params: dict, error: str) -> None:
    response = sandbox.call(
        "placement.bind", {"PLACEMENT": "CRM_ACTIVITY_LIST_MENU", "HANDLER": HANDLER, **params}
    )
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_error_status_follows_the_switch(sandbox: RunningSandbox) -> None:
    sandbox.configure(placement_error_status=200)
    response = sandbox.call("placement.bind", {"PLACEMENT": "NOPE", "HANDLER": HANDLER})
    assert response.status_code == 200 and response.json()["error"] == "ERROR_PLACEMENT_NOT_FOUND"


def test_max_count(sandbox: RunningSandbox) -> None:
    assert bind(sandbox, PLACEMENT="REST_APP_URI")["result"] is True
    second = bind(sandbox, PLACEMENT="REST_APP_URI", HANDLER=HANDLER + "2")
    assert second == {"error": "ERROR_PLACEMENT_MAX_COUNT", "error_description": "Placement max count: 1"}


def test_crm_placements_need_the_crm_scope(sandbox: RunningSandbox) -> None:
    sandbox.app.scope = ["placement"]
    assert bind(sandbox)["error"] == "ERROR_PLACEMENT_NOT_FOUND"
    assert "CRM_ACTIVITY_LIST_MENU" not in sandbox.call("placement.list").json()["result"]


def test_bind_and_unbind_are_admin_only(sandbox: RunningSandbox) -> None:
    response = sandbox.call(
        "placement.bind", {"PLACEMENT": "CRM_ACTIVITY_LIST_MENU", "HANDLER": HANDLER}, token=sandbox.token(2)
    )
    assert response.status_code == 403 and response.json()["error"] == "ACCESS_DENIED"
    unbind = sandbox.call("placement.unbind", {"PLACEMENT": "CRM_ACTIVITY_LIST_MENU"}, token=sandbox.token(2))
    assert unbind.status_code == 403


def test_unbind_count_quirk_is_two_per_row(sandbox: RunningSandbox) -> None:
    bind(sandbox)
    bind(sandbox, HANDLER=HANDLER + "?v=2")
    one = sandbox.call("placement.unbind", {"PLACEMENT": "CRM_ACTIVITY_LIST_MENU", "HANDLER": HANDLER})
    assert one.json()["result"] == {"count": 2}
    rest = sandbox.call("placement.unbind", {"placement": "crm_activity_list_menu"})
    assert rest.json()["result"] == {"count": 2}
    assert sandbox.call("placement.get").json()["result"] == []
    assert sandbox.call("placement.unbind", {"PLACEMENT": ""}).json()["error"] == "ERROR_ARGUMENT"


def test_list_shows_known_placements(sandbox: RunningSandbox) -> None:
    codes = sandbox.call("placement.list").json()["result"]
    assert "CRM_ACTIVITY_LIST_MENU" in codes and "CRM_LEAD_ACTIVITY_TIMELINE_MENU" in codes
    assert "CRM_CONTACT_ACTIVITY_TIMELINE_MENU" not in codes
    assert sandbox.call("placement.list", {"SCOPE": "placement"}).json()["result"] == [
        "REST_APP_URI",
        "PAGE_BACKGROUND_WORKER",
        "LEFT_MENU",
    ]


def test_get_is_open_to_non_admins(sandbox: RunningSandbox) -> None:
    bind(sandbox)
    assert len(sandbox.call("placement.get", token=sandbox.token(3)).json()["result"]) == 1
