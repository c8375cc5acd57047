"""Every crm.activity.* method round-trips through the client against the sandbox, with typed results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.bitrix24 import activities as api
from app.bitrix24.client import Client
from app.bitrix24.errors import (
    AccessDenied,
    ActivityAlreadyBound,
    CompletedTodo,
    InvalidParameter,
    LastBindingCannotBeDeleted,
    NotFound,
    UnsuitableActivityType,
)
from app.layout import LayoutBuilder
from app.portals.connections import client_for

DEAL, CONTACT = 2, 3
CALL = {
    "TYPE_ID": 2,
    "SUBJECT": "Call about the offer",
    "RESPONSIBLE_ID": 1,
    "COMMUNICATIONS": [{"VALUE": "+18005551234", "ENTITY_TYPE_ID": 3, "ENTITY_ID": 1}],
}


@pytest.fixture
def client(portal, sandbox) -> Client:
    sandbox.configure(limits_enabled=False)
    return client_for(portal)


@pytest.fixture
def deal(sandbox) -> int:
    return min(owner_id for type_id, owner_id in sandbox.portal.owners if type_id == DEAL)


def soon() -> datetime:
    return (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)


def test_add_get_update_list_delete(client: Client, deal: int) -> None:
    activity_id = client.run(api.add({**CALL, "OWNER_TYPE_ID": DEAL, "OWNER_ID": deal}))
    got = client.run(api.get(activity_id))
    assert (got.id, got.owner_id, got.subject, got.completed) == (activity_id, deal, CALL["SUBJECT"], False)
    assert client.run(api.update(activity_id, {"COMPLETED": True, "SUBJECT": "Called"}))
    assert client.run(api.get(activity_id)).completed is True
    page = client.run(api.list_(filter={"ID": activity_id}, select=["ID", "SUBJECT"]))
    assert [(a.id, a.subject) for a in page] == [(activity_id, "Called")]
    assert client.run(api.delete(activity_id))
    with pytest.raises(NotFound):
        client.run(api.get(activity_id))


def test_fields_and_communication_fields(client: Client) -> None:
    assert "SUBJECT" in client.run(api.fields())
    assert "VALUE" in client.run(api.communication_fields())


def test_todo_methods(client: Client, deal: int) -> None:
    todo_id = client.run(api.todo_add(DEAL, deal, deadline=soon(), title="Send the contract", color_id="2"))
    assert client.run(api.todo_update(todo_id, DEAL, deal, deadline=soon(), title="Send the signed contract"))
    assert client.run(api.todo_update_color(todo_id, DEAL, deal, 5))
    assert client.run(api.todo_update_deadline(todo_id, DEAL, deal, soon() + timedelta(days=2)))
    assert client.run(api.todo_update_description(todo_id, DEAL, deal, "Both copies"))
    assert client.run(api.todo_update_responsible_user(todo_id, DEAL, deal, 2))
    todo = client.run(api.get(todo_id))
    assert (todo.subject, todo.description, todo.responsible_id) == (
        "Send the signed contract",
        "Both copies",
        2,
    )
    client.run(api.update(todo_id, {"COMPLETED": "Y"}))
    with pytest.raises(CompletedTodo):
        client.run(api.todo_update_description(todo_id, DEAL, deal, "too late"))


def test_binding_methods_and_their_documented_errors(client: Client, deal: int, sandbox) -> None:
    other = max(owner_id for type_id, owner_id in sandbox.portal.owners if type_id == DEAL)
    todo_id = client.run(api.todo_add(DEAL, deal, deadline=soon(), title="Bound once"))
    assert client.run(api.binding_list(todo_id)) == [api.Binding(DEAL, deal)]
    with pytest.raises(ActivityAlreadyBound):
        client.run(api.binding_add(todo_id, DEAL, deal))
    with pytest.raises(LastBindingCannotBeDeleted):
        client.run(api.binding_delete(todo_id, DEAL, deal))
    assert client.run(api.binding_move(todo_id, api.Binding(DEAL, deal), api.Binding(DEAL, other)))
    assert client.run(api.binding_add(todo_id, CONTACT, 1))
    assert set(client.run(api.binding_list(todo_id))) == {api.Binding(DEAL, other), api.Binding(CONTACT, 1)}
    assert client.run(api.binding_delete(todo_id, CONTACT, 1))
    assert client.run(api.binding_list(todo_id)) == [api.Binding(DEAL, other)]


def test_type_methods(client: Client) -> None:
    assert client.run(api.type_add("TB_TEST", "Timeline Bridge test"))
    assert "TB_TEST" in [t.type_id for t in client.run(api.type_list())]
    assert client.run(api.type_delete("TB_TEST"))
    assert "TB_TEST" not in [t.type_id for t in client.run(api.type_list())]


def test_layout_block_methods(client: Client, deal: int) -> None:
    call_id = client.run(api.add({**CALL, "OWNER_TYPE_ID": DEAL, "OWNER_ID": deal}))
    layout = LayoutBuilder().text("status", "Paid in full", bold=True).build().to_wire()
    assert client.run(api.blocks_set(DEAL, deal, call_id, layout))
    assert client.run(api.blocks_get(DEAL, deal, call_id)) == layout
    assert client.run(api.blocks_delete(DEAL, deal, call_id))
    assert client.run(api.blocks_get(DEAL, deal, call_id)) is None
    with pytest.raises(NotFound):
        client.run(api.blocks_delete(DEAL, deal, call_id))


def test_rest_app_activities_take_no_blocks_by_default(client: Client, deal: int) -> None:
    app_activity = client.run(
        api.add(
            {
                "OWNER_TYPE_ID": DEAL,
                "OWNER_ID": deal,
                "PROVIDER_ID": "REST_APP",
                "PROVIDER_TYPE_ID": "TIMELINE_BRIDGE",
                "SUBJECT": "From the app",
                "RESPONSIBLE_ID": 1,
            }
        )
    )
    layout = LayoutBuilder().text("t", "x").build().to_wire()
    with pytest.raises(UnsuitableActivityType):
        client.run(api.blocks_set(DEAL, deal, app_activity, layout))


CONFIGURABLE = {
    "icon": {"code": "call-completed"},
    "header": {"title": "Invoice sent", "tags": {"paid": {"title": "Waiting", "type": "warning"}}},
    "body": {
        "logo": {"code": "call-incoming"},
        "blocks": {"amount": {"type": "text", "properties": {"value": "$120"}}},
    },
    "footer": {
        "buttons": {
            "done": {"title": "Mark done", "type": "primary", "action": {"type": "restEvent", "id": "done"}}
        }
    },
}


def test_configurable_methods(client: Client, deal: int) -> None:
    activity_id = client.run(api.configurable_add(DEAL, deal, CONFIGURABLE))
    assert activity_id > 0
    got = client.run(api.configurable_get(activity_id))
    assert got["layout"]["header"]["title"] == "Invoice sent"
    updated = {**CONFIGURABLE, "header": {"title": "Invoice paid"}}
    assert client.run(api.configurable_update(activity_id, updated)) == activity_id
    assert client.run(api.configurable_get(activity_id))["layout"]["header"]["title"] == "Invoice paid"


def test_badge_methods(client: Client) -> None:
    badge = client.run(
        api.badge_add("tbOverdue", "Payment", {"en": "Overdue", "ru": "Просрочено"}, "failure")
    )
    assert badge.code == "tbOverdue"
    assert client.run(api.badge_get("tbOverdue")).type == "failure"
    assert "tbOverdue" in [b.code for b in client.run(api.badge_list())]
    assert client.run(api.badge_delete("tbOverdue"))


def test_another_apps_activity_cannot_be_changed(client: Client, deal: int, sandbox) -> None:
    activity_id = client.run(
        api.add(
            {
                "OWNER_TYPE_ID": DEAL,
                "OWNER_ID": deal,
                "PROVIDER_ID": "REST_APP",
                "PROVIDER_TYPE_ID": "X",
                "SUBJECT": "ours",
                "RESPONSIBLE_ID": 1,
            }
        )
    )
    sandbox.state.portal().crm.activities[activity_id].client_id = "local.someone.else"
    with pytest.raises(AccessDenied, match="PROVIDER_ID"):
        client.run(api.delete(activity_id))


@pytest.mark.parametrize(
    ("build", "parameter"),
    [
        (lambda: api.get(0), "id"),
        (lambda: api.get("12a"), "id"),
        (lambda: api.get(True), "id"),
        (lambda: api.add({"OWNER_TYPE_ID": 2, "OWNER_ID": 1, "TYPE_ID": 2}), "fields[RESPONSIBLE_ID]"),
        (lambda: api.add({**CALL, "OWNER_TYPE_ID": 2, "OWNER_ID": 1, "COLOUR": 1}), "fields[COLOUR]"),
        (
            lambda: api.add({**CALL, "OWNER_TYPE_ID": 2, "OWNER_ID": 1, "START_TIME": "tomorrow"}),
            "fields[START_TIME]",
        ),
        (lambda: api.add({**CALL, "OWNER_TYPE_ID": 2, "OWNER_ID": 1, "SUBJECT": ""}), "fields[SUBJECT]"),
        (
            lambda: api.add({**CALL, "OWNER_TYPE_ID": 2, "OWNER_ID": 1, "COMPLETED": "yes"}),
            "fields[COMPLETED]",
        ),
        (lambda: api.update(5, {}), "fields"),
        (lambda: api.list_(order={"ID": "UP"}), "order[ID]"),
        (lambda: api.todo_add(2, 1, deadline=datetime(2030, 1, 1)), "deadline"),
        (lambda: api.todo_update_color(1, 2, 1, 8), "colorId"),
        (lambda: api.todo_add(2, 1, deadline=soon(), ping_offsets=[-5]), "pingOffsets"),
        (lambda: api.binding_add(1, 2, -1), "entityId"),
        (lambda: api.type_add("", "name"), "fields[TYPE_ID]"),
        (lambda: api.blocks_set(2, 1, 1, {"blocks": {}}), "layout.blocks"),
        (
            lambda: api.blocks_set(2, 1, 1, {"blocks": {"a": {"type": "video", "properties": {}}}}),
            "layout.blocks.a",
        ),
        (lambda: api.configurable_add(2, 1, {"icon": {"code": "x"}}), "layout"),
        (lambda: api.badge_add("c", "t", "v", "purple"), "type"),
        (lambda: api.badge_add("c", "", "v", "success"), "title"),
    ],
)
def test_bad_input_names_the_parameter_before_any_request(build, parameter: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        build()
    assert raised.value.parameter.startswith(parameter)
