"""Issue 14: the sandbox is as strict as the platform's own code. Each test names the source it follows."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import HOLD_ENTERED, HOLD_RELEASE
from test_crm_support import CALL_FIELDS, add_activity, add_todo, fails, ok

from sandbox.testing import RunningSandbox


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return sorted(int(row["ID"]) for row in rows)


def all_ids(sandbox: RunningSandbox) -> list[int]:
    return sorted(sandbox.portal.crm.activities)


# --- 1. unknown filter keys: CCrmRestProxyBase::internalizeFilterFields unsets them ------------------------


def test_an_unknown_filter_key_alone_returns_everything(sandbox: RunningSandbox) -> None:
    # crm/classes/general/restservice.php CCrmRestProxyBase::internalizeFilterFields: unset($filter[$k])
    body = sandbox.call("crm.activity.list", {"filter": {"OWNERID": 1}, "select": ["ID"]}).json()
    assert body["total"] == len(all_ids(sandbox)) > 0


def test_an_unknown_key_is_dropped_and_the_rest_still_filters(sandbox: RunningSandbox) -> None:
    wanted = add_activity(sandbox, SUBJECT="Fidelity one")
    flt = {"SUBJECT": "Fidelity one", "NO_SUCH_FIELD": "x", "!>=ALSO_NOT": 5}
    assert ids(ok(sandbox.call("crm.activity.list", {"filter": flt}))) == [wanted]


# --- 2. field names are exact inside fields, filter, select and order ---------------------------------------


def test_a_lower_case_filter_key_is_dropped(sandbox: RunningSandbox) -> None:
    # internalizeFilterFields looks $fieldsInfo[$fieldName] up exactly: "subject" is no field
    add_activity(sandbox, SUBJECT="Only me")
    body = sandbox.call("crm.activity.list", {"filter": {"subject": "Only me"}, "select": ["ID"]}).json()
    assert body["total"] == len(all_ids(sandbox))


def test_an_add_with_lower_case_field_names_misses_its_required_fields(sandbox: RunningSandbox) -> None:
    # CCrmRestProxyBase::internalizeFields drops names missing from the fields info, then CheckFields fails
    fields = {k.lower(): v for k, v in CALL_FIELDS.items()}
    before = all_ids(sandbox)
    body = fails(sandbox.call("crm.activity.add", {"fields": fields}), "")
    assert "is not defined" in body["error_description"]
    assert all_ids(sandbox) == before


def test_lower_case_select_and_order_names_are_dropped(sandbox: RunningSandbox) -> None:
    # internalizeSelectFields / internalizeOrderFields: exact names; ID always given, START_TIME the default
    rows = ok(sandbox.call("crm.activity.list", {"select": ["subject"], "order": {"id": "DESC"}}))
    assert all(set(row) == {"ID"} for row in rows)
    plain = ok(sandbox.call("crm.activity.list", {"select": ["ID"]}))
    assert [r["ID"] for r in rows] == [r["ID"] for r in plain]  # order {"id"} dropped: the default order


def test_top_level_parameter_names_keep_any_case(sandbox: RunningSandbox) -> None:
    # notes §5.1: the legacy proxies read their parameters case-insensitively; only the names inside are exact
    activity_id = add_activity(sandbox)
    assert ok(sandbox.call("crm.activity.get", {"ID": activity_id}))["ID"] == str(activity_id)


# --- 3. communications --------------------------------------------------------------------------------------


def test_a_communication_of_the_wrong_type_is_dropped(sandbox: RunningSandbox) -> None:
    # CCrmActivityRestProxy::innerAdd skips communications whose TYPE does not fit the activity's type
    comms = [
        {"VALUE": "a@example.com", "TYPE": "EMAIL", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3},
        {"VALUE": "+18005550000", "TYPE": "PHONE", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3},
    ]
    activity_id = add_activity(sandbox, COMMUNICATIONS=comms)
    kept = sandbox.portal.crm.activities[activity_id].communications
    assert [(c["TYPE"], c["VALUE"]) for c in kept] == [("PHONE", "+18005550000")]


def test_only_wrong_type_communications_leave_none(sandbox: RunningSandbox) -> None:
    comms = [{"VALUE": "a@example.com", "TYPE": "EMAIL", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}]
    body = fails(sandbox.call("crm.activity.add", {"fields": {**CALL_FIELDS, "COMMUNICATIONS": comms}}), "")
    assert body["error_description"] == "The field COMMUNICATIONS is not defined or invalid"


def test_a_missing_responsible_comes_from_the_owner_then_the_caller(sandbox: RunningSandbox) -> None:
    # CCrmActivityRestProxy::innerAdd fills RESPONSIBLE_ID before CCrmActivity::CheckFields
    fields = {k: v for k, v in CALL_FIELDS.items() if k != "RESPONSIBLE_ID"}
    sandbox.portal.owners[(2, 1)].fields["ASSIGNED_BY_ID"] = "2"
    first = int(ok(sandbox.call("crm.activity.add", {"fields": fields})))
    assert sandbox.portal.crm.activities[first].field("RESPONSIBLE_ID") == 2
    sandbox.portal.owners[(2, 1)].fields["ASSIGNED_BY_ID"] = "999"  # no such user: the caller
    second = int(ok(sandbox.call("crm.activity.add", {"fields": fields}, token=sandbox.token(2))))
    assert sandbox.portal.crm.activities[second].field("RESPONSIBLE_ID") == 2


def test_a_communication_without_entity_is_the_owners(sandbox: RunningSandbox) -> None:
    activity_id = add_activity(sandbox, COMMUNICATIONS=[{"VALUE": "+18005551111"}])
    (comm,) = sandbox.portal.crm.activities[activity_id].communications
    assert (comm["ENTITY_TYPE_ID"], comm["ENTITY_ID"], comm["TYPE"]) == (2, 1, "PHONE")


# --- 4. booleans in layout DTOs: crm/lib/Dto/Caster/BoolCaster.php -----------------------------------------


def blocks_after_set(sandbox: RunningSandbox, properties: dict[str, Any]) -> dict[str, Any]:
    todo = add_todo(sandbox)
    where = {"entityTypeId": 2, "entityId": 1, "activityId": todo}
    layout = {"blocks": {"t": {"type": "text", "properties": {"value": "x", **properties}}}}
    ok(sandbox.call("crm.activity.layout.blocks.set", {**where, "layout": layout}))
    got = ok(sandbox.call("crm.activity.layout.blocks.get", where))
    return got["layout"]["blocks"]["t"]["properties"]


def test_bool_caster_takes_only_true_and_y_strings() -> None:
    from sandbox.crm.layout_schema import php_bool

    assert [php_bool(v) for v in ("Y", "y", "TRUE", "true", "True")] == [True] * 5
    assert [php_bool(v) for v in ("1", "yes", "on", "N", "false", "")] == [False] * 6
    assert [php_bool(v) for v in (True, 1, 2)] == [True] * 3
    assert [php_bool(v) for v in (False, 0, None)] == [False] * 3


def test_a_form_encoded_true_is_false_in_a_layout(sandbox: RunningSandbox) -> None:
    assert blocks_after_set(sandbox, {"bold": "1"})["bold"] is False  # http_build_query's true
    assert blocks_after_set(sandbox, {"bold": "Y"})["bold"] is True


# --- 7. /rest//method --------------------------------------------------------------------------------------


def test_a_double_slash_after_rest_is_served_not_redirected(sandbox: RunningSandbox) -> None:
    # the JS SDK joins client_endpoint ".../rest/" with "/method"; the platform's /rest/ router serves it
    url = sandbox.portal_url + "/rest//user.current.json"
    response = requests.post(url, json={"auth": sandbox.token()}, allow_redirects=False, timeout=5)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["ID"] == "1"


# --- 6. concurrency: per-portal locks (sandbox/locks.py) ----------------------------------------------------


@pytest.fixture
def held_portal(sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    """Keep one REST request on the demo portal inside its handler until the test ends."""
    HOLD_ENTERED.clear()
    HOLD_RELEASE.clear()
    worker = threading.Thread(target=sandbox.call, args=("sandboxtest.hold", {"seconds": 20}), daemon=True)
    worker.start()
    assert HOLD_ENTERED.wait(5)
    try:
        yield sandbox
    finally:
        HOLD_RELEASE.set()
        worker.join(10)


def test_another_portal_answers_while_one_is_busy(held_portal: RunningSandbox) -> None:
    # issue 14 item 6: one global lock hid every race between workers; portals now serve concurrently
    sandbox = held_portal
    other = sandbox.portals[1]
    response = sandbox.call(
        "user.current", token=sandbox.token(portal=other), portal_url=other.base_url, timeout=5
    )
    assert response.json()["result"]["ID"] == "1"


def test_the_oauth_server_answers_while_a_portal_is_busy(held_portal: RunningSandbox) -> None:
    sandbox = held_portal
    issued = sandbox.state.tokens[sandbox.token(2, fresh=True)]
    response = requests.post(
        f"{sandbox.oauth_url}/oauth/token/",
        data={
            "grant_type": "refresh_token",
            "client_id": issued.client_id,
            "client_secret": sandbox.state.registrations[issued.client_id].client_secret,
            "refresh_token": issued.refresh_token,
        },
        timeout=5,
    )
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == 2


def test_the_same_portal_still_serves_one_request_at_a_time(held_portal: RunningSandbox) -> None:
    with pytest.raises(requests.ReadTimeout):  # waits for the held request: answers stay as before
        held_portal.call("user.current", timeout=0.5)


# --- 5. read permissions per user and owner ----------------------------------------------------------------

OLGA, IVAN = 4, 5  # seeded: Olga reads only the items assigned to her (the second of each type), Ivan no CRM


def readable_by_olga(sandbox: RunningSandbox) -> set[int]:
    return {
        a.id
        for a in sandbox.portal.crm.activities.values()
        if any(owner_id == 2 for _, owner_id in a.bindings)
    }


def test_list_leaves_out_the_rows_a_user_may_not_read(sandbox: RunningSandbox) -> None:
    # CCrmActivity::GetList applies the user's read rights: rows on other users' items are not there
    rows = list_all(sandbox, sandbox.token(OLGA))
    assert set(ids(rows)) == readable_by_olga(sandbox) and rows
    assert len(list_all(sandbox, sandbox.token(1))) == len(all_ids(sandbox))


def list_all(sandbox: RunningSandbox, token: str) -> list[dict[str, Any]]:
    rows, start = [], 0
    while start is not None:
        body = sandbox.call("crm.activity.list", {"select": ["ID"], "start": start}, token=token).json()
        rows += body["result"]
        start = body.get("next")
    return rows


def test_get_refuses_an_activity_the_user_may_not_read(sandbox: RunningSandbox) -> None:
    # CCrmActivityRestProxy::innerGet: CheckReadPermission, else "Access denied." (docs crm.activity.get)
    hidden = next(i for i in all_ids(sandbox) if i not in readable_by_olga(sandbox))
    seen = next(iter(readable_by_olga(sandbox)))
    body = fails(sandbox.call("crm.activity.get", {"id": hidden}, token=sandbox.token(OLGA)), "")
    assert body["error_description"] == "Access denied."
    assert ok(sandbox.call("crm.activity.get", {"id": seen}, token=sandbox.token(OLGA)))["ID"] == str(seen)


def test_binding_list_and_blocks_get_refuse_an_unreadable_activity(sandbox: RunningSandbox) -> None:
    todo = add_todo(sandbox, ownerTypeId=2, ownerId=1)
    token = sandbox.token(OLGA)
    fails(sandbox.call("crm.activity.binding.list", {"activityId": todo}, token=token), "ACCESS_DENIED")
    where = {"entityTypeId": 2, "entityId": 1, "activityId": todo}
    fails(sandbox.call("crm.activity.layout.blocks.get", where, token=token), "ACCESS_DENIED")
    assert ok(sandbox.call("crm.activity.binding.list", {"activityId": todo}))  # the admin reads it


def test_a_user_without_crm_access_is_denied_every_legacy_method(sandbox: RunningSandbox) -> None:
    # CCrmRestService::onRestServiceMethod: CCrmPerms::IsAccessEnabled() or RestException('Access denied.')
    token = sandbox.token(IVAN)
    for name in ("crm.activity.fields", "crm.activity.list", "crm.activity.add"):
        body = fails(sandbox.call(name, {"fields": CALL_FIELDS}, token=token), "")
        assert body["error_description"] == "Access denied."


# --- 8. smaller deviations ----------------------------------------------------------------------------------


def test_the_required_parameter_code_is_a_number_or_by_setting_a_string(sandbox: RunningSandbox) -> None:
    # notes §5.3: D7 controllers answer the required-parameter error with code 100 (disputed: "100")
    assert fails(sandbox.call("crm.activity.todo.add", {"ownerId": 1}), 100)["error"] == 100
    sandbox.configure(required_code_as_string=True)
    assert fails(sandbox.call("crm.activity.todo.add", {"ownerId": 1}), "100")["error"] == "100"
    cmd = {"a": "crm.activity.todo.add?ownerId=1"}
    answer = ok(sandbox.call("batch", {"cmd": cmd}))
    assert answer["result_error"]["a"]["error"] == "100"


def test_layout_blocks_need_crm_rights_or_by_setting_an_administrator(sandbox: RunningSandbox) -> None:
    # notes §6.1 (blocks.php): read for get, update for set/delete; the docs pages say "administrator"
    todo = add_todo(sandbox)
    where = {"entityTypeId": 2, "entityId": 1, "activityId": todo}
    layout = {"blocks": {"t": {"type": "text", "properties": {"value": "x"}}}}
    john = sandbox.token(2)
    ok(sandbox.call("crm.activity.layout.blocks.set", {**where, "layout": layout}, token=john))
    sandbox.configure(layout_blocks_admin_only=True)
    fails(sandbox.call("crm.activity.layout.blocks.get", where, token=john), "ACCESS_DENIED")
    assert ok(sandbox.call("crm.activity.layout.blocks.get", where))["layout"]  # the admin still may


def test_update_checks_a_given_type_and_owner(sandbox: RunningSandbox) -> None:
    # docs crm.activity.update "Possible Error Codes": TYPE_ID invalid; could not build binding
    activity_id = add_activity(sandbox)
    body = fails(sandbox.call("crm.activity.update", {"id": activity_id, "fields": {"TYPE_ID": 9}}), "")
    assert body["error_description"] == "The field TYPE_ID is not defined or invalid"
    moved = {"id": activity_id, "fields": {"OWNER_TYPE_ID": 2, "OWNER_ID": 999}}
    assert fails(sandbox.call("crm.activity.update", moved), "")["error_description"].startswith(
        "Could not build binding"
    )
    same = {"id": activity_id, "fields": {"TYPE_ID": 2, "OWNER_TYPE_ID": 2, "OWNER_ID": 2, "SUBJECT": "S"}}
    assert ok(sandbox.call("crm.activity.update", same)) is True
    assert sandbox.portal.crm.activities[activity_id].field("OWNER_ID") == 1  # immutable: ignored


def test_a_code_exchange_for_an_uninstalled_app_is_not_installed(sandbox: RunningSandbox) -> None:
    # notes §4.5: NOT_INSTALLED "Application not installed", 401
    state, portal, app = sandbox.state, sandbox.portal, sandbox.app
    code = "c" * 70
    with state.lock:
        state.auth_codes[code] = {
            "client_id": app.client_id, "member_id": portal.member_id, "user_id": 1, "expires_at": 4e9,
        }  # fmt: skip
        del portal.apps[app.client_id]
    secret = state.registrations[app.client_id].client_secret
    response = requests.post(
        f"{sandbox.oauth_url}/oauth/token/",
        data={"grant_type": "authorization_code", "client_id": app.client_id, "client_secret": secret,
              "code": code},
        timeout=5,
    )  # fmt: skip
    assert response.status_code == 401
    assert response.json() == {"error": "NOT_INSTALLED", "error_description": "Application not installed"}


def test_layout_blocks_refuse_a_legacy_activity_type(sandbox: RunningSandbox) -> None:
    # notes §6.1 (blocks.php isAssociateTimelineItemConfigurable): a legacy item is not a configurable one
    legacy = add_activity(
        sandbox, TYPE_ID=5, COMMUNICATIONS=[{"VALUE": "x", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}]
    )
    where = {"entityTypeId": 2, "entityId": 1, "activityId": legacy}
    layout = {"blocks": {"t": {"type": "text", "properties": {"value": "x"}}}}
    answer = sandbox.call("crm.activity.layout.blocks.set", {**where, "layout": layout})
    fails(answer, "UNSUITABLE_ACTIVITY_TYPE_ERROR")
    call = add_activity(sandbox)  # a call is drawn as a configurable item: blocks are fine
    ok(sandbox.call("crm.activity.layout.blocks.set", {**where, "activityId": call, "layout": layout}))


def test_an_uninstalled_apps_tokens_stop_working_at_the_oauth_server(sandbox: RunningSandbox) -> None:
    """notes §1.6 "After uninstall all API access is revoked": app.info and the refresh grant refuse it."""
    from sandbox.apps import uninstall_app

    issued = sandbox.state.tokens[sandbox.token(1, fresh=True)]
    secret = sandbox.state.registrations[issued.client_id].client_secret
    info = requests.post(f"{sandbox.oauth_url}/rest/app.info", data={"auth": issued.access_token}, timeout=5)
    assert info.status_code == 200 and info.json()["result"]["install"]["installed"] is True
    uninstall_app(sandbox.state, sandbox.portal, clean=True)
    info = requests.post(f"{sandbox.oauth_url}/rest/app.info", data={"auth": issued.access_token}, timeout=5)
    assert (info.status_code, info.json()["error"]) == (400, "invalid_client")
    refresh = requests.post(
        f"{sandbox.oauth_url}/oauth/token/",
        data={
            "grant_type": "refresh_token",
            "client_id": issued.client_id,
            "client_secret": secret,
            "refresh_token": issued.refresh_token,
        },
        timeout=5,
    )
    assert refresh.json()["error"] == "invalid_grant"
