"""Creating the app's activities against the sandbox: REST_APP with blocks, the to-do fallback, ORIGIN_ID."""

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest

from app.activities.rest_app import Created, create_app_activity, find_by_origin, resume_app_activity
from app.bitrix24 import activities
from app.bitrix24.errors import AccessDenied, ValidationError
from app.layout import LayoutError
from app.portals.connections import client_for

OWNER = (2, 1)  # the demo portal's first deal
LAYOUT: dict[str, Any] = {
    "blocks": {
        "ticket": {
            "type": "withTitle",
            "properties": {"title": "Ticket", "block": {"type": "text", "properties": {"value": "#4711"}}},
        }
    }
}


def made(sandbox) -> dict[int, Any]:
    """The sandbox portal's activities by id (its own store, not through the app)."""
    with sandbox.state.lock:
        return dict(sandbox.portal.crm.activities)


def blocks(sandbox, activity_id: int) -> list[dict[str, Any]]:
    with sandbox.state.lock:
        return list(sandbox.portal.crm.blocks_of(activity_id).values())


def create(portal, **overrides: Any) -> Created:
    values: dict[str, Any] = {
        "owner_type_id": OWNER[0],
        "owner_id": OWNER[1],
        "subject": "Ticket #4711 answered",
        "description": "Support answered.",
        "layout": LAYOUT,
        "responsible_id": 1,
    }
    return create_app_activity(client_for(portal), **(values | overrides))


def test_a_rest_app_activity_gets_its_blocks_where_the_portal_accepts_them(sandbox, portal) -> None:
    sandbox.configure(rest_app_blocks_allowed=True)
    before = set(made(sandbox))
    created = create(portal, origin_id="tb-api:k1")
    [new] = set(made(sandbox)) - before
    activity = made(sandbox)[new]
    assert created == Created(new, False, True, "REST_APP", 2, 1)
    assert activity.provider == "REST_APP" and activity.field("PROVIDER_TYPE_ID") == "TIMELINE_BRIDGE"
    assert activity.field("ORIGIN_ID") == "tb-api:k1" and activity.field("SUBJECT") == "Ticket #4711 answered"
    assert activity.bindings == [OWNER] and activity.field("RESPONSIBLE_ID") == 1
    assert blocks(sandbox, new) == [LAYOUT]


def test_where_the_portal_refuses_blocks_a_todo_with_them_replaces_the_rest_app_activity(
    sandbox, portal
) -> None:
    sandbox.configure(rest_app_blocks_allowed=False)
    before = set(made(sandbox))
    deadline = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    created = create(portal, origin_id="tb-api:k2", deadline=deadline)
    [new] = set(made(sandbox)) - before  # the REST_APP activity made first is gone
    todo = made(sandbox)[new]
    assert created.fallback and created.blocks_set and created.provider_id == "CRM_TODO"
    assert created.activity_id == new and todo.provider == "CRM_TODO"
    assert todo.field("ORIGIN_ID") == "tb-api:k2" and todo.field("SUBJECT") == "Ticket #4711 answered"
    assert todo.field("DESCRIPTION") == "Support answered." and todo.bindings == [OWNER]
    assert blocks(sandbox, new) == [LAYOUT]
    assert [a.id for a in find_by_origin(client_for(portal), "tb-api:k2")] == [new]


def test_without_a_layout_only_the_rest_app_activity_is_made(sandbox, portal) -> None:
    created = create(portal, layout=None)
    assert (created.fallback, created.blocks_set, created.provider_id) == (False, False, "REST_APP")
    assert made(sandbox)[created.activity_id].provider == "REST_APP"


def test_the_tokens_user_is_responsible_unless_one_is_named(sandbox, portal) -> None:
    created = create(portal, responsible_id=None, layout=None)
    assert made(sandbox)[created.activity_id].field("RESPONSIBLE_ID") == 1  # the app's token is user 1's


