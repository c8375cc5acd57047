"""The new entry points (/pick/*, /layout/check, the `tz` field) against an ordinary user and an outsider."""

from __future__ import annotations

import json
import logging

import pytest

from app.extensions import db
from app.i18n import zone
from app.layout import MAX_PROBLEMS
from app.models import PortalState, VerifyThrottle
from app.portals import page_tokens, throttle
from sandbox.tokens import expire_tokens
from tests.test_main import open_main_page, page_token
from tests.test_main_editor import EMPTY_TEXT, check
from tests.test_main_rules import admin_token
from tests.test_main_templates import form as template_form
from tests.test_pickers import pick
from tests.test_throttle import fake_open
from tests.test_timeline_actions import blocks_on, opened
from tests.test_timeline_page import portal_calls

XSS = "<img src=x onerror=alert(1)>"


def reinstalled(portal) -> None:
    """The portal installed again: a new generation, as app.portals.lifecycle.next_generation gives it."""
    portal.generation += 1
    db.session.commit()


# --- a page token used where it was not issued for ---


def test_a_pick_with_a_token_from_before_a_reinstall_is_refused(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    reinstalled(portal)
    before = portal_calls()
    response = pick(page, "users", {"q": "jo"})
    assert response.status_code == 403 and response.get_json()["error"] == "stale_install"
    assert "options" not in response.get_json() and portal_calls() == before


def test_the_live_check_with_a_token_from_before_a_reinstall_is_refused(
    connected_app, sandbox, portal
) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    reinstalled(portal)
    response = check(client, token, EMPTY_TEXT)
    assert response.status_code == 403 and "preview" not in response.get_json()


def test_a_pick_after_an_uninstall_is_refused(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    portal.state, portal.access_token_enc = PortalState.UNINSTALLED, None  # as the worker leaves it
    db.session.commit()
    before = portal_calls()
    response = pick(page, "users", {"q": "jo"})
    assert response.status_code == 404 and "options" not in response.get_json()
    assert portal_calls() == before


def test_the_main_pages_token_searches_nothing(connected_app, sandbox, portal) -> None:
    """An administrator's main-page token names no activity: it opens no picker on any activity."""
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    activity = next(iter(sandbox.portal.crm.activities.values()))
    before = portal_calls()
    response = client.post(
        f"/activity/{activity.id}/pick/users", json={"q": ""}, headers={"X-Page-Token": token}
    )
    assert response.status_code == 403 and "options" not in response.get_json()
    assert portal_calls() == before


def test_an_ordinary_users_activity_token_cannot_run_the_live_check(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox, user_id=2)  # a CRM user, no administrator
    assert page_tokens.read(page.token).is_admin is False
    response = check(page.client, page.token, EMPTY_TEXT)
    assert response.status_code == 403 and response.get_json()["error"] == "admins_only"


def test_a_portal_that_refuses_the_users_token_gets_no_token_back(
    connected_app, sandbox, portal, caplog
) -> None:
    page = opened(connected_app, sandbox)
    access = page_tokens.read(page.token).access_token
    expire_tokens(sandbox.state, member_id=portal.member_id)
    caplog.set_level(logging.DEBUG)
    response = pick(page, "users", {"q": "jo"})
    assert response.status_code == 401 and response.get_json()["error"] == "reopen"
    body = response.get_data(as_text=True)
    assert access and access not in body and page.token not in body
    assert access not in caplog.text and page.token not in caplog.text


# --- what the answers carry into the page ---


def test_the_live_checks_preview_shows_markup_as_text(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    layout = {"blocks": {"b1": {"type": "text", "properties": {"value": XSS}}}}
    answer = check(client, token, layout).get_json()
    assert answer["ok"] is True and XSS not in answer["preview"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in answer["preview"]  # static/block-editor.js sets innerHTML


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>x</script>",
        "//evil.example/x",  # protocol-relative: another host, not a portal path
        "/\\evil.example/x",  # browsers read /\ as //
    ],
)
def test_the_live_check_refuses_a_link_that_runs_script_or_leaves_unseen(
    connected_app, sandbox, portal, uri
) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    link = {"type": "redirect", "uri": uri}
    layout = {"blocks": {"b1": {"type": "link", "properties": {"text": "Open", "action": link}}}}
    answer = check(client, token, layout).get_json()
    assert answer["ok"] is False and answer["preview"] == ""  # no <a href> for it, not even in the preview
    assert (
        answer["problems"][0]["path"] == "blocks.b1.properties.action.uri"
    )  # shown as text (createTextNode)


def test_a_users_name_is_no_header_and_no_markup(connected_app, sandbox, portal) -> None:
    sandbox.portal.users[2].name = f"{XSS}\r\nSet-Cookie: x=1"
    response = pick(opened(connected_app, sandbox), "users", {"q": "smith"})
    assert response.mimetype == "application/json" and "Set-Cookie" not in response.headers
    assert response.get_json()["options"][0]["label"].startswith(XSS)  # text; static/picker.js: textContent


# --- half a UTF-16 surrogate pair: JSON may escape one, no page can encode it ---

# PHP's json_decode refuses half a pair (JSON_ERROR_UTF16); a whole one escaped is an emoji
LONE = '{"blocks": {"b": {"type": "text", "properties": {"value": "x \\ud800 y"}}}}'
PAIR = '{"blocks": {"b": {"type": "text", "properties": {"value": "x \\ud83d\\ude00 y"}}}}'


def test_a_template_with_half_a_surrogate_pair_is_refused_in_words_and_the_page_still_opens(
    connected_app, sandbox, portal
) -> None:
    """The refused form's first preview rendered the text, which no UTF-8 page can carry: a 500. Stored, it
    made every later admin page a 500."""
    client = connected_app.test_client()
    for name in ("Meeting notes", "Fresh one"):  # refused for its name too; else it would be stored
        response = client.post("/templates", data=template_form(admin_token(portal), layout=LONE, name=name))
        assert response.status_code == 400 and "surrogate" in response.get_data(as_text=True)
    assert open_main_page(client, sandbox).status_code == 200


def test_the_activitys_blocks_with_half_a_surrogate_pair_are_refused_before_the_portal_is_asked(
    connected_app, sandbox, portal
) -> None:
    page = opened(connected_app, sandbox, user_id=2)
    before = portal_calls()
    response = page.post("blocks", layout=LONE)
    assert response.status_code == 400 and "surrogate" in response.get_data(as_text=True)
    assert blocks_on(sandbox, page.activity) == {} and portal_calls() - before == 1  # the page's refresh only
    url = f"/activity/{page.activity.id}/blocks/check"
    body = '{"lang": "en", "layout": ' + LONE + "}"
    headers = {"Content-Type": "application/json", "X-Page-Token": page.token}
    checked = page.client.post(url, data=body, headers=headers)
    assert checked.status_code == 400 and "surrogate" in checked.get_json()["problems"][0]["message"]


def test_a_whole_surrogate_pair_is_a_character_like_any_other(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox, user_id=2)
    assert page.post("blocks", layout=PAIR).status_code == 200
    [stored] = blocks_on(sandbox, page.activity).values()
    assert stored["blocks"]["b"]["properties"]["value"] == "x \U0001f600 y"


# --- the unverified-token throttle, poisoned from elsewhere ---


def test_a_flood_of_fake_opens_from_elsewhere_leaves_an_open_pages_pickers_working(
    connected_app, sandbox, portal
) -> None:
    """Anyone can fill the portal's budget with made-up AUTH_IDs from a few addresses; a page opened
    before, its token vouched for, searches on, as its other actions do. Its own address's budget holds."""
    page = opened(connected_app, sandbox)
    client = connected_app.test_client()
    flood = [fake_open(client, sandbox, address=f"10.0.0.{n}") for n in range(throttle.PER_PORTAL + 5)]
    assert [answer.status_code for answer in flood].count(429) == 5  # the portal's budget is spent
    response = pick(page, "users", {"q": "jo"})
    assert response.status_code == 200 and response.get_json()["options"], response.get_json()


def test_a_dead_pages_refused_picks_still_fill_the_portals_budget(connected_app, sandbox, portal) -> None:
    """Exempt from the portal's budget in advance, a refused pick is still counted in it."""
    page = opened(connected_app, sandbox)
    expire_tokens(sandbox.state, member_id=portal.member_id)
    for _ in range(throttle.PER_ADDRESS):
        assert pick(page, "users", {"q": "jo"}).status_code == 401
    levels = dict(db.session.query(VerifyThrottle.key, VerifyThrottle.level).all())
    assert levels[f"portal:{portal.member_id}"] > throttle.PER_ADDRESS - 1  # five units, a little drained
    assert pick(page, "users", {"q": "jo"}).status_code == 429  # the address's budget refuses it unsent


# --- the page's headers: nothing leaks through a picture's request ---


def test_no_page_sends_its_address_to_another_site(connected_app, sandbox, portal) -> None:
    """Photos load from any https host: the page's address (with the frame's query) stays home."""
    client = connected_app.test_client()
    page = opened(connected_app, sandbox)
    for response in (
        open_main_page(client, sandbox),
        pick(page, "users", {"q": "jo"}),
        client.get("/healthz"),
    ):
        assert response.headers.get("Referrer-Policy") == "same-origin"


# --- the `tz` field ---


@pytest.mark.parametrize("tz", ["+\u0660\u0663:\u0660\u0660", "+\uff10\uff13:00", " +03:00", "+03:00\n"])
def test_a_zone_is_only_ascii_hh_mm(tz: str) -> None:
    """Arabic-Indic or full-width digits and spaces are no zone: the page writes back only what it sent."""
    assert zone(tz) is None


# --- another site's page, in the user's browser ---


@pytest.mark.parametrize("path", ["/layout/check", "/activity/{id}/pick/users", "/activity/{id}/pick/items"])
def test_another_site_cannot_send_the_page_token_header(connected_app, sandbox, portal, path) -> None:
    """No CORS grant: a cross-site script's preflight for X-Page-Token gets no Access-Control-Allow-* back."""
    activity = next(iter(sandbox.portal.crm.activities.values()))
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-page-token, content-type",
    }
    response = connected_app.test_client().options(path.format(id=activity.id), headers=preflight)
    assert not [name for name, _ in response.headers.items() if name.lower().startswith("access-control-")]


def test_a_cross_site_form_post_to_a_picker_searches_nothing(connected_app, sandbox, portal) -> None:
    """A plain cross-site form (no header, text/plain) carries no page token: 401, no portal call."""
    page = opened(connected_app, sandbox)
    before = portal_calls()
    response = page.client.post(
        f"/activity/{page.activity.id}/pick/users",
        data='{"q": "jo"}',
        content_type="text/plain",
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 401 and "options" not in response.get_json()
    assert portal_calls() == before


# --- the live check as an amplifier: its token is not spent, so each request must stay cheap ---


def test_a_layout_of_thousands_of_blocks_is_refused_without_walking_them(
    connected_app, sandbox, portal
) -> None:
    """Tiny blocks filling the body would each be read: the check stops at their count."""
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    blocks = {f"b{n}": {"type": "text", "properties": {"value": " "}} for n in range(5000)}  # each one empty
    answer = check(client, token, {"blocks": blocks}).get_json()
    assert answer["ok"] is False and answer["preview"] == ""
    [problem] = answer["problems"]  # one, not 5,000 FIELD_IS_REQUIRED: no block was read
    assert problem["code"] == "TOO_MANY_ITEMS" and problem["path"] == "blocks"
    assert "too many items (5000); the most allowed is 20" in problem["message"]
    assert check(client, token, {"blocks": dict(list(blocks.items())[:20])}).get_json()[
        "problems"
    ]  # 20: read


def row_of(children: dict) -> dict:
    """A layout of one lineOfBlocks holding `children`: a count the top-level pre-check does not see."""
    return {"blocks": {"row": {"type": "lineOfBlocks", "properties": {"blocks": children}}}}


GREEN = {"type": "text", "properties": {"value": "x", "color": "green"}}  # one problem each
FLOODS = {
    "a row of thousands of blocks": row_of({f"b{n}": GREEN for n in range(5000)}),
    "thousands of bad block keys": row_of({f"!{n}": 0 for n in range(20000)}),
    "a text in thousands of languages": {
        "blocks": {"b": {"type": "text", "properties": {"value": {f"l{n}": 0 for n in range(20000)}}}}
    },
    "thousands of unknown properties": {
        "blocks": {"b": {"type": "text", "properties": {"value": "x", **{f"v{n}": 0 for n in range(20000)}}}}
    },
    "thousands of blocks on the activity's own check": {"blocks": {f"b{n}": GREEN for n in range(5000)}},
}


def checked_as_ordinary_user(connected_app, sandbox, layout):
    """The activity editor's live check, as a CRM user who is no administrator (user 2)."""
    page = opened(connected_app, sandbox, user_id=2)
    url = f"/activity/{page.activity.id}/blocks/check"
    body = json.dumps({"layout": layout, "lang": "ru"})
    headers = {"Content-Type": "application/json", "X-Page-Token": page.token}
    return page.client.post(url, data=body, headers=headers)


@pytest.mark.parametrize("flood", list(FLOODS))
def test_a_layout_of_thousands_of_problems_is_answered_with_a_bounded_few(
    connected_app, sandbox, portal, flood
) -> None:
    """Each problem is read, worded in the requester's language and sent back: a 1 MB body made a 50 MB
    answer and a second and a half of CPU, again and again (an unspent token). The walk stops instead."""
    response = checked_as_ordinary_user(connected_app, sandbox, FLOODS[flood])
    answer = response.get_json()
    assert response.status_code == 200 and answer["ok"] is False and answer["preview"] == ""
    assert 1 <= len(answer["problems"]) <= MAX_PROBLEMS, len(answer["problems"])
    assert len(response.get_data()) < 64 * 1024


def test_a_collection_over_its_limit_is_refused_whole_without_reading_its_items(
    connected_app, sandbox, portal
) -> None:
    response = checked_as_ordinary_user(connected_app, sandbox, FLOODS["a row of thousands of blocks"])
    [problem] = response.get_json()["problems"]  # not the children's colours: none was read
    assert problem["code"] == "TOO_MANY_ITEMS" and problem["path"] == "blocks.row.properties.blocks"


def test_the_administrators_check_answers_thousands_of_unknown_placeholders_with_a_few(
    connected_app, sandbox, portal
) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    value = "".join(f"{{{{NO_{n}}}}}" for n in range(20000))
    answer = check(client, token, {"blocks": {"b": {"type": "text", "properties": {"value": value}}}})
    assert answer.status_code == 200 and 1 <= len(answer.get_json()["problems"]) <= MAX_PROBLEMS
    assert len(answer.get_data()) < 64 * 1024
