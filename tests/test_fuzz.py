"""Fuzzing every entry point a stranger can reach: never a 500, and nothing stored from a refused request.

/events, /install, the frame entry points (the main page and the CRM_ACTIVITY_LIST_MENU placement) and
the API bodies get generated input, derandomized so CI sees the same cases every run. After each refused
request the database (every table the request could touch) and the sandbox portal (activities, content
blocks, the app's handlers and placements) must be as they were.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.portals.store import set_application_token
from sandbox.apps import find_app

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
APP_TOKEN = "a1" * 16
# Tables a request may touch without storing anything: the portal's rate-limit bucket (a portal call
# takes a slot), the unverified-token throttle (a refused token keeps its unit) and an API key's last use.
UNSTORED = {"rate_limits", "verify_throttle", "api_keys"}

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
hexes = st.text("0123456789abcdef", min_size=0, max_size=70)
event_names = (
    st.sampled_from(
        [
            "ONCRMACTIVITYADD",
            "ONCRMACTIVITYUPDATE",
            "ONCRMACTIVITYDELETE",
            "ONCRMTIMELINEITEMACTION",
            "ONAPPINSTALL",
            "ONAPPUPDATE",
            "ONAPPUNINSTALL",
            "onCrmActivityAdd",
        ]
    )
    | text
)
event_keys = (
    st.sampled_from(
        [
            "event",
            "event_handler_id",
            "ts",
            "data[FIELDS][ID]",
            "data[CLEAN]",
            "auth[member_id]",
            "auth[application_token]",
            "auth[access_token]",
            "auth[refresh_token]",
            "auth[domain]",
            "auth[client_endpoint]",
            "auth[server_endpoint]",
            "data[FIELDS]",
            "auth",
            "data[][x]",
            "a[b",
            "__proto__[polluted]",
        ]
    )
    | text
)


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table the app stores, as plain tuples."""
    db.session.expire_all()
    tables = [t for t in db.metadata.sorted_tables if t.name not in UNSTORED]
    state = {t.name: sorted(map(tuple, db.session.execute(select(t)).all()), key=repr) for t in tables}
    db.session.rollback()
    return state


def portal_state(sandbox) -> Any:
    """What a request could change on the sandbox portals: activities, blocks, the app's registrations."""
    with sandbox.state.lock:
        return [
            (
                {i: (repr(a.fields), repr(a.bindings)) for i, a in p.crm.activities.items()},
                repr(p.crm.layout_blocks),
                repr(sorted(p.crm.types)),
                [(a.installed, repr(a.events), repr(a.placements)) for a in p.apps.values()],
            )
            for p in sandbox.portals
        ]


@pytest.fixture
def world(connected_app, sandbox, portal):
    """The app with one installed portal whose events carry a known application_token."""
    set_application_token(portal, APP_TOKEN)
    db.session.commit()
    return connected_app.test_client(), portal


def assert_refused_and_unchanged(response, before: dict, sandbox, portals_before: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert snapshot() == before
        assert portal_state(sandbox) == portals_before


@FUZZ
@given(
    pairs=st.lists(st.tuples(event_keys, text | hexes | event_names), max_size=12),
    name=event_names,
    claim_member=st.booleans(),
)
def test_events_never_fail_and_store_nothing_without_the_portals_token(
    world, sandbox, pairs, name, claim_member
) -> None:
    client, portal = world
    before, portals_before = snapshot(), portal_state(sandbox)
    head = [("event", name), ("auth[member_id]", portal.member_id if claim_member else "f" * 32)]
    response = client.post("/events", data=urlencode(head + pairs), headers=FORM)
    if response.status_code == 200:  # an event the manifest does not bind: answered, never stored
        assert response.get_json()["status"] == "ignored" and snapshot() == before
        return
    assert response.status_code in (400, 401, 403, 413), response.get_data(as_text=True)[:300]
    assert_refused_and_unchanged(response, before, sandbox, portals_before)


@FUZZ
@given(
    raw=st.binary(max_size=400)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | text,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=12,
    ).map(lambda value: json.dumps(value).encode()),
    content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain"]),
)
def test_events_take_any_bytes_without_a_500(world, sandbox, raw, content_type) -> None:
    client, _ = world
    before, portals_before = snapshot(), portal_state(sandbox)
    response = client.post("/events", data=raw, headers={"Content-Type": content_type})
    assert response.status_code >= 400
    assert_refused_and_unchanged(response, before, sandbox, portals_before)


