"""crm.activity.binding.add / move / list / delete (docs activities/binding/*)."""

from __future__ import annotations

from typing import Any

import pytest
from test_crm_support import add_todo, bind, fails, ok, received_events

from sandbox.crm.store import MAX_BINDINGS
from sandbox.state import Owner
from sandbox.testing import EventReceiver, RunningSandbox


def bindings(sandbox: RunningSandbox, activity_id: int) -> list[tuple[int, int]]:
    rows = ok(sandbox.call("crm.activity.binding.list", {"activityId": activity_id}))
    return [(row["entityTypeId"], row["entityId"]) for row in rows]


def test_add_list_move_delete(sandbox: RunningSandbox, event_receiver: EventReceiver) -> None:
    todo_id = add_todo(sandbox)
    bind(sandbox, event_receiver, "ONCRMACTIVITYUPDATE")
    assert ok(
        sandbox.call("crm.activity.binding.add", {"activityId": todo_id, "entityTypeId": 3, "entityId": 2})
    )
    assert bindings(sandbox, todo_id) == [(2, 1), (3, 2)]
    move = {"activityId": todo_id, "sourceEntityTypeId": 2, "sourceEntityId": 1}
    assert ok(
        sandbox.call("crm.activity.binding.move", {**move, "targetEntityTypeId": 2, "targetEntityId": 3})
    )
    assert bindings(sandbox, todo_id) == [(2, 3), (3, 2)]
    record = ok(sandbox.call("crm.activity.get", {"id": todo_id}))
    assert (record["OWNER_TYPE_ID"], record["OWNER_ID"]) == ("2", "3")  # the owner moved with its binding
    assert ok(
        sandbox.call("crm.activity.binding.delete", {"activityId": todo_id, "entityTypeId": 2, "entityId": 3})
    )
    assert bindings(sandbox, todo_id) == [(3, 2)]
    record = ok(sandbox.call("crm.activity.get", {"id": todo_id}))
    assert (record["OWNER_TYPE_ID"], record["OWNER_ID"]) == ("3", "2")
    assert received_events(event_receiver, 1)[0] == ("ONCRMACTIVITYUPDATE", str(todo_id))


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("crm.activity.binding.add", {"activityId": None, "entityTypeId": 3, "entityId": 1}, 100),
        ("crm.activity.binding.add", {"activityId": 99999, "entityTypeId": 3, "entityId": 1}, "NOT_FOUND"),
        ("crm.activity.binding.add", {"entityTypeId": 3, "entityId": 999}, "OWNER_NOT_FOUND"),
        ("crm.activity.binding.add", {"entityTypeId": 2, "entityId": 1}, "ACTIVITY_IS_ALREADY_BOUND"),
        ("crm.activity.binding.list", {"activityId": None}, 100),
        ("crm.activity.binding.list", {"activityId": 99999}, "NOT_FOUND"),
        ("crm.activity.binding.delete", {"entityTypeId": 2}, 100),
        ("crm.activity.binding.delete", {"activityId": 99999, "entityTypeId": 2, "entityId": 1}, "NOT_FOUND"),
        ("crm.activity.binding.delete", {"entityTypeId": 2, "entityId": 999}, "OWNER_NOT_FOUND"),
        ("crm.activity.binding.delete", {"entityTypeId": 2, "entityId": 2}, "BINDING_NOT_FOUND"),
        ("crm.activity.binding.delete", {"entityTypeId": 2, "entityId": 1}, "LAST_BINDING_CANNOT_BE_DELETED"),
    ],
)
def test_binding_errors(sandbox: RunningSandbox, method: str, params: dict[str, Any], code: Any) -> None:
    todo_id = add_todo(sandbox)
    payload = {k: v for k, v in {"activityId": todo_id, **params}.items() if v is not None}
    fails(sandbox.call(method, payload), code)


@pytest.mark.parametrize(
    ("source", "target", "code"),
    [
        ((2, 1), (3, 1), "SOURCE_AND_TARGET_ENTITY_TYPES_ARE_NOT_EQUAL"),
        ((2, 1), (2, 1), "SOURCE_AND_TARGET_ENTITY_ID_ARE_EQUAL_ERROR"),
        ((2, 1), (2, 999), "OWNER_NOT_FOUND"),
        ((2, 3), (2, 1), "BINDING_NOT_FOUND"),
        ((2, 1), (2, 2), "ACTIVITY_IS_ALREADY_BOUND"),
    ],
)
def test_move_errors(
    sandbox: RunningSandbox, source: tuple[int, int], target: tuple[int, int], code: str
) -> None:
    todo_id = add_todo(sandbox)
    sandbox.portal.crm.activities[todo_id].bindings.append((2, 2))
    params = {
        "activityId": todo_id,
        "sourceEntityTypeId": source[0],
        "sourceEntityId": source[1],
        "targetEntityTypeId": target[0],
        "targetEntityId": target[1],
    }
    fails(sandbox.call("crm.activity.binding.move", params), code)


def test_move_of_a_missing_activity(sandbox: RunningSandbox) -> None:
    params = {"activityId": 99999, "sourceEntityTypeId": 2, "sourceEntityId": 1}
    params |= {"targetEntityTypeId": 2, "targetEntityId": 2}
    assert fails(sandbox.call("crm.activity.binding.move", params), "NOT_FOUND")["error_description"] == (
        "Element not found"
    )
    fails(sandbox.call("crm.activity.binding.move", {"activityId": 1}), 100)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("crm.activity.binding.add", {"entityTypeId": 3, "entityId": 1}),
        ("crm.activity.binding.delete", {"entityTypeId": 3, "entityId": 1}),
        (
            "crm.activity.binding.move",
            {"sourceEntityTypeId": 2, "sourceEntityId": 1, "targetEntityTypeId": 2, "targetEntityId": 2},
        ),
    ],
)
def test_changes_need_crm_rights(sandbox: RunningSandbox, method: str, params: dict[str, Any]) -> None:
    todo_id = add_todo(sandbox)
    sandbox.portal.crm.activities[todo_id].bindings.append((3, 1))
    fails(sandbox.call(method, {"activityId": todo_id, **params}, token=sandbox.token(3)), "ACCESS_DENIED")
    assert ok(sandbox.call("crm.activity.binding.list", {"activityId": todo_id}, token=sandbox.token(3)))


def test_at_most_one_hundred_bindings(sandbox: RunningSandbox) -> None:
    todo_id = add_todo(sandbox)
    with sandbox.state.lock:
        for n in range(10, 10 + MAX_BINDINGS):
            sandbox.portal.owners[(3, n)] = Owner(3, n, f"Contact {n}")
        sandbox.portal.crm.activities[todo_id].bindings += [(3, n) for n in range(10, 9 + MAX_BINDINGS)]
    assert len(bindings(sandbox, todo_id)) == MAX_BINDINGS
    params = {"activityId": todo_id, "entityTypeId": 3, "entityId": 9 + MAX_BINDINGS}
    fails(sandbox.call("crm.activity.binding.add", params), "TOO_MANY_BINDINGS")
