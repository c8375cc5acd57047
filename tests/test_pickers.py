"""The pickers' searches (/pick/users, /pick/items) and the forms that post a name instead of a number."""

from __future__ import annotations

from typing import Any

import pytest

from app.portals import page_tokens
from tests.test_throttle import full_bucket
from tests.test_timeline_actions import Page, opened, text
from tests.test_timeline_page import activity_of, open_activity, portal_calls


def pick(page: Page, what: str, body: Any, **headers: str):
    headers = {"X-Page-Token": page.token, **headers}
    return page.client.post(f"/activity/{page.activity.id}/pick/{what}", json=body, headers=headers)


def labels(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [option["label"] for option in response.get_json()["options"]]


# --- searching users ---


def test_users_are_found_by_the_start_of_a_name(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    before = portal_calls()
    response = pick(page, "users", {"q": "jo", "lang": "en"})
    assert portal_calls() == before + 1  # one user.search, as the user, through the portal's bucket
    assert response.get_json() == {
        "options": [{"id": 2, "label": "John Smith", "detail": "Sales manager", "avatar": ""}]
    }
    assert labels(pick(page, "users", {"q": "petr"})) == ["Olga Petrova"]
    assert labels(pick(page, "users", {"q": "nobody"})) == []
    assert len(labels(pick(page, "users", {"q": ""}))) == 5  # the list opened with the arrow key


def test_inactive_users_are_not_offered(connected_app, sandbox, portal) -> None:
    sandbox.portal.users[2].active = False
    assert labels(pick(opened(connected_app, sandbox), "users", {"q": "john"})) == []


@pytest.mark.parametrize(
    ("photo", "shown"),
    [
        ("https://cdn.example.com/main/a1/photo.png", True),
        ("javascript:alert(1)", False),
        ("http://elsewhere.example.com/photo.png", False),  # plain http only from the portal itself
        ("//cdn.example.com/photo.png", False),
        # An address, not a name: the viewer's browser would ask its own network (SSRF through the <img>).
        ("https://127.0.0.1/photo.png", False),
        ("https://192.168.0.10/photo.png", False),
        ("https://[::1]/photo.png", False),
        ("https://0x7f.1/photo.png", False),
        ("https://localhost/photo.png", False),
        ("https://cdn.example.com:8443/photo.png", True),
    ],
)
def test_only_https_or_the_portals_own_photos_are_shown(connected_app, sandbox, portal, photo, shown) -> None:
    sandbox.portal.users[2].photo = photo
    option = pick(opened(connected_app, sandbox), "users", {"q": "john"}).get_json()["options"][0]
    assert option["avatar"] == (photo if shown else "")


def test_the_portals_own_photo_is_shown(connected_app, sandbox, portal) -> None:
    sandbox.portal.users[2].photo = f"{sandbox.portal_url}/upload/main/john.png"
    option = pick(opened(connected_app, sandbox), "users", {"q": "john"}).get_json()["options"][0]
    assert option["avatar"] == f"{sandbox.portal_url}/upload/main/john.png"


# --- searching CRM items ---


@pytest.mark.parametrize(
    ("type_id", "query", "found"),
    [
        (2, "acme", ["Deal: Acme Logistics: annual support"]),
        (4, "GMBH", ["Company: Nordwind GmbH"]),
        (3, "thomas müll", ["Contact: Thomas Müller"]),  # contacts by first and last name, word by word
        (1, "enquiry", ["Lead: Website enquiry: Acme Logistics"]),
        (
            2,
            "",
            [
                "Deal: Blue Harbor: onboarding package",
                "Deal: Nordwind GmbH: 40 licences",
                "Deal: Acme Logistics: annual support",
            ],
        ),  # newest first
        (7, "nothing like this", []),
    ],
)
def test_items_are_found_by_title(connected_app, sandbox, portal, type_id, query, found) -> None:
    page = opened(connected_app, sandbox)
    assert labels(pick(page, "items", {"q": query, "entity_type_id": type_id})) == found


def as_olga(connected_app: Any, sandbox: Any) -> Page:
    """Olga (user 4) reads only the items assigned to her: the second of each type."""
    mine = next(a for a in sandbox.portal.crm.activities.values() if a.bindings[0] == (2, 2))
    return opened(connected_app, sandbox, mine, user_id=4)


def test_a_user_sees_only_the_items_the_portal_lets_them_see(connected_app, sandbox, portal) -> None:
    olga = as_olga(connected_app, sandbox)
    assert labels(pick(olga, "items", {"q": "", "entity_type_id": 2})) == ["Deal: Nordwind GmbH: 40 licences"]
    sandbox.portal.users[4].crm_read = "none"  # her CRM access taken away while the page is open
    assert labels(pick(olga, "items", {"q": "", "entity_type_id": 2})) == []  # getItemsFilteredByPermissions


def test_names_come_back_as_text_for_the_page_to_show_as_text(connected_app, sandbox, portal) -> None:
    sandbox.portal.owners[(2, 3)].fields["TITLE"] = "<img src=x onerror=alert(1)>"
    page = opened(connected_app, sandbox)
    response = pick(page, "items", {"q": "img", "entity_type_id": 2})
    assert response.mimetype == "application/json"
    assert labels(response) == ["Deal: <img src=x onerror=alert(1)>"]  # static/picker.js sets textContent


# --- refusals: bad input, and anyone but the page's user ---


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"q": "x" * 101}, "at most 100 characters"),
        ({"q": ["john"]}, "The search must be text."),
        ({"q": {"nested": {"deeper": 1}}}, "The search must be text."),
        ("john", "was not understood"),
        ([1, 2], "was not understood"),
    ],
)
def test_bad_searches_are_refused_in_words(connected_app, sandbox, portal, body, words) -> None:
    page = opened(connected_app, sandbox)
    before = portal_calls()
    response = pick(page, "users", body)
    assert response.status_code == 400 and words in response.get_json()["message"]
    assert portal_calls() == before  # nothing was sent


