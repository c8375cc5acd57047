"""crm.activity.todo.*: universal activities and their coded errors (docs activities/todo/*)."""

from __future__ import annotations

from typing import Any

import pytest
from test_crm_support import add_activity, add_todo, bind, fails, ok, received_events

from sandbox.testing import EventReceiver, RunningSandbox

OWNER = {"ownerTypeId": 2, "ownerId": 1}
# method → (params besides id/owner, the stored change to check)
UPDATES: dict[str, dict[str, Any]] = {
    "crm.activity.todo.update": {"deadline": "2025-03-01T10:00:00+00:00", "title": "New title"},
    "crm.activity.todo.updateColor": {"colorId": "7"},
    "crm.activity.todo.updateDeadline": {"value": "2025-03-01T10:00:00+00:00"},
    "crm.activity.todo.updateDescription": {"value": "New description"},
    "crm.activity.todo.updateResponsibleUser": {"responsibleId": 2},
}
COMPLETED_CODES = {
    "crm.activity.todo.update": "CAN_NOT_UPDATE_COMPLETED_TODO",
    "crm.activity.todo.updateColor": "CAN_NOT_UPDATE_COLOR_COMPLETED_TODO",
    "crm.activity.todo.updateDeadline": "CAN_NOT_UPDATE_COMPLETED_TODO",
    "crm.activity.todo.updateDescription": "CAN_NOT_UPDATE_COMPLETED_TODO",
    "crm.activity.todo.updateResponsibleUser": "CAN_NOT_UPDATE_RESPONSIBLE_USER_COMPLETED_TODO",
}


def test_add_creates_a_crm_todo(sandbox: RunningSandbox) -> None:
    todo_id = add_todo(sandbox, description="Call back", responsibleId=2, pingOffsets=[0, 15], colorId="2")
    record = ok(sandbox.call("crm.activity.get", {"id": todo_id}))
    assert (record["PROVIDER_ID"], record["PROVIDER_TYPE_ID"], record["TYPE_ID"]) == ("CRM_TODO", "TODO", "6")
    assert (record["SUBJECT"], record["DESCRIPTION"], record["RESPONSIBLE_ID"]) == ("To-do", "Call back", "2")
    assert record["DEADLINE"] == "2025-02-03T15:00:00+00:00"
    stored = sandbox.portal.crm.activities[todo_id]
    assert (stored.color_id, stored.ping_offsets) == ("2", [0, 15])


def test_add_defaults_to_the_calling_user_and_no_colour(sandbox: RunningSandbox) -> None:
    todo_id = add_todo(sandbox, title=None)
    stored = sandbox.portal.crm.activities[todo_id]
    assert (stored.field("RESPONSIBLE_ID"), stored.field("SUBJECT"), stored.color_id) == (1, "", None)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"ownerTypeId": None}, 100),
        ({"ownerId": "x"}, 100),
        ({"deadline": None}, 100),
        ({"deadline": "tomorrow"}, "WRONG_DATETIME_FORMAT"),
        ({"ownerId": 999}, "OWNER_NOT_FOUND"),
        ({"parentActivityId": 99999}, "NOT_FOUND"),
        ({"responsibleId": 999}, "NOT_FOUND"),
        ({"colorId": "8"}, "CAN_NOT_UPDATE_WRONG_COLOR_TODO"),
        ({"pingOffsets": ["soon"]}, "INVALID_ARG_VALUE"),
    ],
)
def test_add_errors(sandbox: RunningSandbox, params: dict[str, Any], code: Any) -> None:
    base = {**OWNER, "deadline": "2025-02-03T15:00:00+00:00"}
    payload = {k: v for k, v in {**base, **params}.items() if v is not None}
    fails(sandbox.call("crm.activity.todo.add", payload), code)


def test_add_without_crm_rights_is_access_denied(sandbox: RunningSandbox) -> None:
    payload = {**OWNER, "deadline": "2025-02-03T15:00:00+00:00"}
    fails(sandbox.call("crm.activity.todo.add", payload, token=sandbox.token(3)), "ACCESS_DENIED")


@pytest.mark.parametrize("method", list(UPDATES))
def test_each_update_returns_the_id_and_emits_an_update(
    sandbox: RunningSandbox, event_receiver: EventReceiver, method: str
) -> None:
    todo_id = add_todo(sandbox)
    bind(sandbox, event_receiver, "ONCRMACTIVITYUPDATE")
    assert ok(sandbox.call(method, {"id": todo_id, **OWNER, **UPDATES[method]})) == {"id": todo_id}
    assert received_events(event_receiver, 1) == [("ONCRMACTIVITYUPDATE", str(todo_id))]


