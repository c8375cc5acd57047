"""crm.activity.add / update / get / delete / fields / communication.fields (docs activity-base/*)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from test_crm_support import (
    CALL_FIELDS,
    CONFIGURABLE_LAYOUT,
    add_activity,
    add_rest_app_activity,
    bind,
    call_without_app,
    fails,
    ok,
    other_token,
    received_events,
)

from sandbox.core import RestError
from sandbox.testing import EventReceiver, RunningSandbox


def test_add_returns_an_integer_id_and_get_shows_the_documented_fields(sandbox: RunningSandbox) -> None:
    activity_id = add_activity(sandbox, DESCRIPTION="Important call", DIRECTION=2, PRIORITY=3)
    record = ok(sandbox.call("crm.activity.get", {"id": activity_id}))
    assert record["ID"] == str(activity_id)
    assert (record["OWNER_TYPE_ID"], record["OWNER_ID"], record["TYPE_ID"]) == ("2", "1", "2")
    assert (record["PROVIDER_ID"], record["PROVIDER_TYPE_ID"]) == ("VOXIMPLANT_CALL", "CALL")
    assert (record["COMPLETED"], record["STATUS"], record["PRIORITY"], record["DIRECTION"]) == (
        "N",
        "1",
        "3",
        "2",
    )
    assert (
        record["DEADLINE"] == record["START_TIME"] == "2024-07-18T09:00:00+00:00"
    )  # calls: DEADLINE=START_TIME
    assert record["SETTINGS"] == [] and record["PROVIDER_PARAMS"] == []  # PHP empty arrays
    assert record["AUTHOR_ID"] == record["EDITOR_ID"] == "1"
    assert "COMMUNICATIONS" not in record


def test_add_binds_the_owner_and_the_communication_entity(sandbox: RunningSandbox) -> None:
    activity_id = add_activity(sandbox)
    assert ok(sandbox.call("crm.activity.binding.list", {"activityId": activity_id})) == [
        {"entityTypeId": 2, "entityId": 1},
        {"entityTypeId": 3, "entityId": 1},
    ]


def test_add_accepts_php_form_bodies_with_string_values(sandbox: RunningSandbox) -> None:
    form = {
        "fields[OWNER_TYPE_ID]": "2",
        "fields[OWNER_ID]": "2",
        "fields[TYPE_ID]": "1",
        "fields[SUBJECT]": "Meeting",
        "fields[RESPONSIBLE_ID]": "2",
        "fields[COMPLETED]": "Y",
        "fields[COMMUNICATIONS][0][VALUE]": "Elena",
        "fields[COMMUNICATIONS][0][ENTITY_ID]": "1",
        "fields[COMMUNICATIONS][0][ENTITY_TYPE_ID]": "3",
        "auth": sandbox.token(),
    }
    response = requests.post(f"{sandbox.portal_url}/rest/crm.activity.add", data=form, timeout=5)
    record = ok(sandbox.call("crm.activity.get", {"id": ok(response)}))
    assert (record["TYPE_ID"], record["COMPLETED"], record["STATUS"], record["RESPONSIBLE_ID"]) == (
        "1",
        "Y",
        "2",
        "2",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SUBJECT": ""}, "The field SUBJECT is not defined or empty"),
        ({"RESPONSIBLE_ID": 999}, "The field RESPONSIBLE_ID is not defined or invalid"),
        ({"TYPE_ID": None}, "The field TYPE_ID is not defined or invalid"),
        ({"TYPE_ID": 9}, "The field TYPE_ID is not defined or invalid"),
        ({"TYPE_ID": 6}, "The custom activity without provider is not supported in current context"),
        ({"TYPE_ID": 3}, "Activity type is not supported in the specified context"),
        (
            {"TYPE_ID": 6, "PROVIDER_ID": "CRM_TODO"},
            "Activity type is not supported in the specified context",
        ),
        ({"COMMUNICATIONS": []}, "The field COMMUNICATIONS is not defined or invalid"),
        (
            {"COMMUNICATIONS": [{"ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}]},
            "The field COMMUNICATIONS is not defined or invalid",
        ),
        (
            {
                "COMMUNICATIONS": [
                    {"VALUE": "a@example.com", "TYPE": "EMAIL", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}
                ]
            },
            "The field COMMUNICATIONS is not defined or invalid",
        ),
        (
            {"COMMUNICATIONS": [CALL_FIELDS["COMMUNICATIONS"][0]] * 2},
            "The only one communication is allowed for activity of specified type",
        ),
        (
            {"OWNER_ID": 999},
            "Could not build binding. Please ensure that owner info and communications are defined correctly",
        ),
        (
            {
                "OWNER_ID": None,
                "OWNER_TYPE_ID": None,
                "COMMUNICATIONS": [{"VALUE": "1", "ENTITY_ID": 9, "ENTITY_TYPE_ID": 3}],
            },
            "Could not build binding. Please ensure that owner info and communications are defined correctly",
        ),
        (
            {
                "TYPE_ID": 4,
                "DIRECTION": 2,
                "COMMUNICATIONS": [{"VALUE": "nope", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}],
            },
            "Email send error. Invalid email is specified",
        ),
        (
            {"PROVIDER_ID": "CONFIGURABLE_REST_APP"},
            "Use crm.activity.configurable.add for this activity provider",
        ),
        ({"START_TIME": "yesterday"}, "The field START_TIME is not defined or invalid"),
        ({"FILES": [{"fileData": ["x.txt"]}]}, "The field FILES is not defined or invalid"),
    ],
)
def test_add_rejects_bad_fields_with_the_documented_messages(
    sandbox: RunningSandbox, change: dict[str, Any], message: str
) -> None:
    fields = {k: v for k, v in {**CALL_FIELDS, **change}.items() if v is not None}
    before = dict(sandbox.portal.crm.activities)
    body = fails(sandbox.call("crm.activity.add", {"fields": fields}), "")
    assert body["error_description"] == message
    assert sandbox.portal.crm.activities == before  # nothing half-written


def test_add_without_fields_is_a_bad_request(sandbox: RunningSandbox) -> None:
    fails(sandbox.call("crm.activity.add", {"fields": "nope"}), "")


def test_a_user_without_crm_rights_gets_access_denied(sandbox: RunningSandbox) -> None:
    body = fails(sandbox.call("crm.activity.add", {"fields": CALL_FIELDS}, token=sandbox.token(3)), "")
    assert body["error_description"] == "Access denied."
    activity_id = add_activity(sandbox)
    for method, params in [
        ("crm.activity.update", {"id": activity_id, "fields": {"SUBJECT": "x"}}),
        ("crm.activity.delete", {"id": activity_id}),
    ]:
        assert (
            fails(sandbox.call(method, params, token=sandbox.token(3)), "")["error_description"]
            == "Access denied."
        )
    assert ok(sandbox.call("crm.activity.get", {"id": activity_id}, token=sandbox.token(3)))["ID"] == str(
        activity_id
    )


def test_update_changes_fields_and_keeps_immutable_ones(sandbox: RunningSandbox) -> None:
    activity_id = add_activity(sandbox)
    fields = {
        "DESCRIPTION": "New description",
        "COMPLETED": "Y",
        "RESPONSIBLE_ID": 2,
        "OWNER_ID": 2,
        "TYPE_ID": 1,
    }
    assert ok(sandbox.call("crm.activity.update", {"id": activity_id, "fields": fields})) is True
    record = ok(sandbox.call("crm.activity.get", {"id": activity_id}))
    assert (record["DESCRIPTION"], record["COMPLETED"], record["STATUS"]) == ("New description", "Y", "2")
    assert (record["RESPONSIBLE_ID"], record["OWNER_ID"], record["TYPE_ID"]) == ("2", "1", "2")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"id": None, "fields": {"SUBJECT": "x"}}, "ID is not defined or invalid."),
        ({"id": "abc", "fields": {"SUBJECT": "x"}}, "ID is not defined or invalid."),
        ({"id": 99999, "fields": {"SUBJECT": "x"}}, "Activity is not found"),
        ({"fields": {"SUBJECT": ""}}, "The field SUBJECT is not defined or empty"),
        ({"fields": {"RESPONSIBLE_ID": 77}}, "The field RESPONSIBLE_ID is not defined or invalid"),
        ({"fields": {"COMMUNICATIONS": "x"}}, "The field COMMUNICATIONS is not defined or invalid"),
        ({"fields": "x"}, "The parameter 'fields' must be array."),
    ],
)
def test_update_errors(sandbox: RunningSandbox, params: dict[str, Any], message: str) -> None:
    activity_id = add_activity(sandbox)
    payload = {k: v for k, v in {"id": activity_id, **params}.items() if v is not None}
    body = fails(sandbox.call("crm.activity.update", payload), "")
    assert body["error_description"] == message


@pytest.mark.parametrize("method", ["crm.activity.get", "crm.activity.delete"])
def test_get_and_delete_of_a_missing_activity(sandbox: RunningSandbox, method: str) -> None:
    assert fails(sandbox.call(method, {"id": 99999}), "")["error_description"] == "Activity is not found"
    assert fails(sandbox.call(method, {}), "")["error_description"] == "ID is not defined or invalid."


def test_delete_removes_the_activity_and_its_blocks(sandbox: RunningSandbox) -> None:
    activity_id = add_activity(sandbox)
    params = {"entityTypeId": 2, "entityId": 1, "activityId": activity_id}
    layout = {"blocks": {"b": {"type": "text", "properties": {"value": "v"}}}}
    ok(sandbox.call("crm.activity.layout.blocks.set", {**params, "layout": layout}))
    assert ok(sandbox.call("crm.activity.delete", {"id": activity_id})) is True
    assert activity_id not in sandbox.portal.crm.layout_blocks
    fails(sandbox.call("crm.activity.get", {"id": activity_id}), "")


def test_every_change_emits_its_activity_event(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind(sandbox, event_receiver, "ONCRMACTIVITYADD", "ONCRMACTIVITYUPDATE", "ONCRMACTIVITYDELETE")
    activity_id = add_activity(sandbox)
    ok(sandbox.call("crm.activity.update", {"id": activity_id, "fields": {"SUBJECT": "x"}}))
    ok(sandbox.call("crm.activity.delete", {"id": activity_id}))
    assert received_events(event_receiver, 3) == [
        ("ONCRMACTIVITYADD", str(activity_id)),
        ("ONCRMACTIVITYUPDATE", str(activity_id)),
        ("ONCRMACTIVITYDELETE", str(activity_id)),
    ]


def test_rest_app_activity_belongs_to_the_creating_app(sandbox: RunningSandbox) -> None:
    activity_id = add_rest_app_activity(sandbox)
    record = ok(sandbox.call("crm.activity.get", {"id": activity_id}))
    assert (record["PROVIDER_ID"], record["PROVIDER_TYPE_ID"], record["TYPE_ID"]) == ("REST_APP", "LINK", "6")
    assert record["ASSOCIATED_ENTITY_ID"] == str(sandbox.app.numeric_id)  # notes §3.5
    assert sandbox.portal.crm.activities[activity_id].client_id == sandbox.app.client_id


def test_rest_app_activity_needs_the_creating_app_to_change(sandbox: RunningSandbox) -> None:
    activity_id = add_rest_app_activity(sandbox)
    other = other_token(sandbox)
    for method, params in [
        ("crm.activity.update", {"id": activity_id, "fields": {"SUBJECT": "x"}}),
        ("crm.activity.delete", {"id": activity_id}),
    ]:
        fails(sandbox.call(method, params, token=other), "ACCESS_DENIED", 403)
        error = call_without_app(sandbox, method, params)
        assert isinstance(error, RestError)
        assert (error.code, error.status) == ("ACCESS_DENIED", 403)
        assert error.description == "Access denied! Application context required"  # docs activity-app.md
    bad_provider = {"id": activity_id, "fields": {"PROVIDER_ID": "CRM_TODO"}}
    body = fails(sandbox.call("crm.activity.update", bad_provider), "")
    assert (
        body["error_description"]
        == "Incorrect PROVIDER_ID parameter for the activity created in the application context"
    )
    assert ok(sandbox.call("crm.activity.update", {"id": activity_id, "fields": {"COMPLETED": "Y"}})) is True


def test_rest_app_activity_cannot_be_added_outside_an_app(sandbox: RunningSandbox) -> None:
    error = call_without_app(sandbox, "crm.activity.add", {"fields": {"PROVIDER_ID": "REST_APP"}})
    assert isinstance(error, RestError) and error.code == "ACCESS_DENIED"


def test_configurable_activities_are_refused_by_the_legacy_update(sandbox: RunningSandbox) -> None:
    params = {"ownerTypeId": 2, "ownerId": 1, "fields": {}, "layout": CONFIGURABLE_LAYOUT}
    activity_id = ok(sandbox.call("crm.activity.configurable.add", params))["activity"]["id"]
    body = fails(sandbox.call("crm.activity.update", {"id": activity_id, "fields": {"SUBJECT": "x"}}), "")
    assert body["error_description"] == "Use crm.activity.configurable.update for this activity provider"


def test_files_are_stored_and_listed_when_selected(sandbox: RunningSandbox) -> None:
    activity_id = add_activity(sandbox, FILES=[{"fileData": ["example.jpg", "aGVsbG8="]}])
    rows = ok(sandbox.call("crm.activity.list", {"filter": {"ID": activity_id}, "select": ["ID", "FILES"]}))
    assert rows[0]["FILES"][0]["url"].startswith(
        f"{sandbox.portal_url}/bitrix/tools/crm_show_file.php?fileId="
    )


def test_fields_describe_every_documented_field(sandbox: RunningSandbox) -> None:
    fields = ok(sandbox.call("crm.activity.fields"))
    assert fields["SUBJECT"] == {
        "type": "string",
        "isRequired": True,
        "isReadOnly": False,
        "isImmutable": False,
        "isMultiple": False,
        "isDynamic": False,
        "title": "Subject",
    }
    assert fields["WEBDAV_ELEMENTS"]["isDeprecated"] is True
    assert {"BINDINGS", "COMMUNICATIONS", "FILES", "IS_INCOMING_CHANNEL"} <= set(fields)


def test_communication_fields(sandbox: RunningSandbox) -> None:
    fields = ok(sandbox.call("crm.activity.communication.fields"))
    assert list(fields) == ["ID", "ACTIVITY_ID", "ENTITY_ID", "ENTITY_TYPE_ID", "TYPE", "VALUE"]
    assert fields["ID"]["isReadOnly"] is True and fields["VALUE"]["type"] == "string"


def test_seeded_portal_has_activities_of_several_kinds(sandbox: RunningSandbox) -> None:
    activities = list(sandbox.portal.crm.activities.values())
    assert {a.field("TYPE_ID") for a in activities} >= {1, 2, 4, 6}
    assert any(a.completed for a in activities) and any(not a.completed for a in activities)
    assert all(a.bindings and a.bindings[0] in sandbox.portal.owners for a in activities)


def test_a_failed_update_changes_nothing(sandbox: RunningSandbox) -> None:
    activity_id = add_activity(sandbox)
    stored = sandbox.portal.crm.activities[activity_id]
    comms, fields = list(stored.communications), dict(stored.fields)
    new_comms = [{"VALUE": "+1", "ENTITY_ID": 2, "ENTITY_TYPE_ID": 3}]
    bad = {"SUBJECT": "changed", "COMMUNICATIONS": new_comms, "FILES": "not files"}
    fails(sandbox.call("crm.activity.update", {"id": activity_id, "fields": bad}), "")
    assert (stored.communications, stored.fields) == (comms, fields)


def test_methods_work_inside_batch_with_back_references(sandbox: RunningSandbox) -> None:
    cmd = {
        "todo": "crm.activity.todo.add?ownerTypeId=2&ownerId=1&deadline=2025-01-01T10:00:00&title=Batch",
        "get": "crm.activity.get?id=$result[todo][id]",
        "bad": "crm.activity.get?id=99999",
    }
    result = ok(sandbox.call("batch", {"halt": 0, "cmd": cmd}))
    assert result["result"]["get"]["SUBJECT"] == "Batch"
    assert result["result_error"]["bad"] == {"error": "", "error_description": "Activity is not found"}


def test_a_configurable_activity_on_an_item_the_user_cannot_see_is_neither_read_nor_updated(
    sandbox: RunningSandbox,
) -> None:
    """docs configurable.update, "Access denied: No permission to update the entity in CRM".

    Olga (user 4) sees only the items assigned to her (the second of each type): deal 1's is not hers.
    """
    olga = sandbox.token(4)
    add = {"ownerTypeId": 2, "fields": {}, "layout": CONFIGURABLE_LAYOUT}
    theirs = ok(sandbox.call("crm.activity.configurable.add", {**add, "ownerId": 1}))["activity"]["id"]
    hers = ok(sandbox.call("crm.activity.configurable.add", {**add, "ownerId": 2}))["activity"]["id"]
    update = {"fields": {"completed": True}, "layout": CONFIGURABLE_LAYOUT}
    for method, params in (("get", {}), ("update", update)):
        call = f"crm.activity.configurable.{method}"
        fails(sandbox.call(call, {**params, "id": theirs}, token=olga), "ACCESS_DENIED")
        assert ok(sandbox.call(call, {**params, "id": hers}, token=olga))["activity"]["id"] == hers
    assert not sandbox.portal.crm.activities[theirs].completed