@pytest.mark.parametrize("type_id", [99, "abc", -2, 0, True, None, "2; drop", 2**40, [2]])
def test_a_forged_item_type_is_refused_in_words(connected_app, sandbox, portal, type_id) -> None:
    page = opened(connected_app, sandbox)
    response = pick(page, "items", {"q": "acme", "entity_type_id": type_id})
    assert response.status_code == 400
    assert response.get_json()["message"] == "Choose one of the CRM item types in the list."


def test_a_body_that_is_not_json_is_refused(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    url = f"/activity/{page.activity.id}/pick/users"
    for data, kind in (("{not json", "application/json"), ("q=john", "application/x-www-form-urlencoded")):
        response = page.client.post(url, data=data, content_type=kind, headers={"X-Page-Token": page.token})
        assert response.status_code == 400 and "was not understood" in response.get_json()["message"]
    deep = "[" * 200 + "]" * 200
    response = page.client.post(
        url, data=deep, content_type="application/json", headers={"X-Page-Token": page.token}
    )
    assert response.status_code == 400


def test_a_search_without_a_page_token_is_refused(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    before = portal_calls()
    for headers in ({"X-Page-Token": ""}, {"X-Page-Token": page.token[:-4] + "AAAA"}):
        response = pick(page, "users", {"q": "jo"}, **headers)
        assert response.status_code == 401 and "open Timeline Bridge again" in response.get_json()["message"]
        assert page.token not in response.get_data(as_text=True)
    assert portal_calls() == before


def test_a_token_for_another_activity_or_portal_is_refused(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    other = next(a for a in sandbox.portal.crm.activities.values() if a.id != page.activity.id)
    response = page.client.post(
        f"/activity/{other.id}/pick/users", json={"q": "jo"}, headers={"X-Page-Token": page.token}
    )
    assert response.status_code == 403
    fresh = page_tokens.read(page.token)
    foreign = page_tokens.issue(
        member_id="f" * 32,  # a member_id this app has no installation for
        user_id=fresh.user_id,
        is_admin=False,
        access_token=fresh.access_token,
        activity_id=page.activity.id,
        generation=fresh.generation,
    )
    response = pick(page, "users", {"q": "jo"}, **{"X-Page-Token": foreign})
    assert response.status_code in (401, 403, 404) and "options" not in response.get_json()


def test_a_busy_portal_is_answered_at_once_in_words(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    full_bucket(portal, rate=0.1, burst=10)  # the search waits in the portal's bucket like every call
    response = pick(page, "users", {"q": "jo"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert "Try again in 10 s" in response.get_json()["message"]


# --- the forms: the picked id, or (without JavaScript) the one match of the typed text ---


def test_the_responsible_is_picked_by_name_without_javascript(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("todo/responsible", value="", value_query="olga")
    assert response.status_code == 200 and "The responsible user was changed." in text(response)
    assert page.activity.fields["RESPONSIBLE_ID"] == 4


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("", 400, "Type a name and choose a user."),
        ("zed", 400, "No such user: no active user on the portal matches “zed”."),
        ("sales", 400, "Several users match “sales”: John Smith, Peter Brown, Olga Petrova, Ivan Sidorov."),
        ("x" * 101, 400, "at most 100 characters"),
    ],
)
def test_a_typed_name_that_fits_none_or_many_is_explained(
    connected_app, sandbox, portal, query, status, words
) -> None:
    page = opened(connected_app, sandbox)
    before = page.activity.fields["RESPONSIBLE_ID"]
    response = page.post("todo/responsible", value="", value_query=query)
    assert response.status_code == status and words in text(response)
    assert page.activity.fields["RESPONSIBLE_ID"] == before


def test_names_in_a_refusal_are_escaped(connected_app, sandbox, portal) -> None:
    sandbox.portal.users[2].last_name = "Smith <b>one</b>"
    sandbox.portal.users[3].last_name = "Smith <b>two</b>"
    page = opened(connected_app, sandbox)
    response = page.post("todo/responsible", value="", value_query="smith")
    assert response.status_code == 400 and "Smith &lt;b&gt;two&lt;/b&gt;" in text(response)
    assert "<b>two</b>" not in text(response)


def test_a_link_is_added_and_moved_by_title_without_javascript(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    response = page.post("bindings/add", entity_type_id=2, entity_id="", entity_id_query="Nordwind")
    assert response.status_code == 200 and (2, 2) in page.activity.bindings
    response = page.post(
        "bindings/move",
        entity_type_id=2,
        entity_id=2,
        target_entity_id="",
        target_entity_id_query="blue harbor",
    )
    assert (
        response.status_code == 200
        and (2, 3) in page.activity.bindings
        and (2, 2) not in page.activity.bindings
    )


def test_an_item_the_user_may_not_see_is_refused_in_words(connected_app, sandbox, portal) -> None:
    page = as_olga(connected_app, sandbox)
    response = page.post("bindings/add", entity_type_id=2, entity_id="", entity_id_query="acme")
    assert (
        response.status_code == 400
        and "No item of the type “Deal” that you can see matches “acme”." in text(response)
    )
    response = page.post("bindings/add", entity_type_id=2, entity_id="1")  # a forged id of Maria's deal
    assert response.status_code == 403
    assert "does not let you link the activity to Deal #1" in text(response)
    assert "cannot find the activity" not in text(response) and (2, 1) not in page.activity.bindings


def test_the_configurable_activitys_responsible_is_picked_by_name(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    before = set(sandbox.portal.crm.activities)
    response = page.post("configurable", title="Call back", responsible="", responsible_query="peter")
    assert response.status_code == 200, text(response)
    (new_id,) = set(sandbox.portal.crm.activities) - before
    assert sandbox.portal.crm.activities[new_id].fields["RESPONSIBLE_ID"] == 3


def test_the_page_has_no_input_that_asks_for_a_number(connected_app, sandbox, portal) -> None:
    html = text(open_activity(connected_app.test_client(), sandbox, activity_of(sandbox).id))
    assert html.count('role="listbox"') >= 4  # responsible, add a link, move the link, the configurable's
    for words in ('type="number"', "Responsible user ID", "Item ID"):
        assert words not in html