frame_fields = st.fixed_dictionaries(
    {},
    optional={
        "AUTH_ID": hexes | text,
        "AUTH_EXPIRES": text,
        "REFRESH_ID": hexes | text,
        "member_id": hexes | text,
        "status": st.sampled_from(["L", "F", "D", ""]) | text,
        "PLACEMENT": st.sampled_from(["DEFAULT", "CRM_ACTIVITY_LIST_MENU", ""]) | text,
        "PLACEMENT_OPTIONS": st.sampled_from(['{"ID":"1"}', '{"ID":"-1"}', '{"ID":"x"}', "[]", "{", "null"])
        | text,
        "SERVER_ENDPOINT": st.sampled_from(["http://127.0.0.1:1/rest/", "https://evil.example/rest/"]) | text,
        "APPLICATION_TOKEN": hexes,
    },
)
frame_query = st.fixed_dictionaries(
    {},
    optional={
        "DOMAIN": st.sampled_from(["127.0.0.1:1", "evil.example", ""]) | text,
        "PROTOCOL": st.sampled_from(["0", "1", "2"]) | text,
        "LANG": st.sampled_from(["en", "ru", "xx"]) | text,
        "APP_SID": hexes,
    },
)


@pytest.mark.parametrize("path", ["/install", "/", "/placements/activity-menu"])
def test_frame_entry_points_never_fail_and_store_nothing_for_a_forged_frame(world, sandbox, path) -> None:
    client, portal = world
    real_domain = sandbox.portal.domain

    @FUZZ
    @given(fields=frame_fields, query=frame_query, real=st.booleans())
    def check(fields: dict[str, str], query: dict[str, str], real: bool) -> None:
        if real:  # the right portal named, with a token the portal never issued
            fields = {**fields, "member_id": portal.member_id}
            query = {**query, "DOMAIN": real_domain}
        before, portals_before = snapshot(), portal_state(sandbox)
        response = client.post(f"{path}?{urlencode(query)}", data=fields)
        assert response.status_code >= 400, response.get_data(as_text=True)[:300]
        assert_refused_and_unchanged(response, before, sandbox, portals_before)

    check()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**12) | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=10,
)


@pytest.fixture
def api_key(world) -> str:
    keys = pytest.importorskip("app.api.keys")
    _, portal = world
    _, full = keys.create_key(portal.member_id, "fuzz")
    db.session.commit()
    return full


def test_api_bodies_never_fail_and_a_refused_one_creates_nothing(world, sandbox, api_key) -> None:
    client, portal = world
    if "api.create_activity" not in client.application.view_functions:
        pytest.skip("the inbound API is not served")
    valid = {
        "portal": portal.member_id,
        "owner": {"type_id": 2, "id": 1},
        "subject": "Fuzzed ticket",
        "idempotency_key": "fuzz-1",
    }
    fields = st.sampled_from(
        [*valid, "description", "template", "layout", "fields", "responsible_id", "deadline", "extra"]
    )

    @FUZZ
    @given(
        changes=st.dictionaries(fields, json_values, max_size=4), drop=st.lists(st.sampled_from(list(valid)))
    )
    def check(changes: dict[str, Any], drop: list[str]) -> None:
        body = {k: v for k, v in {**valid, **changes}.items() if k not in drop}
        if body == valid:
            return
        before, portals_before = snapshot(), portal_state(sandbox)
        response = client.post(
            "/api/v1/activities", json=body, headers={"Authorization": f"Bearer {api_key}"}
        )
        assert_refused_and_unchanged(response, before, sandbox, portals_before)

    check()