def test_update_values_land_in_the_activity(sandbox: RunningSandbox) -> None:
    todo_id = add_todo(sandbox)
    for method, params in UPDATES.items():
        ok(sandbox.call(method, {"id": todo_id, **OWNER, **params}))
    record = ok(sandbox.call("crm.activity.get", {"id": todo_id}))
    assert (record["SUBJECT"], record["DESCRIPTION"], record["RESPONSIBLE_ID"]) == (
        "New title",
        "New description",
        "2",
    )
    assert record["DEADLINE"] == "2025-03-01T10:00:00+00:00"
    assert sandbox.portal.crm.activities[todo_id].color_id == "7"


def test_update_with_parent_and_pings(sandbox: RunningSandbox) -> None:
    parent, todo_id = add_todo(sandbox), add_todo(sandbox)
    params = {
        "id": todo_id,
        **OWNER,
        "deadline": "2025-03-01T10:00:00",
        "parentActivityId": parent,
        "pingOffsets": [30],
    }
    ok(sandbox.call("crm.activity.todo.update", params))
    stored = sandbox.portal.crm.activities[todo_id]
    assert (stored.parent_id, stored.ping_offsets) == (parent, [30])
    sandbox.portal.crm.activities[parent].set_completed(True)  # docs todo.update: a closed parent
    body = fails(sandbox.call("crm.activity.todo.update", params), "ERROR_PARENT_ACTIVITY_RESTRICT")
    assert body["error_description"] == "Cannot schedule a deal for a closed deal"


@pytest.mark.parametrize("method", list(UPDATES))
def test_updates_share_the_lookup_errors(sandbox: RunningSandbox, method: str) -> None:
    todo_id, call_id = add_todo(sandbox), add_activity(sandbox)
    params = UPDATES[method]
    fails(sandbox.call(method, {**OWNER, **params}), 100)
    fails(sandbox.call(method, {"id": todo_id, **OWNER}), 100)
    fails(
        sandbox.call(method, {"id": todo_id, "ownerTypeId": 2, "ownerId": 999, **params}), "OWNER_NOT_FOUND"
    )
    fails(sandbox.call(method, {"id": 99999, **OWNER, **params}), "NOT_FOUND")
    fails(sandbox.call(method, {"id": call_id, **OWNER, **params}), "NOT_FOUND")  # not a to-do
    fails(
        sandbox.call(method, {"id": todo_id, "ownerTypeId": 2, "ownerId": 2, **params}), "NOT_FOUND"
    )  # not bound
    token = sandbox.token(3)
    fails(sandbox.call(method, {"id": todo_id, **OWNER, **params}, token=token), "ACCESS_DENIED")


@pytest.mark.parametrize("method", list(UPDATES))
def test_a_completed_todo_cannot_change(sandbox: RunningSandbox, method: str) -> None:
    todo_id = add_todo(sandbox)
    ok(sandbox.call("crm.activity.update", {"id": todo_id, "fields": {"COMPLETED": "Y"}}))
    fails(sandbox.call(method, {"id": todo_id, **OWNER, **UPDATES[method]}), COMPLETED_CODES[method])


@pytest.mark.parametrize("color", ["0", "8", "red", "-1"])
def test_update_color_accepts_one_to_seven_only(sandbox: RunningSandbox, color: str) -> None:
    todo_id = add_todo(sandbox)
    params = {"id": todo_id, **OWNER, "colorId": color}
    fails(sandbox.call("crm.activity.todo.updateColor", params), "CAN_NOT_UPDATE_WRONG_COLOR_TODO")


@pytest.mark.parametrize("method", ["crm.activity.todo.update", "crm.activity.todo.updateDeadline"])
def test_deadline_must_be_a_date(sandbox: RunningSandbox, method: str) -> None:
    todo_id = add_todo(sandbox)
    key = "deadline" if method.endswith("update") else "value"
    fails(sandbox.call(method, {"id": todo_id, **OWNER, key: "31/02/2025"}), "WRONG_DATETIME_FORMAT")


@pytest.mark.parametrize(
    ("responsible", "code"), [(0, "INVALID_ARG_VALUE"), (-4, "INVALID_ARG_VALUE"), (99, "NOT_FOUND")]
)
def test_update_responsible_user_checks_the_user(
    sandbox: RunningSandbox, responsible: int, code: str
) -> None:
    todo_id = add_todo(sandbox)
    params = {"id": todo_id, **OWNER, "responsibleId": responsible}
    body = fails(sandbox.call("crm.activity.todo.updateResponsibleUser", params), code)
    if code == "INVALID_ARG_VALUE":
        assert body["error_description"] == 'Parameter "responsibleId" must be greater than 0'
