"""The activity page's actions: each checks the page token, acts as the user and shows the page again."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.portals import page_tokens
from tests.conftest import frame_ancestors
from tests.test_timeline_page import (
    LAYOUT,
    PAGE_TOKEN,
    activity_of,
    app_activity,
    open_activity,
    page_token,
    portal_calls,
    set_blocks,
)


class Page:
    """An activity page opened in the portal's frame, to post its forms as the browser would."""

    def __init__(
        self, client: FlaskClient, sandbox: Any, activity: Any, *, user_id: int = 1, lang: str = "en"
    ):
        self.client, self.activity, self.lang = client, activity, lang
        response = open_activity(client, sandbox, activity.id, user_id=user_id, lang=lang)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.token = page_token(response)

    def post(self, action: str, activity_id: int | None = None, **fields: Any):
        owner_type, owner_id = self.activity.bindings[0]
        form = {
            "page_token": self.token,
            "lang": self.lang,
            "owner_type_id": str(owner_type),
            "owner_id": str(owner_id),
            **{k: str(v) for k, v in fields.items()},
        }
        response = self.client.post(f"/activity/{activity_id or self.activity.id}/{action}", data=form)
        renewed = PAGE_TOKEN.search(response.get_data(as_text=True))
        if renewed:  # the next form is the page's answer's, as in the browser (each page token acts once)
            self.token = renewed.group(1)
        return response

    def check(self, layout: Any, **headers: str):
        headers = {"X-Page-Token": self.token, **headers}
        body = {"layout": layout, "lang": self.lang, "deadline": "2026-12-01 10:00"}
        return self.client.post(f"/activity/{self.activity.id}/blocks/check", json=body, headers=headers)