def test_an_invalid_layout_is_refused_before_anything_is_sent(sandbox, portal) -> None:
    before = set(made(sandbox))
    with pytest.raises(LayoutError):
        create(portal, layout={"blocks": {"x": {"type": "money", "properties": {}}}})
    assert set(made(sandbox)) == before


def test_a_refused_owner_leaves_nothing_behind(sandbox, portal) -> None:
    before = set(made(sandbox))
    with pytest.raises(ValidationError):
        create(portal, owner_id=9999)
    assert set(made(sandbox)) == before


@pytest.mark.parametrize("method", ["crm.activity.todo.add", "crm.activity.layout.blocks.set"])
def test_a_failed_step_deletes_what_this_call_made(sandbox, portal, method) -> None:
    """todo.add failing, or blocks.set failing otherwise than UNSUITABLE: nothing stays half-written."""
    sandbox.configure(rest_app_blocks_allowed=method == "crm.activity.layout.blocks.set")
    fault = {"kind": "status", "status": 403, "error": "ACCESS_DENIED", "method": method, "count": 1}
    sandbox.control("faults", fault)
    before = set(made(sandbox))
    with pytest.raises(AccessDenied):
        create(portal, origin_id="tb-api:k9")
    assert set(made(sandbox)) == before


def test_resuming_finds_a_finished_fallback_and_makes_nothing_new(sandbox, portal) -> None:
    sandbox.configure(rest_app_blocks_allowed=False)
    first = create(portal, origin_id="tb-api:k3")
    before = set(made(sandbox))
    again = resume_app_activity(
        client_for(portal), origin_id="tb-api:k3", owner_type_id=2, owner_id=1, subject="x", layout=LAYOUT
    )
    assert again.activity_id == first.activity_id and again.fallback and again.resumed
    assert set(made(sandbox)) == before


def test_resuming_finishes_a_rest_app_activity_left_without_blocks(sandbox, portal) -> None:
    """A process died after crm.activity.add: the retry sets the blocks, never adds another."""
    sandbox.configure(rest_app_blocks_allowed=True)
    client = client_for(portal)
    fields = {
        "OWNER_TYPE_ID": 2,
        "OWNER_ID": 1,
        "PROVIDER_ID": "REST_APP",
        "PROVIDER_TYPE_ID": "TIMELINE_BRIDGE",
        "SUBJECT": "half made",
        "RESPONSIBLE_ID": 1,
        "ORIGIN_ID": "tb-api:k4",
    }
    left = client.run(activities.add(fields))
    before = set(made(sandbox))
    again = resume_app_activity(
        client, origin_id="tb-api:k4", owner_type_id=2, owner_id=1, subject="half made", layout=LAYOUT
    )
    assert again == Created(left, False, True, "REST_APP", 2, 1, resumed=True)
    assert set(made(sandbox)) == before and blocks(sandbox, left) == [LAYOUT]


def test_resuming_without_a_trace_creates(sandbox, portal) -> None:
    created = resume_app_activity(
        client_for(portal), origin_id="tb-api:k5", owner_type_id=2, owner_id=1, subject="new", layout=None
    )
    assert not created.resumed and made(sandbox)[created.activity_id].field("ORIGIN_ID") == "tb-api:k5"


# --- the activity page's "add a linked app activity from a template" ---


