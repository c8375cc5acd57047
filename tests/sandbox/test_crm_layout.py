"""Layout blocks (notes §6.1/§6.2), configurable activities (§6.3) and restEvent clicks (§3.6) over HTTP."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_crm_support import (
    BLOCKS_LAYOUT,
    CONFIGURABLE_LAYOUT,
    add_activity,
    add_rest_app_activity,
    add_todo,
    bind,
    call_without_app,
    fails,
    ok,
    other_app,
    other_token,
)

from sandbox.apps import uninstall_app
from sandbox.core import RestError
from sandbox.crm.configurable import emit_rest_event
from sandbox.crm.layout_schema import LayoutError, validate_blocks_layout, validate_layout
from sandbox.testing import EventReceiver, RunningSandbox

CORPUS = json.loads((Path(__file__).parent / "layout_corpus.json").read_text(encoding="utf-8"))
LANGS = ("en", "ru", "de")


def blocks_params(activity_id: int, **extra: Any) -> dict[str, Any]:
    return {"entityTypeId": 2, "entityId": 1, "activityId": activity_id, **extra}


def configurable_params(**extra: Any) -> dict[str, Any]:
    return {"ownerTypeId": 2, "ownerId": 1, "fields": {}, "layout": CONFIGURABLE_LAYOUT, **extra}


# --- the corpus ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", CORPUS, ids=[e["name"] for e in CORPUS])
def test_layout_corpus_against_the_schema(entry: dict[str, Any]) -> None:
    validate = validate_blocks_layout if entry["kind"] == "blocks" else validate_layout
    if entry["valid"]:
        validate(entry["layout"], LANGS)
        return
    with pytest.raises(LayoutError) as caught:
        validate(entry["layout"], LANGS)
    assert caught.value.code == entry["error"]


def test_layout_corpus_over_http(sandbox: RunningSandbox) -> None:
    """Every blocks entry through crm.activity.layout.blocks.set: success or the first error, HTTP 400."""
    sandbox.configure(limits_enabled=False)
    todo_id = add_todo(sandbox)
    for entry in (e for e in CORPUS if e["kind"] == "blocks"):
        response = sandbox.call(
            "crm.activity.layout.blocks.set", blocks_params(todo_id, layout=entry["layout"])
        )
        if entry["valid"]:
            assert ok(response) == {"success": True}, entry["name"]
        else:
            assert fails(response, entry["error"])["error_description"], entry["name"]


def test_configurable_corpus_over_http(sandbox: RunningSandbox) -> None:
    sandbox.configure(limits_enabled=False)
    for entry in (e for e in CORPUS if e["kind"] == "configurable"):
        response = sandbox.call("crm.activity.configurable.add", configurable_params(layout=entry["layout"]))
        if entry["valid"]:
            assert ok(response)["activity"]["id"], entry["name"]
        else:
            fails(response, entry["error"])


def test_error_names_the_field_and_its_parent() -> None:
    with pytest.raises(LayoutError) as caught:
        validate_blocks_layout({"blocks": {"b1": {"type": "text", "properties": {}}}}, LANGS)
    assert (caught.value.field, caught.value.parent) == ("value", "layout.blocks.b1.properties")


def test_normalises_wire_forms() -> None:
    layout = {
        "blocks": [
            {"type": "text", "properties": {"value": "x", "bold": "Y"}},
            {
                "type": "link",
                "properties": {
                    "text": "t",
                    "action": {"type": "restEvent", "id": 7, "actionParams": {"n": 1}},
                },
            },
        ]
    }
    result = validate_blocks_layout(layout, LANGS)
    assert result["blocks"]["0"]["properties"]["bold"] is True
    assert result["blocks"]["1"]["properties"]["action"] == {
        "type": "restEvent",
        "id": "7",
        "actionParams": {"n": "1"},
    }


# --- crm.activity.layout.blocks.* ---------------------------------------------------------------------------


def test_blocks_set_get_delete_per_app(sandbox: RunningSandbox) -> None:
    activity_id = add_activity(sandbox)
    assert ok(sandbox.call("crm.activity.layout.blocks.get", blocks_params(activity_id))) == {"layout": None}
    assert ok(
        sandbox.call("crm.activity.layout.blocks.set", blocks_params(activity_id, layout=BLOCKS_LAYOUT))
    )
    other = other_token(sandbox)
    other_layout = {"blocks": {"o": {"type": "largeText", "properties": {"value": "other"}}}}
    ok(
        sandbox.call(
            "crm.activity.layout.blocks.set", blocks_params(activity_id, layout=other_layout), token=other
        )
    )
    assert ok(sandbox.call("crm.activity.layout.blocks.get", blocks_params(activity_id))) == {
        "layout": BLOCKS_LAYOUT
    }
    sets = sandbox.portal.crm.blocks_of(activity_id)
    assert list(sets) == [sandbox.app.client_id, other_app(sandbox).client_id]  # display order = order added
    replaced = {"blocks": {"n": {"type": "deadline"}}}
    ok(sandbox.call("crm.activity.layout.blocks.set", blocks_params(activity_id, layout=replaced)))
    got = ok(sandbox.call("crm.activity.layout.blocks.get", blocks_params(activity_id)))["layout"]
    assert list(got["blocks"]) == ["n"]
    assert ok(sandbox.call("crm.activity.layout.blocks.delete", blocks_params(activity_id))) == {
        "success": True
    }
    fails(sandbox.call("crm.activity.layout.blocks.delete", blocks_params(activity_id)), "NOT_FOUND")
    assert ok(sandbox.call("crm.activity.layout.blocks.get", blocks_params(activity_id), token=other))[
        "layout"
    ]


def test_blocks_on_any_bound_owner(sandbox: RunningSandbox) -> None:
    activity_id = add_activity(sandbox)  # bound to deal 1 and contact 1
    params = {"entityTypeId": 3, "entityId": 1, "activityId": activity_id, "layout": BLOCKS_LAYOUT}
    assert ok(sandbox.call("crm.activity.layout.blocks.set", params))


@pytest.mark.parametrize("method", ["set", "get", "delete"])
def test_blocks_lookup_errors(sandbox: RunningSandbox, method: str) -> None:
    activity_id = add_todo(sandbox)
    name = f"crm.activity.layout.blocks.{method}"
    extra = {"layout": BLOCKS_LAYOUT} if method == "set" else {}
    fails(sandbox.call(name, {"entityTypeId": 2, "activityId": activity_id, **extra}), 100)
    fails(
        sandbox.call(name, {"entityTypeId": 2, "entityId": 999, "activityId": activity_id, **extra}),
        "OWNER_NOT_FOUND",
    )
    fails(sandbox.call(name, blocks_params(99999, **extra)), "NOT_FOUND")
    fails(
        sandbox.call(name, {"entityTypeId": 2, "entityId": 2, "activityId": activity_id, **extra}),
        "NOT_FOUND",
    )
    error = call_without_app(sandbox, name, blocks_params(activity_id, **extra))
    assert isinstance(error, RestError) and (error.code, error.status) == ("ERROR_WRONG_CONTEXT", 400)


@pytest.mark.parametrize("method", ["set", "delete"])
def test_blocks_changes_need_update_permission(sandbox: RunningSandbox, method: str) -> None:
    activity_id = add_todo(sandbox)
    ok(sandbox.call("crm.activity.layout.blocks.set", blocks_params(activity_id, layout=BLOCKS_LAYOUT)))
    extra = {"layout": BLOCKS_LAYOUT} if method == "set" else {}
    response = sandbox.call(
        f"crm.activity.layout.blocks.{method}", blocks_params(activity_id, **extra), token=sandbox.token(3)
    )
    fails(response, "ACCESS_DENIED")
    assert ok(
        sandbox.call("crm.activity.layout.blocks.get", blocks_params(activity_id), token=sandbox.token(3))
    )


def test_blocks_set_needs_a_layout(sandbox: RunningSandbox) -> None:
    activity_id = add_todo(sandbox)
    fails(sandbox.call("crm.activity.layout.blocks.set", blocks_params(activity_id)), 100)
    fails(
        sandbox.call("crm.activity.layout.blocks.set", blocks_params(activity_id, layout={})),
        "FIELD_IS_REQUIRED",
    )


def test_no_blocks_on_configurable_activities(sandbox: RunningSandbox) -> None:
    activity_id = ok(sandbox.call("crm.activity.configurable.add", configurable_params()))["activity"]["id"]
    response = sandbox.call(
        "crm.activity.layout.blocks.set", blocks_params(activity_id, layout=BLOCKS_LAYOUT)
    )
    fails(response, "UNSUITABLE_ACTIVITY_TYPE_ERROR")


def test_rest_app_activities_take_blocks_only_when_switched_on(sandbox: RunningSandbox) -> None:
    activity_id = add_rest_app_activity(sandbox)
    params = blocks_params(activity_id, layout=BLOCKS_LAYOUT)
    fails(
        sandbox.call("crm.activity.layout.blocks.set", params), "UNSUITABLE_ACTIVITY_TYPE_ERROR"
    )  # notes §9.10
    sandbox.configure(rest_app_blocks_allowed=True)
    assert ok(sandbox.call("crm.activity.layout.blocks.set", params)) == {"success": True}


def test_uninstalling_an_app_drops_its_block_sets(sandbox: RunningSandbox) -> None:
    activity_id = add_todo(sandbox)
    ok(sandbox.call("crm.activity.layout.blocks.set", blocks_params(activity_id, layout=BLOCKS_LAYOUT)))
    uninstall_app(sandbox.state, sandbox.portal)
    assert sandbox.portal.crm.blocks_of(activity_id) == {}


# --- crm.activity.configurable.* ----------------------------------------------------------------------------


def test_configurable_add_get_update(sandbox: RunningSandbox) -> None:
    ok(sandbox.call("crm.activity.type.add", {"fields": {"TYPE_ID": "PAYMENT", "IS_CONFIGURABLE_TYPE": "Y"}}))
    fields = {"typeId": "PAYMENT", "deadline": "2025-02-01T01:00:00+03:00", "pingOffsets": [60, 300]}
    fields |= {
        "responsibleId": 2,
        "badgeCode": "paid",
        "originatorId": "erp",
        "originId": "42",
        "completed": "N",
    }
    activity_id = ok(sandbox.call("crm.activity.configurable.add", configurable_params(fields=fields)))[
        "activity"
    ]["id"]
    got = ok(sandbox.call("crm.activity.configurable.get", {"id": activity_id}))["activity"]
    assert (got["id"], got["ownerTypeId"], got["ownerId"]) == (activity_id, 2, 1)
    assert got["fields"] == {
        "typeId": "PAYMENT",
        "completed": False,
        "deadline": "2025-01-31T22:00:00+00:00",
        "pingOffsets": [60, 300],
        "isIncomingChannel": False,
        "responsibleId": 2,
        "badgeCode": "paid",
        "originatorId": "erp",
        "originId": "42",
    }
    assert got["layout"]["footer"]["buttons"]["confirm"]["action"]["actionParams"] == {"myId": "123"}
    record = ok(sandbox.call("crm.activity.get", {"id": activity_id}))
    assert (record["PROVIDER_ID"], record["PROVIDER_TYPE_ID"], record["SUBJECT"]) == (
        "CONFIGURABLE_REST_APP",
        "PAYMENT",
        "Incoming Call",
    )
    layout = {**CONFIGURABLE_LAYOUT, "header": {"title": {"de": "Anruf", "en": "Call"}}}
    update = {"id": activity_id, "fields": {"completed": True}, "layout": layout}
    assert ok(sandbox.call("crm.activity.configurable.update", update)) == {"activity": {"id": activity_id}}
    got = ok(sandbox.call("crm.activity.configurable.get", {"id": activity_id}))["activity"]
    assert got["fields"]["completed"] is True and got["fields"]["typeId"] == "PAYMENT"
    assert ok(sandbox.call("crm.activity.get", {"id": activity_id}))["SUBJECT"] == "Call"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"ownerTypeId": None}, 100),
        ({"fields": None}, 100),
        ({"layout": None}, "ERROR_EMPTY_LAYOUT"),
        ({"layout": {}}, "ERROR_EMPTY_LAYOUT"),
        ({"ownerId": 999}, "NOT_FOUND"),
        ({"fields": {"typeId": "UNKNOWN"}}, "WRONG_FIELD_VALUE"),
        ({"fields": {"completed": "maybe"}}, "WRONG_FIELD_VALUE"),
        ({"fields": {"deadline": "soon"}}, "WRONG_FIELD_VALUE"),
        ({"fields": {"responsibleId": 99}}, "WRONG_FIELD_VALUE"),
        ({"fields": {"pingOffsets": ["x"]}}, "WRONG_FIELD_VALUE"),
        ({"fields": "x"}, "WRONG_FIELD_VALUE"),
        (
            {"fields": {"isIncomingChannel": "Y", "deadline": "2025-01-01T10:00:00+00:00"}},
            "INCOMING_ACTIVITY_CAN_NOT_BE_WITH_DEADLINE",
        ),
        ({"layout": {**CONFIGURABLE_LAYOUT, "icon": {}}}, "FIELD_IS_REQUIRED"),
    ],
)
def test_configurable_add_errors(sandbox: RunningSandbox, params: dict[str, Any], code: Any) -> None:
    payload = {k: v for k, v in configurable_params(**params).items() if v is not None}
    fails(sandbox.call("crm.activity.configurable.add", payload), code)


def test_configurable_type_must_be_a_configurable_type_of_this_app(sandbox: RunningSandbox) -> None:
    ok(sandbox.call("crm.activity.type.add", {"fields": {"TYPE_ID": "PLAIN", "IS_CONFIGURABLE_TYPE": "N"}}))
    response = sandbox.call("crm.activity.configurable.add", configurable_params(fields={"typeId": "PLAIN"}))
    fails(response, "WRONG_FIELD_VALUE")


def test_configurable_permissions_and_context(sandbox: RunningSandbox) -> None:
    fails(
        sandbox.call("crm.activity.configurable.add", configurable_params(), token=sandbox.token(3)),
        "ACCESS_DENIED",
    )
    error = call_without_app(sandbox, "crm.activity.configurable.add", configurable_params())
    assert isinstance(error, RestError) and error.code == "ERROR_WRONG_CONTEXT"
    activity_id = ok(sandbox.call("crm.activity.configurable.add", configurable_params()))["activity"]["id"]
    update = {"id": activity_id, "fields": {}, "layout": CONFIGURABLE_LAYOUT}
    fails(
        sandbox.call("crm.activity.configurable.update", update, token=other_token(sandbox)),
        "ERROR_WRONG_APPLICATION",
    )
    fails(sandbox.call("crm.activity.configurable.update", update, token=sandbox.token(3)), "ACCESS_DENIED")
    error = call_without_app(sandbox, "crm.activity.configurable.update", update)
    assert isinstance(error, RestError) and error.code == "ERROR_WRONG_CONTEXT"
    assert (
        call_without_app(sandbox, "crm.activity.configurable.get", {"id": activity_id})["activity"]["id"]
        == activity_id
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"id": None}, 100),
        ({"id": 99999}, "NOT_FOUND"),
        ({"layout": None}, "ERROR_EMPTY_LAYOUT"),
        ({"fields": None}, 100),
        (
            {"fields": {"isIncomingChannel": True, "deadline": "2025-01-01T10:00:00"}},
            "INCOMING_ACTIVITY_CAN_NOT_BE_WITH_DEADLINE",
        ),
    ],
)
def test_configurable_update_errors(sandbox: RunningSandbox, params: dict[str, Any], code: Any) -> None:
    activity_id = ok(sandbox.call("crm.activity.configurable.add", configurable_params()))["activity"]["id"]
    base = {"id": activity_id, "fields": {}, "layout": CONFIGURABLE_LAYOUT}
    payload = {k: v for k, v in {**base, **params}.items() if v is not None}
    fails(sandbox.call("crm.activity.configurable.update", payload), code)


def test_configurable_get_of_other_activities_is_not_found(sandbox: RunningSandbox) -> None:
    fails(sandbox.call("crm.activity.configurable.get", {"id": add_todo(sandbox)}), "NOT_FOUND")
    fails(sandbox.call("crm.activity.configurable.get", {}), 100)


# --- restEvent → ONCRMTIMELINEITEMACTION --------------------------------------------------------------------


def test_rest_event_reaches_the_creating_app_only(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind(sandbox, event_receiver, "ONCRMTIMELINEITEMACTION")
    other = other_token(sandbox)
    ok(
        sandbox.call(
            "event.bind",
            {"event": "ONCRMTIMELINEITEMACTION", "handler": event_receiver.url("/other")},
            token=other,
        )
    )
    layout = copy.deepcopy(CONFIGURABLE_LAYOUT)
    layout["footer"]["buttons"]["confirm"]["action"]["animationType"] = "loader"
    activity_id = ok(sandbox.call("crm.activity.configurable.add", configurable_params(layout=layout)))[
        "activity"
    ]["id"]
    sent = emit_rest_event(sandbox.state, sandbox.portal, activity_id, "confirm", user_id=1)
    assert [d.client_id for d in sent] == [sandbox.app.client_id]
    form = event_receiver.wait_for(1)[0].form
    assert form["event"] == "ONCRMTIMELINEITEMACTION"
    assert {k: form[f"data[{k}]"] for k in ("myId", "entityTypeId", "entityId", "activityId", "id")} == {
        "myId": "123",
        "entityTypeId": "2",
        "entityId": "1",
        "activityId": str(activity_id),
        "id": "confirm",
    }
    assert sandbox.portal.crm.activities[activity_id].locked  # notes §3.6: loader keeps it locked
    ok(sandbox.call("crm.activity.configurable.update", {"id": activity_id, "fields": {}, "layout": layout}))
    assert not sandbox.portal.crm.activities[activity_id].locked


def test_rest_event_in_a_block_set_goes_to_the_app_that_set_it(sandbox: RunningSandbox) -> None:
    activity_id = add_todo(sandbox)
    link = {"text": "Go", "action": {"type": "restEvent", "id": "go", "actionParams": {"k": "v"}}}
    layout = {"blocks": {"l": {"type": "link", "properties": link}}}
    ok(
        sandbox.call(
            "crm.activity.layout.blocks.set",
            blocks_params(activity_id, layout=layout),
            token=other_token(sandbox),
        )
    )
    with sandbox.state.lock:
        app = other_app(sandbox)
        app.events.append(
            {
                "id": 900,
                "event": "ONCRMTIMELINEITEMACTION",
                "handler": "http://127.0.0.1:9/x",
                "auth_type": 0,
                "event_type": "online",
                "user_id": 1,
            }
        )
    sent = emit_rest_event(sandbox.state, sandbox.portal, activity_id, "go", user_id=1, entity=(2, 1))
    assert [d.client_id for d in sent] == [app.client_id]
    with pytest.raises(LookupError):
        emit_rest_event(sandbox.state, sandbox.portal, activity_id, "missing", user_id=1)


# --- properties ---------------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
TEXT_BLOCK = st.builds(
    lambda value, bold: {"type": "text", "properties": {"value": value, "bold": bold}},
    st.text(min_size=1, max_size=8) | st.fixed_dictionaries({"en": st.text(max_size=5)}),
    st.booleans(),
)
VALID_BLOCKS = st.dictionaries(
    st.from_regex(r"[a-zA-Z0-9_-]{1,8}", fullmatch=True), TEXT_BLOCK, min_size=1, max_size=20
)


@settings(max_examples=200, deadline=None)
@given(layout=JSON)
def test_any_json_is_either_valid_or_a_layout_error(layout: Any) -> None:
    """Bad input is a coded 400, never a crash (product bar: "never a 500")."""
    for validate in (validate_blocks_layout, validate_layout):
        try:
            validate(layout, LANGS)
        except LayoutError as error:
            assert error.rest_error().status == 400


@settings(max_examples=100, deadline=None)
@given(blocks=VALID_BLOCKS)
def test_valid_layouts_normalise_to_a_fixed_point(blocks: dict[str, Any]) -> None:
    once = validate_blocks_layout({"blocks": blocks}, LANGS)
    assert validate_blocks_layout(once, LANGS) == once
    assert list(once["blocks"]) == list(blocks)


def subtrees(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    return [path] + [p for key, child in children for p in subtrees(child, (*path, key))]


def replaced(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copied = copy.copy(node)
    copied[path[0]] = replaced(node[path[0]], path[1:], value)
    return copied


VALID = [e for e in CORPUS if e["valid"]]


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_mutated_valid_layouts_fail_cleanly(data: st.DataObject) -> None:
    """Swap any subtree of a valid layout for arbitrary JSON: a LayoutError or a pass, never a crash."""
    entry = data.draw(st.sampled_from(VALID))
    path = data.draw(st.sampled_from(subtrees(entry["layout"])))
    layout = replaced(entry["layout"], path, data.draw(JSON))
    validate = validate_blocks_layout if entry["kind"] == "blocks" else validate_layout
    try:
        validate(layout, LANGS)
    except LayoutError as error:
        assert error.code in {
            "FIELD_IS_REQUIRED",
            "FIELD_IS_REDUNDANT",
            "WRONG_FIELD_VALUE",
            "ENUM_FIELD",
            "TOO_MANY_ITEMS",
            "KEY_CONTAIN_WRONG_SYMBOLS",
            "WRONG_LANG",
        }