def test_api_layouts_never_fail_and_a_refused_one_sets_nothing(world, sandbox, api_key) -> None:
    client, portal = world
    if "api.set_layout" not in client.application.view_functions:
        pytest.skip("the inbound API is not served")
    activity_id = min(sandbox.portal.crm.activities)
    block = st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "link", "largeText", "x"]) | text}
    ).flatmap(
        lambda b: st.fixed_dictionaries({**{k: st.just(v) for k, v in b.items()}, "properties": json_values})
    )
    layouts = st.fixed_dictionaries({"blocks": st.dictionaries(text, block, max_size=3)}) | json_values

    @FUZZ
    @given(layout=layouts, portal_name=st.just(portal.member_id) | text)
    def check(layout: Any, portal_name: str) -> None:
        before, portals_before = snapshot(), portal_state(sandbox)
        response = client.put(
            f"/api/v1/activities/{activity_id}/layout",
            json={"portal": portal_name, "layout": layout},
            headers={"Authorization": f"Bearer {api_key}"},
        )
        assert_refused_and_unchanged(response, before, sandbox, portals_before)

    check()


def test_the_fuzzed_portal_is_still_whole_afterwards(world, sandbox) -> None:
    """The fixture itself is sound: the portal's own events are accepted (so the refusals above mean it)."""
    client, portal = world
    app_row = find_app(sandbox.state, sandbox.portal)
    assert app_row.installed
    pairs = [
        ("event", "ONCRMACTIVITYADD"),
        ("event_handler_id", "7"),
        ("data[FIELDS][ID]", "5"),
        ("ts", "1762089975"),
        ("auth[member_id]", portal.member_id),
        ("auth[application_token]", APP_TOKEN),
    ]
    response = client.post("/events", data=urlencode(pairs), headers=FORM)
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"


# --- deep nesting and huge numbers, on every entry point (app.inputs bounds both) ---

DEEP_FUZZ = settings(FUZZ, max_examples=60)
number_text = (
    st.integers(2**31, 10**40).map(str)
    | st.integers(-(10**40), -(2**31)).map(str)
    | st.integers(5, 6000).map(lambda n: "9" * n)  # past Python's 4300-digit int() limit too
    | st.sampled_from(["1e999", "-0", "NaN", "Infinity", "0.0000001"])
)


def nested(depth: int, leaf: str, kind: str) -> str:
    """JSON text nesting `leaf` `depth` levels deep in arrays or objects."""
    opener, closer = ("[", "]") if kind == "list" else ('{"a":', "}")
    return opener * depth + leaf + closer * depth


deep_json = st.builds(
    nested, st.integers(1, 4000), number_text | st.just('"x"'), st.sampled_from(["list", "dict"])
)
deep_or_huge = deep_json | number_text
TEXT_LAYOUT = '{"blocks": {"b1": {"type": "text", "properties": {"value": @V@}}}}'


def put(template: str, *values: str) -> str:
    """JSON text with each @V@ marker replaced, in order, by one of `values` (raw JSON text)."""
    for value in values:
        template = template.replace("@V@", value, 1)
    return template


@DEEP_FUZZ
@given(value=deep_or_huge, name=event_names, claim_member=st.booleans(), as_json=st.booleans())
def test_events_take_deep_json_and_huge_numbers_without_a_500(
    world, sandbox, value, name, claim_member, as_json
):
    client, portal = world
    member = portal.member_id if claim_member else "f" * 32
    before, portals_before = snapshot(), portal_state(sandbox)
    if as_json:
        auth = json.dumps({"member_id": member, "application_token": "0" * 32})
        raw = put('{"event": @V@, "auth": @V@, "data": @V@}', json.dumps(name), auth, value)
        response = client.post("/events", data=raw, headers={"Content-Type": "application/json"})
    else:
        pairs = [("event", name), ("auth[member_id]", member), ("auth[application_token]", "0" * 32)]
        pairs += [("data[FIELDS][ID]", value), ("ts", value), ("event_handler_id", value)]
        response = client.post("/events", data=urlencode(pairs), headers=FORM)
    assert response.status_code in (200, 400, 401, 413), response.get_data(as_text=True)[:300]
    assert_refused_and_unchanged(response, before, sandbox, portals_before)


