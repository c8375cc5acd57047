"""The offline event queue, as the vendor documents it.

Pages (bitrix24/b24restdocs): api-reference/events/offline-events.md, event-bind.md, event-offline-get.md,
event-offline-clear.md, event-offline-error.md, event-offline-list.md, on-offline-event.md,
api-reference/common/system/feature-get.md; and the platform's rest module (lib/api/event.php,
lib/eventoffline.php, lib/event/provideroffline.php) where the pages are silent.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import unquote_plus

from test_crm_support import CALL_FIELDS

from sandbox.testing import EventReceiver, RunningSandbox

ACTIVITY_EVENTS = ("ONCRMACTIVITYADD", "ONCRMACTIVITYUPDATE", "ONCRMACTIVITYDELETE")
# The app's own changes with the binding's source key never enter its queue, "" included
# (provideroffline.php), so these tests bind with a key and change activities as the app without it.
KEY = "tb"
GET_KEYS = {"ID", "TIMESTAMP_X", "EVENT_NAME", "EVENT_DATA", "EVENT_ADDITIONAL", "MESSAGE_ID"}


def ok(response: Any) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    return body["result"]


def bind_offline(sandbox: RunningSandbox, connector: str = KEY) -> None:
    for event in ACTIVITY_EVENTS:
        params = {"event": event, "event_type": "offline"}
        if connector:
            params["auth_connector"] = connector
        assert ok(sandbox.call("event.bind", params)) is True


def add_activity(sandbox: RunningSandbox, **extra: Any) -> int:
    return int(ok(sandbox.call("crm.activity.add", {"fields": CALL_FIELDS, **extra})))


def update(sandbox: RunningSandbox, activity_id: int, subject: str, **extra: Any) -> None:
    ok(sandbox.call("crm.activity.update", {"id": activity_id, "fields": {"SUBJECT": subject}, **extra}))


def offline_get(sandbox: RunningSandbox, **params: Any) -> dict[str, Any]:
    return ok(sandbox.call("event.offline.get", {"auth_connector": KEY, **params}))  # type: ignore[no-any-return]


def offline_list(sandbox: RunningSandbox, **params: Any) -> list[dict[str, Any]]:
    return ok(sandbox.call("event.offline.list", {"auth_connector": KEY, **params}))  # type: ignore[no-any-return]


def offline_call(sandbox: RunningSandbox, name: str, params: dict[str, Any]) -> Any:
    return ok(sandbox.call(name, {"auth_connector": KEY, **params}))


def expected_message_id(event: str, data: Any) -> str:
    """eventoffline.php getMessageId, written independently: md5(name|Json::encode(data))."""
    return hashlib.md5(f"{event}|{json.dumps(data, separators=(',', ':'))}".encode()).hexdigest()  # noqa: S324


def test_offline_bind_needs_no_handler_and_onofflineevent_cannot_be_offline(sandbox: RunningSandbox) -> None:
    bind_offline(sandbox)
    listed = ok(sandbox.call("event.get"))
    assert {"event": "ONCRMACTIVITYADD", "connector_id": KEY, "offline": 1} in listed
    refused = sandbox.call("event.bind", {"event": "ONOFFLINEEVENT", "event_type": "offline"})
    assert refused.status_code == 400
    assert refused.json()["error_description"] == "Offline event cannot be registered for this event."


def test_changes_enter_the_queue_one_record_per_message_keeping_the_latest(sandbox: RunningSandbox) -> None:
    """offline-events.md: "If the same deal is updated 1000 times, there will be only one entry"."""
    bind_offline(sandbox)
    activity = add_activity(sandbox)
    for n in range(3):
        update(sandbox, activity, f"subject {n}")
    rows = offline_list(sandbox)
    assert [r["EVENT_NAME"] for r in rows] == ["ONCRMACTIVITYADD", "ONCRMACTIVITYUPDATE"]
    update_row = rows[1]
    assert update_row["EVENT_DATA"] == {"FIELDS": {"ID": activity}}
    assert update_row["MESSAGE_ID"] == expected_message_id("ONCRMACTIVITYUPDATE", update_row["EVENT_DATA"])
    assert update_row["EVENT_ADDITIONAL"] == {"user_id": 1}
    assert update_row["PROCESS_ID"] == "" and update_row["ERROR"] == "0"
    assert set(update_row) == {*GET_KEYS, "PROCESS_ID", "ERROR"}


def test_get_by_default_returns_and_deletes_with_no_process_id(sandbox: RunningSandbox) -> None:
    """event-offline-get.md: clear defaults to 1; the response's process_id is null."""
    bind_offline(sandbox)
    add_activity(sandbox)
    got = offline_get(sandbox)
    assert got["process_id"] is None
    assert [e["EVENT_NAME"] for e in got["events"]] == ["ONCRMACTIVITYADD"]
    assert set(got["events"][0]) == GET_KEYS
    assert offline_list(sandbox) == []
    assert offline_get(sandbox)["events"] == []


