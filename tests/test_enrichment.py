"""Enrichment rules: matching, rendering, validation on save, and the worker setting blocks on the sandbox."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select

from app.bitrix24 import activities
from app.extensions import db
from app.inbox.enrichment import RuleError, matching_rules, render, validate_rule
from app.inbox.queue import Inbox
from app.inbox.worker import Worker
from app.layout import Code, LayoutError
from app.models import EnrichmentRule, Portal
from app.portals.connections import client_for
from tests.test_worker import accept_all, counting, event, make_activities, mirror

MEMBER = "m" * 32
TEMPLATE: dict[str, Any] = {
    "blocks": {
        "subject": {"type": "text", "properties": {"value": "Subject: {{SUBJECT}}", "bold": True}},
        "owner": {
            "type": "withTitle",
            "properties": {
                "title": "Owner",
                "block": {"type": "text", "properties": {"value": "{{OWNER_TYPE_ID}}/{{OWNER_ID}}"}},
            },
        },
        "open": {
            "type": "link",
            "properties": {
                "text": "Activity {{ID}} for user {{RESPONSIBLE_ID}}",
                "action": {"type": "redirect", "uri": "/crm/activity/{{ID}}/"},
            },
        },
    }
}
# Valid with any sample text, but not with every value: "javascript:…" is no portal path or http(s) URL.
LINK_TO_DESCRIPTION = {
    "blocks": {
        "go": {
            "type": "link",
            "properties": {"text": "Go", "action": {"type": "redirect", "uri": "{{DESCRIPTION}}"}},
        }
    }
}
FIELDS = {
    "ID": "17",
    "PROVIDER_ID": "CRM_TODO",
    "TYPE_ID": "6",
    "OWNER_TYPE_ID": "2",
    "OWNER_ID": "4",
    "DIRECTION": "0",
    "SUBJECT": "Send the draft",
    "RESPONSIBLE_ID": "3",
}


def save_rule(member_id: str = MEMBER, layout: dict[str, Any] | None = None, **values: Any) -> EnrichmentRule:
    rule = validate_rule({"member_id": member_id, "name": "rule", "layout": layout or TEMPLATE, **values})
    db.session.add(rule)
    db.session.commit()
    return rule


# --- matching ---


@pytest.mark.parametrize(
    ("matchers", "matched"),
    [
        ({}, True),
        ({"provider_id": "CRM_TODO"}, True),
        ({"provider_id": "VOXIMPLANT_CALL"}, False),
        ({"type_id": 6}, True),
        ({"type_id": 2}, False),
        ({"owner_type_id": 2}, True),
        ({"owner_type_id": 1}, False),
        ({"direction": 0}, True),
        ({"direction": 1}, False),
        ({"provider_id": "CRM_TODO", "type_id": 6, "owner_type_id": 2, "direction": 0}, True),
        ({"provider_id": "CRM_TODO", "type_id": 6, "owner_type_id": 2, "direction": 2}, False),
    ],
)
def test_each_matcher_must_equal_the_activity_field_and_none_matches_any(app, matchers, matched) -> None:
    rule = save_rule(**matchers)
    assert (matching_rules(MEMBER, FIELDS) == [rule]) is matched


def test_only_enabled_rules_of_the_same_portal_match_in_id_order(app) -> None:
    first, second = save_rule(), save_rule()
    save_rule(member_id="o" * 32)
    save_rule(enabled=False)
    assert matching_rules(MEMBER, FIELDS) == [first, second]


# --- rendering ---


def test_render_fills_placeholders_from_the_activity_fields(app) -> None:
    blocks = render(save_rule(), FIELDS)["blocks"]
    assert blocks["subject"]["properties"]["value"] == "Subject: Send the draft"
    assert blocks["owner"]["properties"]["block"]["properties"]["value"] == "2/4"
    assert blocks["open"]["properties"]["text"] == "Activity 17 for user 3"
    assert blocks["open"]["properties"]["action"]["uri"] == "/crm/activity/17/"


def test_a_missing_field_renders_empty_and_a_value_holding_a_placeholder_is_not_expanded(app) -> None:
    fields = {**FIELDS, "SUBJECT": "{{ID}}"}
    del fields["RESPONSIBLE_ID"]
    blocks = render(save_rule(), fields)["blocks"]
    assert blocks["subject"]["properties"]["value"] == "Subject: {{ID}}"
    assert blocks["open"]["properties"]["text"] == "Activity 17 for user "


def test_a_template_invalid_once_filled_raises_with_the_path(app) -> None:
    layout = LINK_TO_DESCRIPTION
    rule = save_rule(layout=layout)
    with pytest.raises(LayoutError) as raised:
        render(rule, {**FIELDS, "DESCRIPTION": "javascript:alert(1)"})
    assert raised.value.problems[0].path == "blocks.go.properties.action.uri"


# --- validation on save ---


def with_block(block: dict[str, Any]) -> dict[str, Any]:
    layout = copy.deepcopy(TEMPLATE)
    layout["blocks"]["extra"] = block
    return layout


@pytest.mark.parametrize(
    ("layout", "code", "path"),
    [
        (
            with_block({"type": "text", "properties": {"value": "x", "color": "{{SUBJECT}}"}}),
            Code.ENUM_FIELD,
            "blocks.extra.properties.color",
        ),
        (
            with_block({"type": "text", "properties": {"value": "x", "size": "{{SUBJECT}}"}}),
            Code.ENUM_FIELD,
            "blocks.extra.properties.size",
        ),
        (
            with_block({"type": "text", "properties": {"value": "x", "bold": "{{COMPLETED}}"}}),
            Code.WRONG_FIELD_VALUE,
            "blocks.extra.properties.bold",
        ),
        (
            with_block({"type": "{{SUBJECT}}", "properties": {"value": "x"}}),
            Code.ENUM_FIELD,
            "blocks.extra.type",
        ),
        (
            with_block({"type": "text", "properties": {"value": "{{NOT_A_FIELD}}"}}),
            Code.WRONG_FIELD_VALUE,
            "blocks.extra.properties.value",
        ),
        (
            with_block({"type": "text", "properties": {}}),
            Code.FIELD_IS_REQUIRED,
            "blocks.extra.properties.value",
        ),
        ({"blocks": {}}, Code.FIELD_IS_REQUIRED, "blocks"),
    ],
)
def test_an_invalid_template_is_refused_with_the_code_and_path(app, layout, code, path) -> None:
    with pytest.raises(LayoutError) as raised:
        validate_rule({"member_id": MEMBER, "name": "bad", "layout": layout})
    assert (raised.value.problems[0].code, raised.value.problems[0].path) == (code, path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "name"),
        ({"member_id": ""}, "portal"),
        ({"layout": "{not json"}, "not JSON"),
        ({"layout": "[1]"}, "JSON object"),
        ({"type_id": "call"}, "type must be a number"),
        ({"direction": "in"}, "direction must be a number"),
    ],
)
def test_a_rule_without_name_portal_json_or_numeric_matchers_is_refused(app, data, message) -> None:
    with pytest.raises(RuleError, match=message):
        validate_rule({"member_id": MEMBER, "name": "r", "layout": TEMPLATE, **data})


def test_a_valid_rule_takes_json_text_and_blank_matchers_mean_any(app) -> None:
    rule = validate_rule(
        {
            "member_id": MEMBER,
            "name": " r ",
            "layout": json.dumps(TEMPLATE),
            "provider_id": " ",
            "type_id": "6",
        }
    )
    assert (rule.name, rule.provider_id, rule.type_id, rule.owner_type_id, rule.layout) == (
        "r",
        None,
        6,
        None,
        TEMPLATE,
    )


# --- the worker, end to end with the sandbox ---


def run_worker(requests: list[str] | None = None, batch_size: int = 50) -> None:
    Worker(
        Inbox(db.session), connect=counting([] if requests is None else requests), batch_size=batch_size
    ).run(once=True)


def blocks_on_portal(portal: Portal, sandbox, activity_id: int) -> dict[str, Any] | None:
    """What the portal answers crm.activity.layout.blocks.get with, through the app's own client."""
    fields = sandbox.portal.crm.activities[activity_id].fields
    request = activities.blocks_get(fields["OWNER_TYPE_ID"], fields["OWNER_ID"], activity_id)
    return client_for(portal).run(request)