@pytest.mark.parametrize("path", ["/install", "/", "/placements/activity-menu"])
def test_frame_entry_points_take_deep_options_and_huge_numbers_without_a_500(world, sandbox, path) -> None:
    client, portal = world

    @DEEP_FUZZ
    @given(options=deep_or_huge.map(lambda v: put('{"ID": @V@}', v)) | deep_json, expires=number_text)
    def check(options: str, expires: str) -> None:
        fields = {"AUTH_ID": "a" * 70, "member_id": portal.member_id, "PLACEMENT_OPTIONS": options}
        fields["AUTH_EXPIRES"] = expires
        query = urlencode({"DOMAIN": sandbox.portal.domain, "PROTOCOL": "0"})
        before, portals_before = snapshot(), portal_state(sandbox)
        response = client.post(f"{path}?{query}", data=fields)
        assert response.status_code >= 400, response.get_data(as_text=True)[:300]
        assert_refused_and_unchanged(response, before, sandbox, portals_before)

    check()


def test_api_bodies_take_deep_json_and_huge_numbers_without_a_500(world, sandbox, api_key) -> None:
    client, portal = world
    fields = st.sampled_from(["layout", "fields", "template", "responsible_id", "owner", "subject", "extra"])

    @DEEP_FUZZ
    @given(field=fields, value=deep_or_huge, owner_id=number_text | st.just("1"))
    def check(field: str, value: str, owner_id: str) -> None:
        body = '{"portal": @V@, "owner": {"type_id": 2, "id": @V@}, "subject": "D", "idempotency_key": "d1"'
        body += ", @V@: @V@}"
        raw = put(body, json.dumps(portal.member_id), owner_id, json.dumps(field), value)
        before, portals_before = snapshot(), portal_state(sandbox)
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        response = client.post("/api/v1/activities", data=raw, headers=headers)
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert_refused_and_unchanged(response, before, sandbox, portals_before)

    check()


def test_api_layouts_take_deep_json_and_huge_numbers_without_a_500(world, sandbox, api_key) -> None:
    client, portal = world
    activity_id = min(sandbox.portal.crm.activities)

    @DEEP_FUZZ
    @given(value=deep_or_huge, path_id=st.just(str(activity_id)) | number_text.filter(str.isdigit))
    def check(value: str, path_id: str) -> None:
        raw = put('{"portal": @V@, "layout": @V@}', json.dumps(portal.member_id), put(TEXT_LAYOUT, value))
        before, portals_before = snapshot(), portal_state(sandbox)
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        response = client.put(f"/api/v1/activities/{path_id}/layout", data=raw, headers=headers)
        assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
        assert_refused_and_unchanged(response, before, sandbox, portals_before)

    check()


@pytest.mark.parametrize("path", ["/rules", "/templates"])
def test_rules_and_templates_take_deep_layouts_and_huge_numbers_without_a_500(world, sandbox, path) -> None:
    from app.portals import page_tokens

    client, portal = world

    @DEEP_FUZZ
    @given(
        layout=deep_or_huge.map(lambda v: put(TEXT_LAYOUT, v)) | deep_json,
        number=number_text,
    )
    def check(layout: str, number: str) -> None:
        token = page_tokens.issue(  # each spent once
            member_id=portal.member_id, user_id=1, is_admin=True, generation=portal.generation
        )
        form = {"page_token": token, "lang": "en", "name": "Deep", "subject": "s", "layout": layout}
        form |= {"provider_id": "CRM_TODO", "type_id": number, "owner_type_id": number, "direction": number}
        before, portals_before = snapshot(), portal_state(sandbox)
        response = client.post(path, data=form)
        assert response.status_code < 500, response.get_data(as_text=True)[:300]
        if path == "/rules":  # its type_id is the huge number: always refused
            assert response.status_code == 400, response.get_data(as_text=True)[:300]
        if response.status_code < 400:  # a template whose text block holds a small number ("-0")
            return
        after = snapshot()
        # The page seeds the default templates once, and spends its token's nonce (app.portals.nonces).
        for table in ("activity_templates", "activity_template_seeds", "used_nonces"):
            before.pop(table), after.pop(table)
        assert after == before and portal_state(sandbox) == portals_before

    check()