def test_reserve_mode_gives_parallel_callers_disjoint_batches_and_clear_by_message_id(
    sandbox: RunningSandbox,
) -> None:
    """offline-events.md: clear=0 marks the batch with a process_id and hides it; parallel calls never
    overlap; event.offline.clear deletes by process_id, optionally by message_id."""
    bind_offline(sandbox)
    ids = [add_activity(sandbox) for _ in range(5)]
    first = offline_get(sandbox, clear=0, limit=3)
    second = offline_get(sandbox, clear=0, limit=3)
    assert first["process_id"] and second["process_id"] and first["process_id"] != second["process_id"]
    one = {e["ID"] for e in first["events"]}
    two = {e["ID"] for e in second["events"]}
    assert len(one) == 3 and len(two) == 2 and not one & two
    assert offline_get(sandbox, clear=0)["events"] == []
    again = offline_get(sandbox, process_id=first["process_id"], clear=0)
    assert {e["ID"] for e in again["events"]} == one and again["process_id"] == first["process_id"]
    keep = first["events"][0]
    gone = [e["MESSAGE_ID"] for e in first["events"][1:]]
    assert offline_call(
        sandbox, "event.offline.clear", {"process_id": first["process_id"], "message_id": gone}
    )
    left = offline_list(sandbox, filter={"PROCESS_ID": first["process_id"]})
    assert [r["ID"] for r in left] == [keep["ID"]]
    assert offline_call(sandbox, "event.offline.clear", {"process_id": second["process_id"]})
    assert offline_list(sandbox, filter={"PROCESS_ID": second["process_id"]}) == []
    assert len(ids) == 5


def test_a_change_to_a_reserved_record_makes_a_new_unreserved_one(sandbox: RunningSandbox) -> None:
    """eventoffline.php callEvent merges on MESSAGE_ID, APP_ID, CONNECTOR_ID and PROCESS_ID: a change made
    while a process holds the record is not folded into it, so clearing that process cannot lose it."""
    bind_offline(sandbox)
    activity = add_activity(sandbox)
    update(sandbox, activity, "first")
    held = offline_get(sandbox, clear=0, filter={"=EVENT_NAME": "ONCRMACTIVITYUPDATE"})
    update(sandbox, activity, "second")
    assert offline_call(sandbox, "event.offline.clear", {"process_id": held["process_id"]})
    fresh = offline_get(sandbox, filter={"=EVENT_NAME": "ONCRMACTIVITYUPDATE"})
    assert [e["EVENT_DATA"] for e in fresh["events"]] == [{"FIELDS": {"ID": activity}}]


def test_clear_by_id_and_bad_arguments(sandbox: RunningSandbox) -> None:
    """event-offline-clear.md: process_id required; id[] of integers; message_id[] of MESSAGE_ID values."""
    bind_offline(sandbox)
    add_activity(sandbox)
    add_activity(sandbox)
    held = offline_get(sandbox, clear=0)
    first = held["events"][0]["ID"]
    assert offline_call(sandbox, "event.offline.clear", {"process_id": held["process_id"], "id": [first]})
    assert [r["ID"] for r in offline_list(sandbox)] == [held["events"][1]["ID"]]
    missing = sandbox.call("event.offline.clear", {})
    assert missing.status_code == 400 and missing.json()["argument"] == "PROCESS_ID"
    bad = sandbox.call("event.offline.clear", {"process_id": held["process_id"], "message_id": ["short"]})
    assert bad.status_code == 400 and bad.json()["error"] == "ERROR_ARGUMENT"
    bad_id = sandbox.call("event.offline.clear", {"process_id": held["process_id"], "id": ["x"]})
    assert bad_id.status_code == 400