def rules() -> dict[int, EnrichmentRule]:
    db.session.expire_all()
    return {rule.id: rule for rule in db.session.scalars(select(EnrichmentRule))}


def test_the_worker_sets_a_matching_rules_blocks_and_stores_them_on_the_mirror(portal, sandbox) -> None:
    rule_id = save_rule(portal.member_id, provider_id="CRM_TODO").id
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id)])
    requests: list[str] = []
    run_worker(requests)
    assert requests == ["batch:ok", "batch:ok"]  # the get, then the set
    layout = blocks_on_portal(portal, sandbox, activity_id)
    subject = sandbox.portal.crm.activities[activity_id].fields["SUBJECT"]
    assert layout is not None and layout["blocks"]["subject"]["properties"]["value"] == f"Subject: {subject}"
    assert layout["blocks"]["open"]["properties"]["action"]["uri"] == f"/crm/activity/{activity_id}/"
    assert mirror(portal.member_id)[activity_id].layout == layout
    assert rules()[rule_id].applied_count == 1 and rules()[rule_id].last_error is None


def test_an_activity_no_rule_matches_gets_no_call_and_no_layout(portal, sandbox) -> None:
    save_rule(portal.member_id, provider_id="VOXIMPLANT_CALL")
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id)])
    requests: list[str] = []
    run_worker(requests)
    assert requests == ["batch:ok"]
    assert blocks_on_portal(portal, sandbox, activity_id) is None
    assert mirror(portal.member_id)[activity_id].layout is None