def opened(connected_app, sandbox, activity: Any = None, **kwargs: Any) -> Page:
    return Page(connected_app.test_client(), sandbox, activity or activity_of(sandbox), **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def blocks_on(sandbox: Any, activity: Any) -> dict[str, Any]:
    return dict(sandbox.portal.crm.blocks_of(activity.id))


# --- the page token ---


def test_an_action_without_a_page_token_is_refused(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.client.post(f"/activity/{page.activity.id}/complete", data={"lang": "en"})
    assert response.status_code == 401 and "Your Bitrix24 session has ended" in text(response)
    assert not page.activity.completed


def test_a_tampered_page_token_is_refused(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    page.token = page.token[:-6] + ("A" * 6 if not page.token.endswith("AAAAAA") else "B" * 6)
    response = page.post("complete")
    assert response.status_code == 401 and page.token not in text(response)
    assert not page.activity.completed


def test_an_expired_page_token_is_refused(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    fresh = page_tokens.read(page.token)
    page.token = page_tokens.issue(
        member_id=fresh.member_id,
        user_id=fresh.user_id,
        is_admin=False,
        access_token=fresh.access_token,
        activity_id=page.activity.id,
        generation=fresh.generation,
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    response = page.post("complete")
    assert response.status_code == 401 and not page.activity.completed


def test_a_page_token_for_another_activity_is_refused(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    other = next(a for a in sandbox.portal.crm.activities.values() if a.id != page.activity.id)
    before = portal_calls()
    response = page.post("delete", activity_id=other.id)
    assert response.status_code == 403 and "opened for another activity" in text(response)
    assert other.id in sandbox.portal.crm.activities and portal_calls() == before


def test_the_page_token_may_come_in_the_header(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.client.post(
        f"/activity/{page.activity.id}/complete",
        data={"lang": "en"},
        headers={"X-Page-Token": page.token},
    )
    assert response.status_code == 200 and page.activity.completed


def test_an_action_page_keeps_the_portal_as_the_only_framer(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    sent = page.token
    response = page.post("complete")
    assert frame_ancestors(response) == sandbox.portal_url
    renewed = page_token(response)  # the same session, its expiry kept, with a new one-time nonce
    before, after = page_tokens.read(sent), page_tokens.read(renewed)
    assert renewed != sent and after.nonce != before.nonce
    assert after == replace(before, nonce=after.nonce)


# --- content blocks ---


def test_blocks_are_set_and_the_page_shows_them(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("blocks", layout=json.dumps(LAYOUT))
    html = text(response)
    assert response.status_code == 200, html
    assert 'id="tb-notice"' in html and "The content blocks were saved." in html
    assert list(next(iter(blocks_on(sandbox, page.activity).values()))["blocks"]) == list(LAYOUT["blocks"])
    assert 'data-block-key="b6"' in html.split('id="tb-blocks-current"', 1)[1]


def test_blocks_keep_the_editors_order(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    reordered = {"blocks": dict(reversed(list(LAYOUT["blocks"].items())))}
    assert page.post("blocks", layout=json.dumps(reordered)).status_code == 200
    stored = next(iter(blocks_on(sandbox, page.activity).values()))["blocks"]
    assert list(stored) == ["b6", "b5", "b4", "b3", "b2", "b1"]


@pytest.mark.parametrize(
    ("layout", "path"),
    [
        ("{not json", "layout"),
        (json.dumps({"blocks": {"b1": {"type": "image", "properties": {}}}}), "blocks.b1.type"),
        (json.dumps({"blocks": {"b1": {"type": "text", "properties": {}}}}), "blocks.b1.properties.value"),
    ],
    ids=["not-json", "unknown-type", "missing-value"],
)
def test_a_layout_the_portal_would_refuse_is_not_sent(connected_app, sandbox, portal, layout, path) -> None:
    page = opened(connected_app, sandbox)
    before = portal_calls()
    response = page.post("blocks", layout=layout)
    assert response.status_code == 400
    assert "The blocks cannot be saved" in text(response) and path in text(response)
    assert blocks_on(sandbox, page.activity) == {} and portal_calls() - before == 1  # the page's refresh only


def test_a_refused_layout_stays_in_the_open_editor(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    draft = json.dumps({"blocks": {"b1": {"type": "text", "properties": {"value": "<x>", "size": "xl"}}}})
    html = text(page.post("blocks", layout=draft))
    assert 'id="tb-editor-wrap" open' in html and "blocks.b1.properties.size" in html
    assert "&#34;size&#34;: &#34;xl&#34;" in html.split('id="tb-layout"', 1)[1].split("</textarea>", 1)[0]


def test_blocks_are_deleted(connected_app, sandbox, portal) -> None:
    activity = activity_of(sandbox)
    set_blocks(sandbox, activity)
    page = opened(connected_app, sandbox, activity)
    response = page.post("blocks/delete")
    assert response.status_code == 200 and "The content blocks were removed." in text(response)
    assert blocks_on(sandbox, activity) == {}
    assert "This app has not added content blocks" in text(response)


def test_deleting_blocks_that_are_not_there_says_so(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("blocks/delete")
    assert response.status_code == 404 and 'id="tb-problem"' in text(response)
    assert "Bitrix24 cannot find the activity or the CRM item" in text(response)


def test_an_activity_that_takes_no_blocks_says_so(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox, app_activity(sandbox))
    response = page.post("blocks", layout=json.dumps(LAYOUT))
    assert response.status_code == 400
    assert "does not allow additional content blocks on this kind of activity" in text(response)


def test_a_user_without_crm_rights_is_told_so(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox, user_id=3)
    response = page.post("blocks", layout=json.dumps(LAYOUT))
    assert response.status_code == 403
    assert "Your Bitrix24 permissions do not allow this change" in text(response)
    assert blocks_on(sandbox, page.activity) == {}


# --- the editor's live check ---


def test_the_check_endpoint_returns_a_preview_of_a_valid_layout(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    before = portal_calls()
    answer = page.check(LAYOUT)
    assert answer.status_code == 200 and portal_calls() == before
    data = answer.get_json()
    assert data["ok"] is True and data["problems"] == []
    assert 'data-block-key="b1"' in data["preview"] and "Hello<br>there" in data["preview"]
    assert "2026-12-01 10:00" in data["preview"]


def test_the_check_endpoint_returns_problems_by_path(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    layout = {
        "blocks": {
            "ok": {"type": "text", "properties": {"value": "fine"}},
            "b2": {"type": "text", "properties": {"value": "x", "size": "xl"}},
            "b3": {"type": "link", "properties": {"text": "t", "action": {"type": "jump"}}},
        }
    }
    data = page.check(layout).get_json()
    assert data["ok"] is False and data["preview"] == ""
    paths = {problem["path"]: problem["code"] for problem in data["problems"]}
    assert paths["blocks.b2.properties.size"] == "ENUM_FIELD"
    assert paths["blocks.b3.properties.action.type"] == "ENUM_FIELD"


def test_the_check_endpoint_escapes_what_it_previews(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    layout = {"blocks": {"b1": {"type": "text", "properties": {"value": "<script>alert(1)</script>"}}}}
    preview = page.check(layout).get_json()["preview"]
    assert "<script>" not in preview and "&lt;script&gt;" in preview


def test_the_check_endpoint_needs_the_page_token(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    answer = page.check(LAYOUT, **{"X-Page-Token": "forged"})
    assert answer.status_code == 401 and answer.get_json()["error"] == "reopen"


# --- to-do changes ---


def test_the_deadline_of_a_todo_changes(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("todo/deadline", value="2026-12-01T10:30", offset="+00:00")
    assert response.status_code == 200 and "The deadline was changed." in text(response)
    assert page.activity.fields["DEADLINE"].isoformat().startswith("2026-12-01T10:30")
    assert "Dec 1, 2026, 10:30\u202fAM" in text(response)  # the English catalog's date (app.i18n.moment)


def test_a_deadline_that_is_no_date_is_not_sent(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    deadline = page.activity.fields["DEADLINE"]
    response = page.post("todo/deadline", value="tomorrow", offset="+00:00")
    assert response.status_code == 400 and "Enter the deadline as a date and a time." in text(response)
    assert page.activity.fields["DEADLINE"] == deadline


def test_the_description_of_a_todo_changes(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("todo/description", value="Call back <b>after</b> lunch")
    assert response.status_code == 200 and "The description was changed." in text(response)
    assert page.activity.fields["DESCRIPTION"] == "Call back <b>after</b> lunch"
    assert "Call back &lt;b&gt;after&lt;/b&gt; lunch" in text(response)


def test_a_description_too_long_for_the_portal_is_not_sent(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("todo/description", value="x" * 70000)
    assert response.status_code == 400 and "The text is too long for Bitrix24" in text(response)
    assert page.activity.fields["DESCRIPTION"] == "Send the contract draft (demo data)"


def test_the_colour_of_a_todo_changes(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("todo/color", value="5")
    assert response.status_code == 200 and "The colour was changed." in text(response)
    assert page.activity.color_id == "5"
    assert re.findall(r'<input type="radio" name="value" value="(\d)"[^>]*\bchecked>', text(response)) == [
        "5"
    ]


def test_a_refused_colour_marks_none_as_saved(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("todo/color", value="9")
    assert response.status_code == 400 and " checked>" not in text(response)


@pytest.mark.parametrize("value", ["9", "0", "red"])
def test_a_colour_outside_1_to_7_is_not_sent(connected_app, sandbox, portal, value) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("todo/color", value=value)
    assert response.status_code == 400 and "Choose one of the colours 1 to 7." in text(response)


def test_the_responsible_user_of_a_todo_changes(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("todo/responsible", value="2")
    assert response.status_code == 200 and "The responsible user was changed." in text(response)
    assert page.activity.fields["RESPONSIBLE_ID"] == 2
    assert '<dd data-fact="responsible">John Smith</dd>' in text(response)


def test_an_unknown_responsible_user_is_explained(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("todo/responsible", value="99")
    assert response.status_code == 404 and "No such user: Bitrix24 has no active user #99." in text(response)
    assert "cannot find the activity" not in text(response)
    assert page.activity.fields["RESPONSIBLE_ID"] != 99
    response = page.post("todo/responsible", value="-1")
    assert response.status_code == 400 and "Enter a positive number for Responsible user" in text(response)


@pytest.mark.parametrize(
    ("change", "value", "words"),
    [
        ("deadline", "2026-12-01T10:30", "This to-do is completed, so it can no longer be changed."),
        ("description", "new", "This to-do is completed, so it can no longer be changed."),
        ("color", "3", "This to-do is completed, so its colour can no longer change."),
        ("responsible", "2", "This to-do is completed, so its responsible user can no longer change."),
    ],
)
def test_a_completed_todo_cannot_change(connected_app, sandbox, portal, change, value, words) -> None:
    page = opened(connected_app, sandbox, activity_of(sandbox, completed=True))
    response = page.post(f"todo/{change}", value=value, offset="+00:00")
    assert response.status_code == 400 and words in text(response)


def test_a_todo_change_on_another_kind_of_activity_is_explained(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox, activity_of(sandbox, provider="CRM_MEETING"))
    response = page.post("todo/description", value="new")
    assert response.status_code == 404 and "Bitrix24 cannot find the activity" in text(response)


def test_a_todo_change_without_crm_rights_is_explained(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox, user_id=3)
    response = page.post("todo/color", value="2")
    assert response.status_code == 403 and "Your Bitrix24 permissions do not allow this" in text(response)


# --- bindings ---


def test_a_binding_is_added_moved_and_deleted(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("bindings/add", entity_type_id=2, entity_id=1)
    assert response.status_code == 200 and "The link was added." in text(response)
    assert (2, 1) in page.activity.bindings and 'data-entity-type-id="2" data-entity-id="1"' in text(response)
    response = page.post("bindings/move", entity_type_id=2, entity_id=1, target_entity_id=3)
    assert response.status_code == 200 and "The link was moved." in text(response)
    assert (2, 3) in page.activity.bindings and (2, 1) not in page.activity.bindings
    response = page.post("bindings/delete", entity_type_id=2, entity_id=3)
    assert response.status_code == 200 and "The link was removed." in text(response)
    assert page.activity.bindings == [(1, 1)]


@pytest.mark.parametrize(
    ("action", "fields", "words"),
    [
        ("bindings/add", {"entity_type_id": 1, "entity_id": 1}, "already linked to that CRM item"),
        ("bindings/add", {"entity_type_id": 2, "entity_id": 999}, "There is no CRM item of that type"),
        ("bindings/delete", {"entity_type_id": 1, "entity_id": 1}, "must stay linked to at least one"),
        ("bindings/delete", {"entity_type_id": 2, "entity_id": 2}, "not linked to that item any more"),
        (
            "bindings/move",
            {"entity_type_id": 1, "entity_id": 1, "target_entity_id": 1},
            "The link already points to that item",
        ),
        (
            "bindings/move",
            {"entity_type_id": 2, "entity_id": 2, "target_entity_id": 3},
            "not linked to that item any more",
        ),
    ],
    ids=["already-bound", "no-owner", "last-binding", "not-bound", "same-target", "move-unbound"],
)
def test_binding_refusals_are_explained(connected_app, sandbox, portal, action, fields, words) -> None:
    page = opened(connected_app, sandbox)
    response = page.post(action, **fields)
    assert response.status_code in (400, 404) and words in text(response)
    assert 'id="tb-problem"' in text(response) and page.activity.bindings == [(1, 1)]


def test_a_binding_form_with_junk_is_not_sent(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("bindings/add", entity_type_id=2, entity_id="abc")
    assert response.status_code == 400 and "Enter a positive number for CRM item" in text(response)


# --- complete, delete ---


def test_the_activity_is_completed(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("complete")
    assert response.status_code == 200 and "The activity was completed." in text(response)
    assert page.activity.completed and '<dd data-fact="status">Completed</dd>' in text(response)
    assert 'id="tb-complete"' not in text(response)


def test_completing_without_crm_rights_is_explained(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox, user_id=3)
    response = page.post("complete")
    assert response.status_code == 403 and "Your Bitrix24 permissions do not allow this" in text(response)
    assert not page.activity.completed


def test_the_activity_is_deleted(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("delete")
    assert response.status_code == 200 and f"The activity with ID {page.activity.id} was deleted." in text(
        response
    )
    assert page.activity.id not in sandbox.portal.crm.activities
    again = page.post("complete")
    assert again.status_code == 404 and "This activity cannot be shown" in text(again)


def test_an_action_speaks_russian(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox, lang="ru")
    response = page.post("bindings/delete", entity_type_id=1, entity_id=1)
    html = text(response)
    assert response.status_code == 400 and 'lang="ru"' in html
    assert "Дело должно оставаться связанным хотя бы с одним элементом CRM" in html
    assert page.post("complete").get_data(as_text=True).count("Дело завершено.") == 1
