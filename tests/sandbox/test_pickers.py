"""user.search and crm.item.list as the pickers ask for them (docs user-search.md, crm-item-list.md)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from test_crm_support import add_todo, fails, ok

from sandbox.state import User
from sandbox.testing import RunningSandbox


def search(sandbox: RunningSandbox, flt: dict[str, Any], user_id: int = 1, **more: Any) -> requests.Response:
    return sandbox.call("user.search", {"FILTER": flt, **more}, token=sandbox.token(user_id))


def names(response: requests.Response) -> list[str]:
    return [f"{u['NAME']} {u['LAST_NAME']}" for u in ok(response)]


@pytest.mark.parametrize(
    ("find", "found"),
    [
        ("jo", ["John Smith"]),
        ("SMI", ["John Smith"]),
        ("john smith", ["John Smith"]),
        ("smith john", ["John Smith"]),  # every word starts some word, in any order
        ("ohn", []),  # the portal searches from the start of a word (fulltext, or LIKE "Text%")
        ("sales", ["John Smith", "Peter Brown", "Olga Petrova", "Ivan Sidorov"]),  # WORK_POSITION too
        ("nobody", []),
    ],
)
def test_find_searches_from_the_start_of_words(sandbox: RunningSandbox, find: str, found: list[str]) -> None:
    assert names(search(sandbox, {"FIND": find})) == found


def test_named_fields_and_active(sandbox: RunningSandbox) -> None:
    assert names(search(sandbox, {"LAST_NAME": "pet"})) == ["Olga Petrova"]
    assert names(search(sandbox, {"NAME": "olga", "LAST_NAME": "smith"})) == []
    sandbox.state.portals[sandbox.portal.member_id].users[2].active = False
    assert names(search(sandbox, {"FIND": "john", "ACTIVE": True})) == []
    assert names(search(sandbox, {"FIND": "john"})) == ["John Smith"]


def test_any_user_may_search_and_pages_hold_fifty(sandbox: RunningSandbox) -> None:
    body = search(sandbox, {"FIND": "i"}, user_id=5).json()  # "Who can execute the method: any user"
    assert body["total"] == len(body["result"]) == 2 and "next" not in body  # Maria Ivanova, Ivan Sidorov
    assert all(u["USER_TYPE"] == "employee" and "PERSONAL_PHOTO" not in u for u in body["result"])
    users = sandbox.state.portals[sandbox.portal.member_id].users
    for n in range(60):
        users[100 + n] = User(100 + n, f"Tester{n}", "Many", f"t{n}@example.com", photo="/upload/t.png")
    first = search(sandbox, {"FIND": "many"}).json()
    assert (len(first["result"]), first["total"], first["next"]) == (50, 60, 50)
    second = search(sandbox, {"FIND": "many"}, start=50).json()
    assert len(second["result"]) == 10 and "next" not in second
    assert second["result"][0]["PERSONAL_PHOTO"] == "/upload/t.png"


def items(sandbox: RunningSandbox, params: dict[str, Any], user_id: int = 1) -> requests.Response:
    return sandbox.call("crm.item.list", params, token=sandbox.token(user_id))


def titles(response: requests.Response, field: str = "title") -> list[Any]:
    return [row.get(field) for row in ok(response)["items"]]


def test_title_filter_select_and_order(sandbox: RunningSandbox) -> None:
    found = items(sandbox, {"entityTypeId": 2, "filter": {"%title": "acme"}, "select": ["id", "title"]})
    assert ok(found) == {"items": [{"id": 1, "entityTypeId": 2, "title": "Acme Logistics: annual support"}]}
    assert found.json()["total"] == 1
    every = items(sandbox, {"entityTypeId": 4, "select": ["id"], "order": {"id": "DESC"}})
    assert [row["id"] for row in ok(every)["items"]] == [3, 2, 1]


def test_contacts_by_name_with_or_groups(sandbox: RunningSandbox) -> None:
    flt = {"0": {"logic": "OR", "%name": "müll", "%lastName": "müll"}}
    found = items(sandbox, {"entityTypeId": 3, "filter": flt, "select": ["id", "name", "lastName"]})
    assert ok(found)["items"] == [{"id": 2, "entityTypeId": 3, "name": "Thomas", "lastName": "Müller"}]
    refused = fails(items(sandbox, {"entityTypeId": 3, "filter": {"%title": "x"}}), "INVALID_ARG_VALUE")
    assert refused["error_description"] == "Invalid filter: field 'TITLE' is not allowed in filter"


def test_field_names_in_either_case(sandbox: RunningSandbox) -> None:
    """convertFieldNamesToUpper: `title` and `TITLE`, `assignedById` and `ASSIGNED_BY_ID` name one field."""
    params = {"entityTypeId": 2, "filter": {"%TITLE": "gmbh", "ASSIGNED_BY_ID": 4}, "order": {"ID": "ASC"}}
    found = items(sandbox, {**params, "select": ["ID", "TITLE"]})
    assert ok(found)["items"] == [{"id": 2, "entityTypeId": 2, "title": "Nordwind GmbH: 40 licences"}]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, 100),
        ({"entityTypeId": 99}, "NOT_FOUND"),
        ({"entityTypeId": 2, "filter": {"%nope": "x"}}, "INVALID_ARG_VALUE"),
        ({"entityTypeId": 2, "order": {"title": "SIDEWAYS"}}, "INVALID_ARG_VALUE"),
        ({"entityTypeId": 2, "filter": "title"}, "INVALID_ARG_VALUE"),
    ],
)
def test_item_list_refusals(sandbox: RunningSandbox, params: dict[str, Any], code: Any) -> None:
    fails(items(sandbox, params), code)


def test_items_follow_the_users_read_rights(sandbox: RunningSandbox) -> None:
    assert titles(items(sandbox, {"entityTypeId": 2}, user_id=4)) == ["Nordwind GmbH: 40 licences"]  # own
    assert len(titles(items(sandbox, {"entityTypeId": 2}, user_id=2))) == 3  # all
    assert titles(items(sandbox, {"entityTypeId": 2}, user_id=5)) == []  # no CRM access: nothing readable


def test_binding_needs_the_right_on_each_item(sandbox: RunningSandbox) -> None:
    """Binding::addAction/moveAction check canUpdate per item (crm/lib/controller/activity/binding.php)."""
    todo_id = add_todo(sandbox)  # on deal 1, Maria's
    ok(sandbox.call("crm.activity.binding.add", {"activityId": todo_id, "entityTypeId": 2, "entityId": 2}))
    olga = sandbox.token(4)  # reads only the items assigned to her: deal 2 (and contact 2), not deal 3
    add = {"activityId": todo_id, "entityTypeId": 2, "entityId": 3}
    fails(sandbox.call("crm.activity.binding.add", add, token=olga), "ACCESS_DENIED")
    ok(sandbox.call("crm.activity.binding.add", {**add, "entityTypeId": 3, "entityId": 2}, token=olga))
    move = {"activityId": todo_id, "sourceEntityTypeId": 2, "sourceEntityId": 2, "targetEntityTypeId": 2}
    moved = sandbox.call("crm.activity.binding.move", {**move, "targetEntityId": 3}, token=olga)
    fails(moved, "ACCESS_DENIED")