def test_an_unchanged_activity_is_not_set_again_and_a_changed_one_is(portal, sandbox) -> None:
    save_rule(portal.member_id)
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id)])
    run_worker()
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id, ts=1762089980)])
    requests: list[str] = []
    run_worker(requests)
    assert requests == ["batch:ok"]  # read, found the same layout, sent nothing
    client_for(portal).run(activities.update(activity_id, {"SUBJECT": "Renamed"}))
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id, ts=1762089990)])
    requests.clear()
    run_worker(requests)
    assert requests == ["batch:ok", "batch:ok"]
    layout = blocks_on_portal(portal, sandbox, activity_id)
    assert layout is not None and layout["blocks"]["subject"]["properties"]["value"] == "Subject: Renamed"
    assert mirror(portal.member_id)[activity_id].layout == layout


def test_many_activities_of_a_portal_take_one_set_batch(portal, sandbox) -> None:
    save_rule(portal.member_id)
    ids = make_activities(sandbox, 40)
    accept_all(portal, [event("ONCRMACTIVITYADD", i) for i in ids])
    requests: list[str] = []
    run_worker(requests, batch_size=50)
    assert requests == ["batch:ok", "batch:ok"]
    rows = mirror(portal.member_id)
    assert all(rows[i].layout == blocks_on_portal(portal, sandbox, i) is not None for i in ids)
    assert all(
        rows[i].layout["blocks"]["open"]["properties"]["text"].startswith(f"Activity {i} ") for i in ids
    )


def rest_app_activity(portal: Portal, sandbox) -> int:
    owner_type_id, owner_id = sorted(sandbox.portal.owners)[0]
    fields = {
        "OWNER_TYPE_ID": owner_type_id,
        "OWNER_ID": owner_id,
        "PROVIDER_ID": "REST_APP",
        "SUBJECT": "From an app",
        "RESPONSIBLE_ID": 1,
    }
    return client_for(portal).run(activities.add(fields))


def test_an_unsuitable_activity_is_recorded_and_skipped_while_the_others_get_blocks(portal, sandbox) -> None:
    rule_id = save_rule(portal.member_id).id
    unsuitable = rest_app_activity(portal, sandbox)
    [todo] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", unsuitable), event("ONCRMACTIVITYADD", todo)])
    requests: list[str] = []
    run_worker(requests)
    assert requests == ["batch:ok", "batch:ok"]  # not retried
    assert blocks_on_portal(portal, sandbox, unsuitable) is None
    assert blocks_on_portal(portal, sandbox, todo) is not None
    rows = mirror(portal.member_id)
    assert rows[unsuitable].layout is None and rows[todo].layout is not None
    rule = rules()[rule_id]
    assert (rule.applied_count, rule.skipped_count, rule.error_count) == (1, 1, 0)
    assert f"activity {unsuitable}" in (rule.last_error or "")
    assert "not supported" in (rule.last_error or "")
    assert Inbox(db.session).claim_batch(10).events == []  # the events settled: nothing waits for a retry