def test_error_marks_records_and_error_1_reads_them(sandbox: RunningSandbox) -> None:
    """event-offline-error.md; eventoffline.php markError: ERROR=1, unreserved; get(error=1) returns them."""
    bind_offline(sandbox)
    add_activity(sandbox)
    held = offline_get(sandbox, clear=0)
    message = held["events"][0]["MESSAGE_ID"]
    assert offline_call(
        sandbox, "event.offline.error", {"process_id": held["process_id"], "message_id": [message]}
    )
    [row] = offline_list(sandbox)
    assert (row["ERROR"], row["PROCESS_ID"]) == ("1", "")
    assert offline_get(sandbox)["events"] == []
    errors = offline_get(sandbox, error=1)
    assert [e["MESSAGE_ID"] for e in errors["events"]] == [message]
    assert offline_list(sandbox) == []
    no_array = sandbox.call("event.offline.error", {"process_id": "p", "message_id": "x"})
    assert no_array.status_code == 400


def test_filter_order_and_limit(sandbox: RunningSandbox) -> None:
    """event-offline-get.md: filter ops before the field name, order by the same fields, limit > 0."""
    bind_offline(sandbox)
    ids = [add_activity(sandbox) for _ in range(4)]
    rows = offline_list(sandbox, order={"ID": "DESC"})
    assert [int(r["EVENT_DATA"]["FIELDS"]["ID"]) for r in rows] == list(reversed(ids))
    lowest = int(rows[-1]["ID"])
    got = offline_get(sandbox, filter={">ID": lowest}, order={"ID": "DESC"}, limit=2)
    assert [int(e["ID"]) for e in got["events"]] == [lowest + 3, lowest + 2]
    assert (
        sandbox.call("event.offline.get", {"auth_connector": KEY, "limit": 0}).json()["argument"] == "LIMIT"
    )
    assert sandbox.call("event.offline.get", {"filter": {"HANDLER": "x"}}).status_code == 400


def test_reserve_mode_needs_the_extended_feature(sandbox: RunningSandbox) -> None:
    """event.php: clear=0 without rest_offline_extended is a LicenseException (WRONG_LICENSE, 403)."""
    sandbox.configure(rest_offline_extended=False)
    bind_offline(sandbox)
    refused = sandbox.call("event.offline.get", {"clear": 0})
    assert refused.status_code == 403 and refused.json()["error"] == "WRONG_LICENSE"
    assert offline_get(sandbox)["events"] == []
    assert ok(sandbox.call("feature.get", {"CODE": "rest_offline_extended"})) == {"value": "N"}
    assert ok(sandbox.call("feature.get", {"CODE": "rest_auth_connector"})) == {"value": "Y"}
    empty = sandbox.call("feature.get", {})
    assert empty.status_code == 400 and empty.json()["error"] == "CODE_EMPTY"


def test_features_can_differ_by_portal(sandbox: RunningSandbox) -> None:
    other = sandbox.portals[1]
    sandbox.configure(rest_auth_connector=[sandbox.portal.domain])
    assert ok(sandbox.call("feature.get", {"CODE": "rest_auth_connector"})) == {"value": "Y"}
    token = sandbox.token(1, portal=other)
    answer = sandbox.call(
        "feature.get", {"CODE": "rest_auth_connector"}, token=token, portal_url=sandbox.portal_urls[1]
    )
    assert answer.json()["result"] == {"value": "N"}


def test_the_apps_own_changes_with_its_source_key_stay_out_of_its_queue(sandbox: RunningSandbox) -> None:
    """offline-events.md "How to avoid cycles"; provideroffline.php: skipped when the caller is the app and
    its auth_connector is the binding's."""
    bind_offline(sandbox)
    own = add_activity(sandbox, auth_connector=KEY)
    other = add_activity(sandbox)
    assert ok(sandbox.call("event.offline.list")) == []  # the "" queue is another queue
    rows = offline_list(sandbox)
    assert [r["EVENT_DATA"]["FIELDS"]["ID"] for r in rows] == [other]
    assert own != other
    assert len(offline_get(sandbox)["events"]) == 1


