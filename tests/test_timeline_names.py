"""The activity page names the owner, every link and the responsible user, read in the page's one batch."""

from __future__ import annotations

from typing import Any

from app.timeline.service import MAX_NAMED_BINDINGS
from sandbox.state import Owner
from tests.test_timeline_page import open_activity, portal_calls


def linked_activity(sandbox: Any, *links: tuple[int, int], responsible: int = 2) -> Any:
    """An app activity on deal 1 linked also to `links`, made on the portal as the app."""
    fields = {
        "OWNER_TYPE_ID": 2,
        "OWNER_ID": 1,
        "SUBJECT": "Names check",
        "RESPONSIBLE_ID": responsible,
        "PROVIDER_ID": "REST_APP",
    }
    answer = sandbox.call("crm.activity.add", {"fields": fields})
    assert answer.status_code == 200, answer.text
    activity_id = int(answer.json()["result"])
    for type_id, item_id in links:
        params = {"activityId": activity_id, "entityTypeId": type_id, "entityId": item_id}
        bound = sandbox.call("crm.activity.binding.add", params)
        assert bound.status_code == 200, bound.text
    return sandbox.portal.crm.activities[activity_id]


def labels(html: str) -> list[str]:
    return [part.split("</span>", 1)[0] for part in html.split('<span class="tb-binding-label">')[1:]]


def test_owner_links_and_responsible_are_named_in_one_round_trip(connected_app, sandbox, portal) -> None:
    activity = linked_activity(sandbox, (3, 1), (4, 3), (1, 2))
    before = portal_calls()
    response = open_activity(connected_app.test_client(), sandbox, activity.id)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert portal_calls() - before == 1
    assert '<dd data-fact="owner">Deal: Acme Logistics: annual support</dd>' in html
    assert '<dd data-fact="responsible">John Smith</dd>' in html
    assert labels(html) == [
        "Deal: Acme Logistics: annual support",
        "Contact: Elena Sokolova",
        "Company: Blue Harbor Inc",
        "Lead: Trade show lead: Nordwind GmbH",
    ]


def test_a_deleted_link_and_an_unknown_user_are_said_in_words(connected_app, sandbox, portal) -> None:
    activity = linked_activity(sandbox, (2, 3), responsible=5)
    del sandbox.portal.owners[(2, 3)]  # deleted on the portal after it was linked
    del sandbox.portal.users[5]
    html = open_activity(connected_app.test_client(), sandbox, activity.id).get_data(as_text=True)
    assert "Deal #3 — not found or not visible to you" in labels(html)
    assert '<dd data-fact="responsible">User with ID 5</dd>' in html
    ru = open_activity(connected_app.test_client(), sandbox, activity.id, lang="ru").get_data(as_text=True)
    assert "не найдено или недоступно вам" in ru


def test_an_item_the_user_may_not_read_is_not_named(connected_app, sandbox, portal) -> None:
    # sandbox seed: user 4 reads only the second item of each type; the activity is readable through deal 2
    fields = {
        "OWNER_TYPE_ID": 2,
        "OWNER_ID": 2,
        "SUBJECT": "Hers",
        "RESPONSIBLE_ID": 4,
        "PROVIDER_ID": "REST_APP",
    }
    activity_id = int(sandbox.call("crm.activity.add", {"fields": fields}).json()["result"])
    params = {"activityId": activity_id, "entityTypeId": 3, "entityId": 1}
    assert sandbox.call("crm.activity.binding.add", params).status_code == 200
    html = open_activity(connected_app.test_client(), sandbox, activity_id, user_id=4).get_data(as_text=True)
    assert "Contact #1 — not found or not visible to you" in labels(html)
    assert "Elena Sokolova" not in html
    assert '<dd data-fact="owner">Deal: Nordwind GmbH: 40 licences</dd>' in html


def test_names_are_escaped(connected_app, sandbox, portal) -> None:
    sandbox.portal.owners[(2, 1)].fields["TITLE"] = "<script>alert(1)</script>"
    sandbox.portal.users[2].name = "<b>John</b>"
    activity = linked_activity(sandbox)
    html = open_activity(connected_app.test_client(), sandbox, activity.id).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "<b>John</b>" not in html
    assert "Deal: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<dd data-fact="responsible">&lt;b&gt;John&lt;/b&gt; Smith</dd>' in html


def test_the_sandbox_answers_crm_item_get_and_user_get_as_the_portal(sandbox, portal) -> None:
    item = sandbox.call("crm.item.get", {"entityTypeId": 3, "id": 2}).json()["result"]["item"]
    assert item["id"] == 2 and item["name"] == "Thomas" and item["lastName"] == "Müller"
    missing = sandbox.call("crm.item.get", {"entityTypeId": 2, "id": 99})
    assert missing.status_code == 400 and missing.json()["error"] == "NOT_FOUND"
    hidden = sandbox.call("crm.item.get", {"entityTypeId": 2, "id": 1}, token=sandbox.token(4))
    assert hidden.status_code == 400 and hidden.json()["error"] == "ACCESS_DENIED"
    unsaid = sandbox.call("crm.item.get", {"entityTypeId": 2})
    assert unsaid.status_code == 400
    users = sandbox.call("user.get", {"ID": 3}).json()["result"]
    assert [(u["ID"], u["NAME"], u["LAST_NAME"]) for u in users] == [("3", "Peter", "Brown")]
    assert sandbox.call("user.get", {"FILTER": {"ID": 2}}).json()["result"][0]["NAME"] == "John"
    assert sandbox.call("user.get", {"ID": 99}).json()["result"] == []


def test_links_past_the_named_ones_show_their_number(connected_app, sandbox, portal) -> None:
    extra = [(t, i) for t in (1, 3, 4) for i in (1, 2, 3)] + [(2, 2), (2, 3)]
    activity = linked_activity(sandbox, *extra)
    more = [(1, 100 + i) for i in range(MAX_NAMED_BINDINGS - len(extra))]
    activity.bindings.extend([*more, (3, 500)])  # the portal may hold more links than the batch names
    sandbox.portal.owners[(3, 500)] = Owner(
        3, 500, "Far Away", {"ID": "500", "NAME": "Far", "LAST_NAME": "Away"}
    )
    html = open_activity(connected_app.test_client(), sandbox, activity.id).get_data(as_text=True)
    shown = labels(html)
    assert shown[-1] == "Contact #500" and "Far Away" not in html
    assert "Lead #100 — not found or not visible to you" in shown