def opened_page(connected_app, sandbox, activity_id: int, **kwargs: Any) -> tuple[Any, str]:
    from tests.test_timeline_page import PAGE_TOKEN, open_activity

    client = connected_app.test_client()
    response = open_activity(client, sandbox, activity_id, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return client, PAGE_TOKEN.search(response.get_data(as_text=True)).group(1)


def seeded_todo(sandbox) -> Any:
    from tests.test_timeline_page import activity_of

    return activity_of(sandbox, provider="CRM_TODO")


def test_the_activity_page_offers_the_portals_templates(connected_app, sandbox, portal) -> None:
    todo = seeded_todo(sandbox)
    html = open_page_html(connected_app, sandbox, todo.id)
    assert 'id="create-form"' in html and f'action="/activity/{todo.id}/create"' in html
    for name in ("Follow-up call", "Meeting notes", "Send the offer"):
        assert f">{name}</option>" in html


def open_page_html(connected_app, sandbox, activity_id: int) -> str:
    from tests.test_timeline_page import open_activity

    return open_activity(connected_app.test_client(), sandbox, activity_id).get_data(as_text=True)


@pytest.mark.parametrize("allowed", [True, False])
def test_creating_from_a_template_binds_to_the_opened_activitys_owner(
    connected_app, sandbox, portal, allowed
) -> None:
    from app.activities import templates

    sandbox.configure(rest_app_blocks_allowed=allowed)
    todo = seeded_todo(sandbox)
    client, token = opened_page(connected_app, sandbox, todo.id)
    template = templates.find_template(portal.member_id, "Follow-up call")
    before = set(made(sandbox))
    response = client.post(
        f"/activity/{todo.id}/create",
        data={"page_token": token, "lang": "en", "template_id": str(template.id)},
    )
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200, html
    [new] = set(made(sandbox)) - before
    activity = made(sandbox)[new]
    assert activity.bindings == [todo.bindings[0]] and activity.field("RESPONSIBLE_ID") == 1
    assert activity.field("SUBJECT") == f"Follow-up call: {todo.field('SUBJECT')}"
    assert activity.provider == ("REST_APP" if allowed else "CRM_TODO")
    [layout] = blocks(sandbox, new)
    assert layout["blocks"]["about"]["properties"]["block"]["properties"]["value"] == todo.field("SUBJECT")
    if allowed:
        subject = activity.field("SUBJECT")  # the new activity by its subject, not "Activity #<id>"
        assert f"\u201c{subject}\u201d was added from the template \u201cFollow-up call\u201d." in html
    else:
        assert "made as a to-do because this portal doesn't accept content blocks on app activities" in html


def test_creating_with_a_missing_template_or_a_foreign_token_changes_nothing(
    connected_app, sandbox, portal
) -> None:
    todo = seeded_todo(sandbox)
    client, token = opened_page(connected_app, sandbox, todo.id)
    before = set(made(sandbox))
    missing = client.post(
        f"/activity/{todo.id}/create", data={"page_token": token, "lang": "en", "template_id": "999"}
    )
    assert missing.status_code == 404 and "the one chosen no longer exists" in missing.get_data(as_text=True)
    other = sorted(set(made(sandbox)) - {todo.id})[0]
    wrong = client.post(
        f"/activity/{other}/create", data={"page_token": token, "lang": "en", "template_id": "1"}
    )
    assert wrong.status_code == 403
    forged = client.post(
        f"/activity/{todo.id}/create", data={"page_token": "x", "lang": "en", "template_id": "1"}
    )
    assert forged.status_code == 401
    assert set(made(sandbox)) == before


def test_a_template_that_does_not_fit_the_activity_is_explained(connected_app, sandbox, portal) -> None:
    from app.activities import templates
    from app.extensions import db

    layout = {
        "blocks": {
            "go": {
                "type": "link",
                "properties": {"text": "Go", "action": {"type": "redirect", "uri": "{{DESCRIPTION}}"}},
            }
        }
    }
    template = templates.add_template(portal.member_id, {"name": "Link", "subject": "s", "layout": layout})
    db.session.commit()
    todo = seeded_todo(sandbox)
    with sandbox.state.lock:
        todo.fields["DESCRIPTION"] = "javascript:alert(1)"
    client, token = opened_page(connected_app, sandbox, todo.id)
    before = set(made(sandbox))
    response = client.post(
        f"/activity/{todo.id}/create",
        data={"page_token": token, "lang": "en", "template_id": str(template.id)},
    )
    assert response.status_code == 422 and "does not fit this activity" in response.get_data(as_text=True)
    assert set(made(sandbox)) == before