def test_with_an_empty_source_key_the_apps_own_changes_are_all_skipped(sandbox: RunningSandbox) -> None:
    """provideroffline.php compares the call's auth_connector ("" when absent) with CONNECTOR_ID ("")."""
    bind_offline(sandbox, connector="")
    add_activity(sandbox)
    assert ok(sandbox.call("event.offline.list")) == []
    robot = sandbox.control("robot", {"method": "crm.activity.add", "params": {"fields": CALL_FIELDS}})
    assert robot.status_code == 200
    assert len(ok(sandbox.call("event.offline.list"))) == 1


def test_a_user_of_the_app_without_the_source_key_is_queued_robots_have_no_user(
    sandbox: RunningSandbox,
) -> None:
    bind_offline(sandbox)
    add_activity(sandbox)
    answer = sandbox.control("robot", {"method": "crm.activity.add", "params": {"fields": CALL_FIELDS}})
    assert answer.status_code == 200
    rows = offline_list(sandbox)
    assert [r["EVENT_ADDITIONAL"] for r in rows] == [{"user_id": 1}, False]


def test_only_administrators_read_the_queue(sandbox: RunningSandbox) -> None:
    """event.php eventOffline*: \\CRestUtil::isAdmin() or AccessException."""
    bind_offline(sandbox)
    for name in ("event.offline.get", "event.offline.list", "event.offline.clear", "event.offline.error"):
        answer = sandbox.call(name, {"process_id": "p", "message_id": []}, token=sandbox.token(2))
        assert answer.status_code == 403 and answer.json()["error"] == "ACCESS_DENIED", name


def test_onofflineevent_wakes_the_handler_at_most_once_per_min_timeout(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    """on-offline-event.md: a regular event to the handler when the queue gets records; minTimeout > 0
    sends one, then pauses at least that long; data carries type, event, handler, minTimeout."""
    bind_offline(sandbox)
    handler = event_receiver.url()
    params = {"event": "ONOFFLINEEVENT", "handler": handler, "options": {"minTimeout": 60}}
    assert ok(sandbox.call("event.bind", params)) is True
    activity = add_activity(sandbox)
    update(sandbox, activity, "again")
    [received] = event_receiver.wait_for(1)
    sandbox.wait_for_deliveries(1)
    body = {
        unquote_plus(k): unquote_plus(v) for k, _, v in (p.partition("=") for p in received.body.split("&"))
    }
    assert body["event"] == "ONOFFLINEEVENT"
    assert body["data[type]"] == "add" and body["data[event]"] == "ONCRMACTIVITYADD"
    assert body["data[handler]"] == handler and body["data[minTimeout]"] == "60"
    assert body["auth[refresh_token]"]  # notes §2.2: sendRefreshToken
    assert len([d for d in sandbox.deliveries if d.event == "ONOFFLINEEVENT"]) == 1


def test_min_timeout_zero_sends_once_per_request(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind_offline(sandbox)
    params = {"event": "ONOFFLINEEVENT", "handler": event_receiver.url(), "options": {"minTimeout": 0}}
    ok(sandbox.call("event.bind", params))
    commands = {f"a{n}": f"crm.activity.add?{_query(CALL_FIELDS)}" for n in range(3)}
    ok(sandbox.call("batch", {"cmd": commands}))
    add_activity(sandbox)
    event_receiver.wait_for(2)
    assert len([d for d in sandbox.deliveries if d.event == "ONOFFLINEEVENT"]) == 2


def test_offline_calls_count_against_the_rest_limits(sandbox: RunningSandbox) -> None:
    """offline-events.md: "the usual rate limits on requests per second … will apply"."""
    bind_offline(sandbox)
    sandbox.configure(rate=0.001, burst=2)
    answers = [sandbox.call("event.offline.get", {"auth_connector": KEY}).status_code for _ in range(4)]
    assert 503 in answers


def test_uninstall_drops_the_queue(sandbox: RunningSandbox) -> None:
    bind_offline(sandbox)
    add_activity(sandbox)
    assert sandbox.control("apps/uninstall", {"clean": 0}).status_code == 200
    assert sandbox.control("apps/install", {}).status_code == 200
    listed = sandbox.call("event.offline.list", {"auth_connector": KEY}, token=sandbox.token(1, fresh=True))
    assert ok(listed) == []


def _query(fields: dict[str, Any]) -> str:
    from sandbox.phpform import build_query

    return build_query({"fields": fields})
