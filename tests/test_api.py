"""The inbound API against the sandbox: keys, bodies, idempotency (retries, races, crashes), layouts."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from app.activities.rest_app import create_app_activity
from app.api import keys, openapi
from app.api.service import ORIGIN_PREFIX
from app.extensions import db
from app.models import ApiKey, ApiRequest, ApiRequestState
from app.portals.connections import client_for

LAYOUT: dict[str, Any] = {
    "blocks": {"status": {"type": "text", "properties": {"value": "Shipped", "bold": True}}}
}


@pytest.fixture
def api_key(portal) -> str:
    _, full = keys.create_key(portal.member_id, "helpdesk")
    db.session.commit()
    return full


@pytest.fixture
def api(connected_app):
    return connected_app.test_client()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def body(stored, **overrides: Any) -> dict[str, Any]:
    values = {
        "portal": stored.member_id,
        "owner": {"type_id": 2, "id": 1},
        "subject": "Ticket #4711 answered",
        "description": "Support answered.",
        "layout": LAYOUT,
        "responsible_id": 1,
        "idempotency_key": "helpdesk-4711",
    }
    return {k: v for k, v in (values | overrides).items() if v is not None}


def activities_of(sandbox) -> dict[int, Any]:
    with sandbox.state.lock:
        return dict(sandbox.portal.crm.activities)


def with_origin(sandbox, key: str) -> list[int]:
    return sorted(i for i, a in activities_of(sandbox).items() if a.field("ORIGIN_ID") == ORIGIN_PREFIX + key)


def request_rows() -> list[ApiRequest]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiRequest)))


# --- creating ---


def test_a_request_creates_a_rest_app_activity_with_blocks(api, sandbox, portal, api_key) -> None:
    sandbox.configure(rest_app_blocks_allowed=True)
    response = api.post("/api/v1/activities", json=body(portal), headers=auth(api_key))
    assert response.status_code == 201, response.json
    [activity_id] = with_origin(sandbox, "helpdesk-4711")
    assert response.json == {
        "activity_id": activity_id,
        "provider_id": "REST_APP",
        "fallback": False,
        "blocks_set": True,
        "owner": {"type_id": 2, "id": 1},
    }
    with sandbox.state.lock:
        assert list(sandbox.portal.crm.blocks_of(activity_id).values()) == [LAYOUT]
    [row] = request_rows()
    assert (row.state, row.activity_id, row.member_id) == (
        ApiRequestState.DONE,
        activity_id,
        portal.member_id,
    )


def test_without_a_responsible_the_installer_is_responsible_and_no_user_current_is_asked(
    api, sandbox, portal, api_key
) -> None:
    sandbox.configure(rest_app_blocks_allowed=True)
    portal.installed_by_user_id = 1  # what app.info said at install (the fixture's portal skips the install)
    db.session.commit()
    with sandbox.state.lock:
        sandbox.state.requests.clear()
    response = api.post("/api/v1/activities", json=body(portal, responsible_id=None), headers=auth(api_key))
    assert response.status_code == 201, response.json
    activity = activities_of(sandbox)[response.json["activity_id"]]
    assert int(activity.field("RESPONSIBLE_ID")) == portal.installed_by_user_id
    with sandbox.state.lock:
        methods = {method for (_, method, _, _) in sandbox.state.requests}
    assert "user.current" not in methods and "crm.activity.add" in methods | {"batch"}


def test_where_the_portal_refuses_blocks_on_app_activities_a_todo_is_made(
    api, sandbox, portal, api_key
) -> None:
    sandbox.configure(rest_app_blocks_allowed=False)
    response = api.post("/api/v1/activities", json=body(portal), headers=auth(api_key))
    assert response.status_code == 201, response.json
    assert response.json["fallback"] is True and response.json["provider_id"] == "CRM_TODO"
    assert with_origin(sandbox, "helpdesk-4711") == [response.json["activity_id"]]


def test_a_template_by_name_is_filled_from_the_request(api, sandbox, portal, api_key) -> None:
    sandbox.configure(rest_app_blocks_allowed=True)
    request = body(portal, layout=None, subject="Order 1042", template="Follow-up call")
    response = api.post("/api/v1/activities", json=request, headers=auth(api_key))
    assert response.status_code == 201, response.json
    activity = activities_of(sandbox)[response.json["activity_id"]]
    assert activity.field("SUBJECT") == "Follow-up call: Order 1042"
    with sandbox.state.lock:
        [layout] = sandbox.portal.crm.blocks_of(activity.id).values()
    assert layout["blocks"]["about"]["properties"]["block"]["properties"]["value"] == "Order 1042"


def test_the_portal_may_be_named_by_its_domain(api, sandbox, portal, api_key) -> None:
    response = api.post("/api/v1/activities", json=body(portal, portal=portal.domain), headers=auth(api_key))
    assert response.status_code == 201, response.json


def test_the_idempotency_key_may_come_in_a_header(api, sandbox, portal, api_key) -> None:
    headers = {**auth(api_key), "Idempotency-Key": "hdr-1"}
    response = api.post("/api/v1/activities", json=body(portal, idempotency_key=None), headers=headers)
    assert response.status_code == 201 and len(with_origin(sandbox, "hdr-1")) == 1


# --- idempotency ---


def test_a_retry_gets_the_first_result_and_creates_nothing(api, sandbox, portal, api_key) -> None:
    first = api.post("/api/v1/activities", json=body(portal), headers=auth(api_key))
    again = api.post("/api/v1/activities", json=body(portal), headers=auth(api_key))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert with_origin(sandbox, "helpdesk-4711") == [first.json["activity_id"]]


def test_the_same_key_with_another_request_is_refused(api, sandbox, portal, api_key) -> None:
    assert api.post("/api/v1/activities", json=body(portal), headers=auth(api_key)).status_code == 201
    other = api.post("/api/v1/activities", json=body(portal, subject="Another"), headers=auth(api_key))
    assert other.status_code == 422 and other.json["error"] == "idempotency_key_reused"
    assert len(with_origin(sandbox, "helpdesk-4711")) == 1


def test_concurrent_duplicates_create_one_activity(connected_app, sandbox, portal, api_key) -> None:
    request, barrier, statuses = body(portal), threading.Barrier(4), []

    def post() -> None:
        client = connected_app.test_client()
        barrier.wait(5)
        response = client.post("/api/v1/activities", json=request, headers=auth(api_key))
        statuses.append((response.status_code, response.json))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    codes = sorted(code for code, _ in statuses)
    assert codes.count(201) == 1 and set(codes) <= {200, 201, 409}, statuses
    assert all("Retry in a few seconds" in b["message"] for code, b in statuses if code == 409)
    assert len(with_origin(sandbox, "helpdesk-4711")) == 1


def test_a_request_still_running_gets_409(api, sandbox, portal, api_key) -> None:
    db.session.add(
        ApiRequest(
            member_id=portal.member_id, idempotency_key="helpdesk-4711", request_sha256=fingerprint(portal)
        )
    )
    db.session.commit()
    response = api.post("/api/v1/activities", json=body(portal), headers=auth(api_key))
    assert response.status_code == 409 and response.json["error"] == "request_in_progress"
    assert with_origin(sandbox, "helpdesk-4711") == []


def fingerprint(portal) -> str:
    from app.api.bodies import fingerprint as digest

    return digest({k: v for k, v in body(portal).items() if k != "idempotency_key"})


def test_a_crash_between_create_and_record_is_healed_by_origin_id(api, sandbox, portal, api_key) -> None:
    """The first process created the activity and died: the next retry after the lease finds it."""
    sandbox.configure(rest_app_blocks_allowed=True)
    made = create_app_activity(
        client_for(portal),
        owner_type_id=2,
        owner_id=1,
        subject="s",
        origin_id=ORIGIN_PREFIX + "helpdesk-4711",
    )
    stale = datetime.now(UTC) - timedelta(minutes=10)
    row = ApiRequest(
        member_id=portal.member_id,
        idempotency_key="helpdesk-4711",
        request_sha256=fingerprint(portal),
        created_at=stale,
        updated_at=stale,
    )
    db.session.add(row)
    db.session.commit()
    response = api.post("/api/v1/activities", json=body(portal), headers=auth(api_key))
    assert response.status_code == 201, response.json
    assert response.json["activity_id"] == made.activity_id and response.json["blocks_set"] is True
    assert with_origin(sandbox, "helpdesk-4711") == [made.activity_id]
    assert request_rows()[0].state is ApiRequestState.DONE


def test_a_refusal_frees_the_key_and_a_lost_answer_keeps_it_for_healing(
    api, sandbox, portal, api_key
) -> None:
    refused = api.post(
        "/api/v1/activities", json=body(portal, owner={"type_id": 2, "id": 9999}), headers=auth(api_key)
    )
    assert refused.status_code == 422 and refused.json["error"] == "portal_refused", refused.json
    assert "Bitrix24" in refused.json["message"] and request_rows() == []
    fault = {"kind": "status", "status": 500, "method": "crm.activity.add", "count": 1}
    sandbox.control("faults", fault)
    lost = api.post("/api/v1/activities", json=body(portal), headers=auth(api_key))
    assert lost.status_code == 502 and lost.json["error"] == "portal_unavailable"
    [row] = request_rows()
    assert row.state is ApiRequestState.PENDING  # due at once: the retry looks the activity up
    retried = api.post("/api/v1/activities", json=body(portal), headers=auth(api_key))
    assert retried.status_code == 201, retried.json
    assert with_origin(sandbox, "helpdesk-4711") == [retried.json["activity_id"]]


# --- authentication and the portal ---


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic dXNlcjpwdw==",
        "Bearer",
        "Bearer tb_nothex_xxxxxxxxxxxxxxxxxxxxxxxx",
        "Bearer tb_0123456789ab_" + "A" * 43,
    ],
)
def test_requests_without_a_valid_key_get_401(api, sandbox, portal, api_key, header) -> None:
    headers = {"Authorization": header} if header else {}
    response = api.post("/api/v1/activities", json=body(portal), headers=headers)
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert with_origin(sandbox, "helpdesk-4711") == []


def test_a_wrong_secret_for_a_real_prefix_gets_401(api, sandbox, portal, api_key) -> None:
    forged = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    response = api.post("/api/v1/activities", json=body(portal), headers=auth(forged))
    assert response.status_code == 401 and response.json["message"] == "the API key is not valid"


def test_a_revoked_key_gets_401(api, sandbox, portal, api_key) -> None:
    keys.revoke(db.session.scalars(select(ApiKey)).one())
    db.session.commit()
    response = api.post("/api/v1/activities", json=body(portal), headers=auth(api_key))
    assert response.status_code == 401 and response.json["message"] == "the API key has been revoked"


def test_a_key_for_another_portal_gets_403(api, sandbox, portal, api_key) -> None:
    response = api.post("/api/v1/activities", json=body(portal, portal="f" * 32), headers=auth(api_key))
    assert response.status_code == 403 and response.json["error"] == "wrong_portal"
    assert with_origin(sandbox, "helpdesk-4711") == [] and request_rows() == []


def test_the_key_is_stored_only_as_a_digest_and_its_use_noted(api, sandbox, portal, api_key, caplog) -> None:
    [stored] = db.session.scalars(select(ApiKey)).all()
    secret = api_key.split("_", 2)[2]
    assert stored.secret_sha256 == keys.digest(secret) and secret not in repr(vars(stored))
    api.post("/api/v1/activities", json=body(portal), headers=auth(api_key))
    api.post("/api/v1/activities", json=body(portal), headers=auth(api_key[:-1] + "x"))
    db.session.expire_all()
    assert db.session.get(ApiKey, stored.id).last_used_at is not None
    assert secret not in caplog.text


# --- bad bodies ---


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"owner": None}, "owner"),
        ({"owner": {"type_id": 2, "id": "1"}}, "owner.id"),
        ({"owner": {"type_id": 0, "id": 1}}, "owner.type_id"),
        ({"owner": {"type_id": 2, "id": 1, "x": 1}}, "owner.x"),
        ({"portal": None}, "portal"),
        ({"subject": None, "layout": None}, "subject"),
        ({"subject": 5}, "subject"),
        ({"subject": "x" * 513}, "subject"),
        ({"template": "Follow-up call"}, "layout"),
        ({"template": True, "layout": None}, "template"),
        ({"layout": []}, "layout"),
        ({"layout": {"blocks": {"b1": {"type": "money", "properties": {}}}}}, "layout.blocks.b1.type"),
        (
            {"layout": {"blocks": {"b1": {"type": "text", "properties": {"value": "x", "color": "pink"}}}}},
            "layout.blocks.b1.properties.color",
        ),
        ({"deadline": "2026-12-01T10:00:00"}, "deadline"),
        ({"deadline": "tomorrow"}, "deadline"),
        ({"deadline": "9999-12-31T23:59:59-23:59"}, "deadline"),  # past the portal's DATETIME once in UTC
        ({"deadline": "0001-01-01T00:00:00+14:00"}, "deadline"),
        ({"responsible_id": -1}, "responsible_id"),
        ({"fields": {"SUBJECT": ["x"]}}, "fields"),
        ({"idempotency_key": None}, "idempotency_key"),
        ({"idempotency_key": "has space"}, "idempotency_key"),
        ({"idempotency_key": "k" * 101}, "idempotency_key"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_bodies_get_400_with_the_problems_path_and_create_nothing(
    api, sandbox, portal, api_key, overrides, path
) -> None:
    before = set(activities_of(sandbox))
    response = api.post("/api/v1/activities", json=body(portal, **overrides), headers=auth(api_key))
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_request" and "nothing was created" in response.json["message"]
    assert path in [p["path"] for p in response.json["problems"]], response.json
    assert all(p["message"] for p in response.json["problems"])
    assert set(activities_of(sandbox)) == before and request_rows() == []


def test_a_header_key_differing_from_the_bodys_is_refused(api, sandbox, portal, api_key) -> None:
    headers = {**auth(api_key), "Idempotency-Key": "other"}
    response = api.post("/api/v1/activities", json=body(portal), headers=headers)
    assert response.status_code == 400 and response.json["problems"][0]["code"] == "conflict"


@pytest.mark.parametrize("data", ["not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_gets_400(api, portal, api_key, data) -> None:
    headers = {**auth(api_key), "Content-Type": "application/json"}
    response = api.post("/api/v1/activities", data=data, headers=headers)
    assert response.status_code == 400 and response.json["error"] == "invalid_json"


def test_an_unknown_template_gets_404(api, sandbox, portal, api_key) -> None:
    request = body(portal, layout=None, template="No such template")
    response = api.post("/api/v1/activities", json=request, headers=auth(api_key))
    assert response.status_code == 404 and response.json["error"] == "template_not_found"
    assert request_rows() == []


# --- setting a layout ---


def test_put_layout_sets_the_apps_blocks(api, sandbox, portal, api_key) -> None:
    activity_id = sorted(activities_of(sandbox))[0]  # a seeded to-do
    response = api.put(
        f"/api/v1/activities/{activity_id}/layout",
        json={"portal": portal.member_id, "layout": LAYOUT},
        headers=auth(api_key),
    )
    assert response.status_code == 200, response.json
    assert response.json == {"activity_id": activity_id, "blocks_set": True}
    with sandbox.state.lock:
        assert list(sandbox.portal.crm.blocks_of(activity_id).values()) == [LAYOUT]


def test_put_layout_reports_problems_by_path_and_sends_nothing(api, sandbox, portal, api_key) -> None:
    activity_id = sorted(activities_of(sandbox))[0]
    layout = {"blocks": {"b1": {"type": "link", "properties": {"text": "x", "action": {"type": "redirect"}}}}}
    response = api.put(
        f"/api/v1/activities/{activity_id}/layout",
        json={"portal": portal.member_id, "layout": layout},
        headers=auth(api_key),
    )
    assert response.status_code == 400
    assert "layout.blocks.b1.properties.action.uri" in [p["path"] for p in response.json["problems"]]
    with sandbox.state.lock:
        assert sandbox.portal.crm.blocks_of(activity_id) == {}


@pytest.mark.parametrize(
    ("payload", "status", "error"),
    [
        ({"layout": LAYOUT}, 400, "invalid_request"),
        ({"portal": "f" * 32, "layout": LAYOUT}, 403, "wrong_portal"),
    ],
)
def test_put_layout_refusals(api, sandbox, portal, api_key, payload, status, error) -> None:
    response = api.put("/api/v1/activities/1/layout", json=payload, headers=auth(api_key))
    assert response.status_code == status and response.json["error"] == error


def test_put_layout_on_a_missing_activity_gets_404_and_on_an_app_activity_says_why(
    api, sandbox, portal, api_key
) -> None:
    payload = {"portal": portal.member_id, "layout": LAYOUT}
    missing = api.put("/api/v1/activities/999999/layout", json=payload, headers=auth(api_key))
    assert missing.status_code == 404 and missing.json["error"] == "activity_not_found"
    sandbox.configure(rest_app_blocks_allowed=False)
    made = create_app_activity(client_for(portal), owner_type_id=2, owner_id=1, subject="s")
    refused = api.put(f"/api/v1/activities/{made.activity_id}/layout", json=payload, headers=auth(api_key))
    assert refused.status_code == 422 and "content blocks" in refused.json["message"]
    assert api.put("/api/v1/activities/1/layout", json=payload).status_code == 401


# --- the OpenAPI description ---


def test_openapi_describes_exactly_the_routes(api, connected_app) -> None:
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    Draft202012Validator.check_schema(spec["components"]["schemas"]["CreateActivity"])
    described = {
        ("/api/v1" + path.replace("{activity_id}", "<int:activity_id>"), method.upper())
        for path, item in spec["paths"].items()
        for method in item
    }
    routed = {
        (rule.rule, method)
        for rule in connected_app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert described == routed
    assert spec["openapi"] == "3.1.0" and spec["servers"][0]["url"].endswith("/api/v1")


def schema_for(spec: dict[str, Any], name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]})


def test_openapi_examples_validate_and_work(api, sandbox, portal, api_key) -> None:
    spec = openapi.spec("http://x/api/v1")
    post = spec["paths"]["/activities"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    for example in examples.values():
        schema_for(spec, "CreateActivity").validate(example["value"])
    schema_for(spec, "Created").validate(post["responses"]["201"]["content"]["application/json"]["example"])
    schema_for(spec, "Error").validate(post["responses"]["400"]["content"]["application/json"]["example"])
    put = spec["paths"]["/activities/{activity_id}/layout"]["put"]
    schema_for(spec, "SetLayout").validate(put["requestBody"]["content"]["application/json"]["example"])
    for name, example in examples.items():
        request = copy.deepcopy(example["value"]) | {
            "portal": portal.domain,
            "owner": {"type_id": 2, "id": 1},  # the demo portal's deal
            "idempotency_key": f"example-{name}",
        }
        response = api.post("/api/v1/activities", json=request, headers=auth(api_key))
        assert response.status_code == 201, response.json
        schema_for(spec, "Created").validate(response.json)
    refused = api.post("/api/v1/activities", json={"portal": portal.domain}, headers=auth(api_key))
    schema_for(spec, "Error").validate(refused.json)
