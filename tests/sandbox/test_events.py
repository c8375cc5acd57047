"""Events: event.* methods (notes §2.4) and delivery on the wire (notes §1.4, §1.6, §2.1-§2.3)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus, urlencode

import pytest

from sandbox.apps import add_app
from sandbox.state import AppRegistration, InstalledApp
from sandbox.testing import EventReceiver, RunningSandbox

USER_AUTH_KEYS = [
    "access_token",
    "expires",
    "expires_in",
    "scope",
    "domain",
    "server_endpoint",
    "status",
    "client_endpoint",
    "member_id",
    "user_id",
]
NO_TOKEN_AUTH = {"domain", "client_endpoint", "server_endpoint", "member_id", "application_token"}


def php_parse_str(body: str) -> dict[str, Any]:
    """An independent parse_str: split on &, decode, walk `a[b][c]` keys into nested dicts."""
    result: dict[str, Any] = {}
    for pair in body.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key, value = unquote_plus(raw_key), unquote_plus(raw_value)
        match = re.fullmatch(r"([^\[]+)((?:\[[^\]]*\])*)", key)
        assert match, f"not a PHP key: {key}"
        path = [match.group(1), *re.findall(r"\[([^\]]*)\]", match.group(2))]
        node = result
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1] if path[-1] != "" else str(len(node))] = value
    return result


def keys_in_order(body: str) -> list[str]:
    return [unquote_plus(pair.partition("=")[0]) for pair in body.split("&")]


def bind(sandbox: RunningSandbox, event: str, handler: str, token: str | None = None, **extra: Any) -> dict:
    return sandbox.call("event.bind", {"event": event, "handler": handler, **extra}, token=token).json()


def emit(sandbox: RunningSandbox, event: str, data: dict, token: str | None = None) -> None:
    response = sandbox.call("sandboxtest.emit", {"event": event, "data": data}, token=token)
    assert response.status_code == 200


# event.bind / event.get / event.unbind -----------------------------------------------------------


def test_bind_then_get_lists_the_handler_upper_case(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    assert bind(sandbox, "onCrmActivityAdd", event_receiver.url())["result"] is True
    assert sandbox.call("event.get").json()["result"] == [
        {"event": "ONCRMACTIVITYADD", "handler": event_receiver.url(), "auth_type": "0", "offline": 0}
    ]


def test_bind_keys_are_case_insensitive(sandbox: RunningSandbox, event_receiver: EventReceiver) -> None:
    response = sandbox.call("event.bind", {"EVENT": "ONAPPTEST", "HANDLER": event_receiver.url()})
    assert response.json()["result"] is True


def test_duplicate_bind_is_error_core(sandbox: RunningSandbox, event_receiver: EventReceiver) -> None:
    bind(sandbox, "ONCRMACTIVITYADD", event_receiver.url())
    response = sandbox.call("event.bind", {"event": "oncrmactivityadd", "handler": event_receiver.url()})
    assert response.status_code == 400
    assert response.json() == {
        "error": "ERROR_CORE",
        "error_description": "Unable to set event handler: Handler already binded",
    }


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"event": "ONNOSUCHEVENT", "handler": "http://a.example.com/h"}, "ERROR_EVENT_NOT_FOUND"),
        ({"handler": "http://a.example.com/h"}, "ERROR_ARGUMENT"),
        ({"event": "ONAPPTEST"}, "ERROR_ARGUMENT"),
        (
            {"event": "ONAPPTEST", "handler": "http://a.example.com/h", "event_type": "sometimes"},
            "ERROR_ARGUMENT",
        ),
        ({"event": "ONAPPTEST", "handler": "http://localhost/h"}, "ERROR_WRONG_HANDLER_URL"),
        ({"event": "ONAPPTEST", "handler": "not a url"}, "ERROR_WRONG_HANDLER_URL"),
        ({"event": "ONAPPTEST", "handler": "ftp://files.example.com/h"}, "ERROR_UNSUPPORTED_PROTOCOL"),
        ({"event": "ONAPPTEST", "handler": "http://a.example.com/h", "auth_type": "x"}, "ERROR_ARGUMENT"),
        ({"event": ["ONAPPTEST"], "handler": "http://a.example.com/h"}, "ERROR_ARGUMENT"),
    ],
)
def test_bind_errors(sandbox: RunningSandbox, params: dict, error: str) -> None:
    response = sandbox.call("event.bind", params)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_missing_argument_names_it(sandbox: RunningSandbox) -> None:
    body = sandbox.call("event.bind", {"handler": "http://a.example.com/h"}).json()
    assert body == {
        "error": "ERROR_ARGUMENT",
        "error_description": "Argument 'EVENT' is null or empty",
        "argument": "EVENT",
    }


def test_event_outside_the_app_scope_is_not_found(sandbox: RunningSandbox) -> None:
    sandbox.app.scope = ["placement"]
    assert bind(sandbox, "ONCRMACTIVITYADD", "http://a.example.com/h")["error"] == "ERROR_EVENT_NOT_FOUND"


def test_non_admin_may_not_bind_offline_or_for_another_user(sandbox: RunningSandbox) -> None:
    token = sandbox.token(2)
    offline = sandbox.call("event.bind", {"event": "ONCRMACTIVITYADD", "event_type": "offline"}, token=token)
    assert offline.status_code == 403 and offline.json()["error"] == "ACCESS_DENIED"
    other = bind(sandbox, "ONAPPTEST", "http://a.example.com/h", token=token, auth_type=1)
    assert other["error"] == "ACCESS_DENIED"
    assert bind(sandbox, "ONAPPTEST", "http://a.example.com/h", token=token, auth_type=2)["result"] is True


def test_offline_bind_is_listed_with_connector(sandbox: RunningSandbox) -> None:
    sandbox.call("event.bind", {"event": "ONCRMACTIVITYADD", "event_type": "offline"})
    assert sandbox.call("event.get").json()["result"] == [
        {"event": "ONCRMACTIVITYADD", "connector_id": "", "offline": 1}
    ]


def test_event_get_shows_non_admins_only_their_own(sandbox: RunningSandbox) -> None:
    bind(sandbox, "ONAPPTEST", "http://a.example.com/admin")
    bind(sandbox, "ONAPPTEST", "http://a.example.com/user", token=sandbox.token(2))
    mine = sandbox.call("event.get", token=sandbox.token(2)).json()["result"]
    assert [row["handler"] for row in mine] == ["http://a.example.com/user"]
    assert len(sandbox.call("event.get").json()["result"]) == 2


def test_unbind_counts_and_respects_auth_type(sandbox: RunningSandbox) -> None:
    bind(sandbox, "ONAPPTEST", "http://a.example.com/h")
    bind(sandbox, "ONAPPTEST", "http://a.example.com/h", auth_type=2)
    only_zero = sandbox.call(
        "event.unbind", {"event": "ONAPPTEST", "handler": "http://a.example.com/h", "auth_type": 0}
    )
    assert only_zero.json()["result"] == {"count": 1}
    rest = sandbox.call("event.unbind", {"event": "onapptest", "handler": "http://a.example.com/h"})
    assert rest.json()["result"] == {"count": 1}
    again = sandbox.call("event.unbind", {"event": "ONAPPTEST", "handler": "http://a.example.com/h"})
    assert again.json()["result"] == {"count": 0}


def test_non_admin_unbind_removes_only_their_own(sandbox: RunningSandbox) -> None:
    bind(sandbox, "ONAPPTEST", "http://a.example.com/h")
    user = sandbox.token(2)
    response = sandbox.call(
        "event.unbind", {"event": "ONAPPTEST", "handler": "http://a.example.com/h"}, token=user
    )
    assert response.json()["result"] == {"count": 0}
    assert len(sandbox.call("event.get").json()["result"]) == 1


def test_unbind_requires_event_and_handler(sandbox: RunningSandbox) -> None:
    assert sandbox.call("event.unbind", {}).json()["error"] == "ERROR_ARGUMENT"
    assert sandbox.call("event.unbind", {"event": "ONAPPTEST"}).json()["argument"] == "HANDLER"


def test_events_lists_names_for_the_scope(sandbox: RunningSandbox) -> None:
    names = sandbox.call("events").json()["result"]
    assert {"ONAPPINSTALL", "ONAPPUNINSTALL", "ONCRMACTIVITYADD", "ONCRMTIMELINEITEMACTION"} <= set(names)
    sandbox.app.scope = ["placement"]
    assert "ONCRMACTIVITYADD" not in sandbox.call("events").json()["result"]


# delivery ---------------------------------------------------------------------------------------


def test_crm_event_wire_format_is_php_form_encoding(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind(sandbox, "ONCRMACTIVITYADD", event_receiver.url())
    emit(sandbox, "onCrmActivityAdd", {"FIELDS": {"ID": 999}}, token=sandbox.token(2))
    received = event_receiver.wait_for(1)[0]
    assert received.method == "POST"
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert received.headers["User-Agent"] == "Bitrix24 Webhook Engine"
    parsed = php_parse_str(received.body)
    assert set(parsed) == {"event", "event_handler_id", "data", "ts", "auth"}
    assert parsed["event"] == "ONCRMACTIVITYADD"
    assert parsed["data"] == {"FIELDS": {"ID": "999"}}
    auth = parsed["auth"]
    assert list(auth) == [*USER_AUTH_KEYS, "application_token"]  # no refresh_token for CRM events
    assert auth["user_id"] == "2" and auth["domain"] == sandbox.portal.domain
    assert auth["member_id"] == sandbox.portal.member_id
    assert auth["application_token"] == sandbox.app.application_token
    assert auth["client_endpoint"] == f"{sandbox.portal_url}/rest/"
    assert auth["server_endpoint"] == f"{sandbox.oauth_url}/rest/"
    assert auth["scope"] == "crm,placement,user_brief"
    expected = urlencode(
        [("event", "ONCRMACTIVITYADD"), ("event_handler_id", parsed["event_handler_id"])]
        + [("data[FIELDS][ID]", "999"), ("ts", parsed["ts"])]
        + [(f"auth[{k}]", v) for k, v in auth.items()]
    )
    assert received.body == expected
    assert sandbox.call("user.current", token=auth["access_token"]).json()["result"]["ID"] == "2"


def test_event_token_follows_bind_auth_type(sandbox: RunningSandbox, event_receiver: EventReceiver) -> None:
    bind(sandbox, "ONCRMACTIVITYADD", event_receiver.url(), auth_type=3)
    emit(sandbox, "ONCRMACTIVITYADD", {"FIELDS": {"ID": 1}})
    assert php_parse_str(event_receiver.wait_for(1)[0].body)["auth"]["user_id"] == "3"


def test_robot_changes_deliver_no_tokens(sandbox: RunningSandbox, event_receiver: EventReceiver) -> None:
    bind(sandbox, "ONCRMACTIVITYUPDATE", event_receiver.url())
    response = sandbox.control(
        "robot",
        {
            "method": "sandboxtest.emit",
            "params": {"event": "ONCRMACTIVITYUPDATE", "data": {"FIELDS": {"ID": 4}}},
        },
    )
    assert response.status_code == 200 and response.json()["result"] is True
    parsed = php_parse_str(event_receiver.wait_for(1)[0].body)
    assert set(parsed["auth"]) == NO_TOKEN_AUTH
    assert parsed["data"] == {"FIELDS": {"ID": "4"}}


def test_identical_events_in_one_request_are_merged(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind(sandbox, "ONCRMACTIVITYUPDATE", event_receiver.url())
    same = "sandboxtest.emit?event=ONCRMACTIVITYUPDATE&data[FIELDS][ID]=7"
    other = "sandboxtest.emit?event=ONCRMACTIVITYUPDATE&data[FIELDS][ID]=8"
    sandbox.call("batch", {"cmd": [same, same, other]})
    sandbox.wait_for_deliveries(2)
    emit(sandbox, "ONCRMACTIVITYUPDATE", {"FIELDS": {"ID": "7"}})
    deliveries = sandbox.wait_for_deliveries(3)
    ids = [php_parse_str(d.body)["data"]["FIELDS"]["ID"] for d in deliveries]
    assert ids == ["7", "8", "7"]


def test_events_reach_every_installed_app_bound_to_them(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    other = second_app(sandbox)
    other.installed = True
    bind(sandbox, "ONCRMACTIVITYDELETE", event_receiver.url("/first"))
    token = sandbox.token(1)
    from sandbox.events import bind_handler

    bind_handler(sandbox.portal, other, "ONCRMACTIVITYDELETE", event_receiver.url("/second"), user_id=1)
    emit(sandbox, "ONCRMACTIVITYDELETE", {"FIELDS": {"ID": 3}}, token=token)
    paths = sorted(r.path for r in event_receiver.wait_for(2))
    assert paths == ["/first", "/second"]


def test_no_events_before_install_finish(sandbox: RunningSandbox, event_receiver: EventReceiver) -> None:
    bind(sandbox, "ONCRMACTIVITYADD", event_receiver.url())
    bind(sandbox, "ONAPPINSTALL", event_receiver.url("/install-hook"))
    sandbox.app.installed = False
    emit(sandbox, "ONCRMACTIVITYADD", {"FIELDS": {"ID": 1}})
    assert sandbox.deliveries == []
    assert sandbox.control("apps/finish").status_code == 200
    received = event_receiver.wait_for(1)
    assert [r.path for r in received] == ["/install-hook"]
    emit(sandbox, "ONCRMACTIVITYADD", {"FIELDS": {"ID": 2}})
    assert len(event_receiver.wait_for(2)) == 2


def test_install_finish_sends_onappinstall_with_refresh_token(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind(sandbox, "ONAPPINSTALL", event_receiver.url())
    sandbox.app.installed = False
    sandbox.control("apps/finish")
    body = event_receiver.wait_for(1)[0].body
    assert keys_in_order(body) == [
        "event",
        "event_handler_id",
        "data[VERSION]",
        "data[ACTIVE]",
        "data[INSTALLED]",
        "data[LANGUAGE_ID]",
        "ts",
        *[f"auth[{k}]" for k in USER_AUTH_KEYS],
        "auth[refresh_token]",
        "auth[application_token]",
    ]
    parsed = php_parse_str(body)
    assert parsed["data"] == {"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "en"}
    assert sandbox.app.installed is True


def test_install_finish_is_admin_only_and_not_for_api_only(sandbox: RunningSandbox) -> None:
    sandbox.app.installed = False
    assert sandbox.control("apps/finish", {"user_id": 2}).status_code == 400
    sandbox.app.api_only = True
    assert sandbox.control("apps/finish").json()["error"] == "LIFECYCLE_ERROR"


def test_api_only_install_posts_onappinstall_to_the_install_url(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    assert sandbox.control("apps/uninstall").status_code == 200
    registration = sandbox.state.registrations[sandbox.state.setting("client_id")]
    registration.base_url, registration.api_only = event_receiver.base_url, True
    response = sandbox.control("apps/install")
    assert response.status_code == 200 and response.json()["installed"] is True
    received = event_receiver.wait_for(1)[0]
    assert received.path == "/install"
    parsed = php_parse_str(received.body)
    assert parsed["event"] == "ONAPPINSTALL" and "refresh_token" in parsed["auth"]
    assert parsed["auth"]["application_token"] == sandbox.app.application_token


def test_update_sends_onappupdate_then_drops_old_handlers(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind(sandbox, "ONAPPUPDATE", event_receiver.url())
    bind(sandbox, "ONCRMACTIVITYADD", event_receiver.url())
    response = sandbox.control("apps/update", {"version": 3})
    assert response.status_code == 200 and response.json()["version"] == 3
    parsed = php_parse_str(event_receiver.wait_for(1)[0].body)
    assert parsed["event"] == "ONAPPUPDATE"
    assert parsed["data"] == {"VERSION": "3", "PREVIOUS_VERSION": "1", "LANGUAGE_ID": "en"}
    assert "refresh_token" in parsed["auth"]
    assert sandbox.call("event.get").json()["result"] == []


def test_uninstall_sends_no_tokens_and_drops_everything(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind(sandbox, "ONAPPUNINSTALL", event_receiver.url())
    sandbox.call(
        "placement.bind", {"PLACEMENT": "CRM_ACTIVITY_LIST_MENU", "HANDLER": event_receiver.url("/menu")}
    )
    token, app_token = sandbox.token(), sandbox.app.application_token
    assert sandbox.control("apps/uninstall", {"clean": 1}).status_code == 200
    parsed = php_parse_str(event_receiver.wait_for(1)[0].body)
    assert parsed["event"] == "ONAPPUNINSTALL"
    assert parsed["data"] == {"LANGUAGE_ID": "en", "CLEAN": "1"}
    assert set(parsed["auth"]) == NO_TOKEN_AUTH and parsed["auth"]["application_token"] == app_token
    assert sandbox.call("event.get", token=token).json()["error"] == "invalid_token"
    assert sandbox.state.registrations  # the vendor console still knows the app
    assert all(client not in sandbox.portal.apps for client in sandbox.state.registrations)


def test_deliveries_are_logged_and_never_retried(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    event_receiver.status = 500
    bind(sandbox, "ONAPPTEST", event_receiver.url())
    bind(sandbox, "ONAPPTEST", "http://127.0.0.1:9/closed")
    sandbox.call("event.test", {"x": "1"})
    deliveries = sandbox.wait_for_deliveries(2)
    by_url = {d.url: d for d in deliveries}
    assert by_url[event_receiver.url()].status == 500
    assert by_url["http://127.0.0.1:9/closed"].error
    assert len(event_receiver.requests) == 1
    listed = sandbox.control("deliveries", method="GET").json()["deliveries"]
    assert {d["id"] for d in listed} == {d.id for d in deliveries}
    assert all(set(d) >= {"id", "event", "url", "body", "status", "error", "created_at"} for d in listed)
    assert sandbox.control("deliveries?event=ONAPPUPDATE", method="GET").json()["deliveries"] == []


def test_timeline_action_goes_to_the_creating_app_only(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    other = second_app(sandbox)
    other.installed = True
    from sandbox.events import bind_handler

    bind_handler(sandbox.portal, other, "ONCRMTIMELINEITEMACTION", event_receiver.url("/other"), user_id=1)
    bind(sandbox, "ONCRMTIMELINEITEMACTION", event_receiver.url("/mine"))
    data = {"myId": "123", "entityTypeId": 2, "entityId": 4, "activityId": 8, "id": "confirm"}
    response = sandbox.control("timeline-action", {"data": data, "user_id": 2})
    assert response.status_code == 200 and len(response.json()["deliveries"]) == 1
    received = event_receiver.wait_for(1)[0]
    assert received.path == "/mine"
    parsed = php_parse_str(received.body)
    assert parsed["event"] == "ONCRMTIMELINEITEMACTION"
    assert parsed["data"] == {
        "myId": "123",
        "entityTypeId": "2",
        "entityId": "4",
        "activityId": "8",
        "id": "confirm",
    }
    assert parsed["auth"]["user_id"] == "2"


def test_event_test_fires_onapptest_with_refresh_token(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind(sandbox, "ONAPPTEST", event_receiver.url())
    assert sandbox.call("event.test", {"any": "thing"}).json()["result"] is True
    parsed = php_parse_str(event_receiver.wait_for(1)[0].body)
    assert parsed["data"] == {"any": "thing"} and "refresh_token" in parsed["auth"]


def second_app(sandbox: RunningSandbox) -> InstalledApp:
    """Register and add another app on the demo portal."""
    registration = AppRegistration(
        client_id="local.other.app", client_secret="s2", base_url="http://other.example.com"
    )
    sandbox.state.registrations[registration.client_id] = registration
    return add_app(sandbox.state, sandbox.portal, registration.client_id)


def test_event_loops_stop_after_the_session_ttl(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind(sandbox, "ONCRMACTIVITYUPDATE", event_receiver.url())
    token = sandbox.token()
    # the handler answers each event by changing the item again with the event's token
    for hop in range(1, 9):
        emit(sandbox, "ONCRMACTIVITYUPDATE", {"FIELDS": {"ID": 1}}, token=token)
        delivery = sandbox.wait_for_deliveries(hop)[-1]
        if delivery.error == "CYCLIC_CALL_LIMIT":
            break
        token = php_parse_str(event_receiver.wait_for(hop)[-1].body)["auth"]["access_token"]
    assert hop == 7 and len(event_receiver.requests) == 6