def test_a_rule_rendering_invalid_is_recorded_and_nothing_is_sent(portal, sandbox) -> None:
    layout = LINK_TO_DESCRIPTION
    rule_id = save_rule(portal.member_id, layout=layout).id
    [activity_id] = make_activities(sandbox, 1)
    client_for(portal).run(activities.update(activity_id, {"DESCRIPTION": "javascript:alert(1)"}))
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id)])
    requests: list[str] = []
    run_worker(requests)
    assert requests == ["batch:ok"]
    assert blocks_on_portal(portal, sandbox, activity_id) is None
    rule = rules()[rule_id]
    assert rule.error_count == 1 and "blocks.go.properties.action.uri" in (rule.last_error or "")
    assert mirror(portal.member_id)[activity_id].layout is None


def test_a_disabled_rule_sets_nothing(portal, sandbox) -> None:
    save_rule(portal.member_id, enabled=False)
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id)])
    requests: list[str] = []
    run_worker(requests)
    assert requests == ["batch:ok"]
    assert blocks_on_portal(portal, sandbox, activity_id) is None


def test_a_change_delivered_by_the_portal_gets_the_rules_blocks(
    installed, live_app, sandbox, tmp_path
) -> None:
    cli = live_app.app.test_cli_runner()
    template = tmp_path / "layout.json"
    template.write_text(json.dumps(TEMPLATE), encoding="utf-8")
    added = cli.invoke(
        args=["rules", "add", "--portal", installed.member_id, "--name", "all", "--layout", template]
    )
    assert added.exit_code == 0, added.output
    activity_id = min(sandbox.portal.crm.activities)
    response = sandbox.call("crm.activity.update", {"id": activity_id, "fields": {"SUBJECT": "Quote sent"}})
    assert response.status_code == 200, response.text
    assert sandbox.wait_for_deliveries(2)[-1].status == 200
    result = cli.invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "1 claimed, 1 done, 0 failed" in result.output
    [layout] = sandbox.portal.crm.blocks_of(activity_id).values()  # the sandbox's own record of the set
    assert layout["blocks"]["subject"]["properties"]["value"] == "Subject: Quote sent"
    assert mirror(installed.member_id)[activity_id].layout == layout


def test_a_refused_set_is_recorded_not_retried_and_the_next_event_tries_again(portal, sandbox) -> None:
    rule_id = save_rule(portal.member_id).id
    [activity_id] = make_activities(sandbox, 1)
    sandbox.portal.users[1].can_edit_crm = False  # the app's user may read the activity, not change it
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id)])
    requests: list[str] = []
    run_worker(requests)
    assert requests == ["batch:ok", "batch:ok"]
    rule = rules()[rule_id]
    assert (rule.applied_count, rule.error_count) == (0, 1) and f"activity {activity_id}" in rule.last_error
    assert mirror(portal.member_id)[activity_id].layout is None
    assert Inbox(db.session).claim_batch(10).events == []
    sandbox.portal.users[1].can_edit_crm = True
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id, ts=1762089980)])
    run_worker()
    assert blocks_on_portal(portal, sandbox, activity_id) == mirror(portal.member_id)[activity_id].layout
    assert rules()[rule_id].applied_count == 1


def test_a_changed_rule_is_applied_again_on_the_next_event(portal, sandbox) -> None:
    rule = save_rule(portal.member_id)
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id)])
    run_worker()
    changed = copy.deepcopy(TEMPLATE)
    changed["blocks"]["subject"]["properties"]["value"] = "About: {{SUBJECT}}"
    rule.layout = changed
    db.session.commit()
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id, ts=1762089980)])
    requests: list[str] = []
    run_worker(requests)
    assert requests == ["batch:ok", "batch:ok"]
    layout = blocks_on_portal(portal, sandbox, activity_id)
    assert layout is not None and layout["blocks"]["subject"]["properties"]["value"].startswith("About: ")
