"""Helpers for the crm.activity.* tests (no tests here): calls, error checks, a second app, webhooks."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.apps import add_app
from sandbox.core import CallContext, RestError
from sandbox.dispatch import invoke, unpack
from sandbox.events import deliver_emitted
from sandbox.state import AppRegistration, InstalledApp
from sandbox.testing import EventReceiver, RunningSandbox
from sandbox.tokens import issue_token

OTHER_CLIENT_ID = "local.other0000000000.00000000"
CALL_FIELDS: dict[str, Any] = {
    "OWNER_TYPE_ID": 2,
    "OWNER_ID": 1,
    "TYPE_ID": 2,
    "SUBJECT": "Call the client",
    "RESPONSIBLE_ID": 1,
    "COMMUNICATIONS": [{"VALUE": "+18005551234", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}],
    "START_TIME": "2024-07-18T11:00:00+02:00",
    "END_TIME": "2024-07-18T11:30:00+02:00",
}
REST_APP_FIELDS: dict[str, Any] = {
    "OWNER_TYPE_ID": 2,
    "OWNER_ID": 1,
    "PROVIDER_ID": "REST_APP",
    "PROVIDER_TYPE_ID": "LINK",
    "SUBJECT": "New activity",
    "COMPLETED": "N",
    "RESPONSIBLE_ID": 1,
    "DESCRIPTION": "Description of the new activity",
}
BLOCKS_LAYOUT: dict[str, Any] = {"blocks": {"b1": {"type": "text", "properties": {"value": "Hello"}}}}
CONFIGURABLE_LAYOUT: dict[str, Any] = {
    "icon": {"code": "call-completed"},
    "header": {"title": "Incoming Call"},
    "body": {
        "logo": {"code": "call-incoming"},
        "blocks": {"t": {"type": "text", "properties": {"value": "x"}}},
    },
    "footer": {
        "buttons": {
            "confirm": {
                "title": "Confirm",
                "type": "primary",
                "action": {"type": "restEvent", "id": "confirm", "actionParams": {"myId": 123}},
            }
        }
    },
}


def ok(response: requests.Response) -> Any:
    """Return `result` of a successful call."""
    assert response.status_code == 200, response.text
    return response.json()["result"]


def fails(response: requests.Response, code: Any, status: int = 400) -> dict[str, Any]:
    """Assert an error envelope with this code and status (notes §5.3: no result, no time)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    assert "result" not in body and "time" not in body
    return body


def add_activity(sandbox: RunningSandbox, token: str | None = None, **fields: Any) -> int:
    """Create a call (or whatever `fields` override) through crm.activity.add."""
    return int(ok(sandbox.call("crm.activity.add", {"fields": {**CALL_FIELDS, **fields}}, token=token)))


def add_rest_app_activity(sandbox: RunningSandbox, token: str | None = None, **fields: Any) -> int:
    payload = {"fields": {**REST_APP_FIELDS, **fields}}
    return int(ok(sandbox.call("crm.activity.add", payload, token=token)))


def add_todo(sandbox: RunningSandbox, **params: Any) -> int:
    base = {"ownerTypeId": 2, "ownerId": 1, "deadline": "2025-02-03T15:00:00+00:00", "title": "To-do"}
    return int(ok(sandbox.call("crm.activity.todo.add", {**base, **params}))["id"])


def other_app(sandbox: RunningSandbox) -> InstalledApp:
    """Install a second app on the demo portal (another client_id)."""
    state = sandbox.state
    with state.lock:
        state.registrations[OTHER_CLIENT_ID] = AppRegistration(
            client_id=OTHER_CLIENT_ID, client_secret="other-secret", base_url="http://127.0.0.1:9"
        )
        app = add_app(state, sandbox.portal, OTHER_CLIENT_ID)
        app.installed = True
    return app


def other_token(sandbox: RunningSandbox, user_id: int = 1) -> str:
    app = other_app(sandbox)
    return issue_token(sandbox.state, sandbox.portal, app, user_id).access_token


def call_without_app(sandbox: RunningSandbox, method: str, params: dict[str, Any], user_id: int = 1) -> Any:
    """Run a method as a webhook would: no application context (the sandbox serves no webhook URL).

    Returns the result, or the RestError raised.
    """
    state, portal = sandbox.state, sandbox.portal
    with state.lock:
        ctx = CallContext(sandbox=state, portal=portal, user=portal.users[user_id], app=None)
        try:
            return unpack(invoke(ctx, method, params))[0]
        except RestError as error:
            return error
        finally:
            deliver_emitted(ctx)


def bind(sandbox: RunningSandbox, receiver: EventReceiver, *events: str) -> None:
    """Bind the test app's handlers for these events to the receiver."""
    for event in events:
        ok(sandbox.call("event.bind", {"event": event, "handler": receiver.url()}))


def received_events(receiver: EventReceiver, n: int) -> list[tuple[str, str]]:
    """Wait for n deliveries; return (event, data[FIELDS][ID]) pairs in arrival order."""
    return [(r.form["event"], r.form.get("data[FIELDS][ID]", "")) for r in receiver.wait_for(n)]
