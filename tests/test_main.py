"""The main page (POST / from the portal frame) and POST /repair, against the sandbox portal."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.inbox.queue import Inbox
from app.models import InboxEvent, InboxStatus, PortalState
from app.portals import page_tokens
from app.portals.connections import client_for
from app.portals.registration import check
from app.portals.setup import register_portal
from sandbox.apps import find_app
from sandbox.ui.frame import open_frame
from tests.conftest import frame_ancestors

EVENTS_URL = "http://127.0.0.1:5000/events"
PAGE_TOKEN = re.compile(r'name="page_token" value="([^"]+)"')


def open_main_page(
    client: FlaskClient,
    sandbox: Any,
    *,
    user_id: int = 1,
    lang: str = "en",
    options: dict[str, Any] | None = None,
    portal: Any = None,
    query: dict[str, str] | None = None,
    environ_base: dict[str, str] | None = None,
    **fields: str,
):
    """POST the main page the way the sandbox portal's slider does (notes §1.2), with overrides."""
    where = portal or sandbox.portal
    opened = open_frame(
        sandbox.state, where, find_app(sandbox.state, where), where.users[user_id], lang=lang, options=options
    )
    url = urlsplit(opened.url)
    params = {**dict(parse_qsl(url.query)), **(query or {})}
    data = {**opened.fields, **fields}
    return client.post(f"{url.path}?{urlencode(params)}", data=data, environ_base=environ_base or {})


def page_token(response) -> str:
    match = PAGE_TOKEN.search(response.get_data(as_text=True))
    assert match, "the page carries no page token"
    return match.group(1)


def health(connected_app, portal):
    return check(
        client_for(portal),
        connected_app.extensions["manifest"],
        base_url=connected_app.config["APP_BASE_URL"],
    )


def test_an_administrator_sees_the_installs_health_with_what_is_missing(
    connected_app, sandbox, portal
) -> None:
    response = open_main_page(connected_app.test_client(), sandbox)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hello, Maria Ivanova." in html and 'id="health"' in html and 'data-ok="no"' in html
    for name in ("ONCRMACTIVITYADD", "CRM_ACTIVITY_LIST_MENU", "TIMELINE_BRIDGE"):
        assert f'<code class="tb-missing-name">{name}</code>' in html
    assert 'action="/repair"' in html and page_token(response)
    assert portal.member_id in html and "active" in html and "No events yet." in html


def test_the_page_may_be_framed_by_the_portal_only(connected_app, sandbox, portal) -> None:
    response = open_main_page(connected_app.test_client(), sandbox)
    assert frame_ancestors(response) == sandbox.portal_url


def test_the_page_loads_bx24_from_the_configured_url_and_follows_the_content(
    connected_app, sandbox, portal
) -> None:
    connected_app.config["B24_JS_URL"] = f"{sandbox.portal_url}/static/bx24.js"
    html = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    assert f'<script src="{sandbox.portal_url}/static/bx24.js"></script>' in html
    assert '<script src="/static/bx24-fit.js"></script>' in html  # a file: the CSP runs no inline script
    with connected_app.test_client().get("/static/bx24-fit.js") as script:
        code = script.get_data(as_text=True)
    # fitWindow only grows the frame; the height is sent as the content changes (the browser test measures it)
    assert "BX24.resizeWindow(" in code and "ResizeObserver" in code


@pytest.mark.parametrize("user_id", [2, 3], ids=["crm-user", "no-crm-rights"])
def test_other_users_see_one_sentence_and_nothing_of_the_install(
    connected_app, sandbox, portal, user_id
) -> None:
    response = open_main_page(connected_app.test_client(), sandbox, user_id=user_id)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Timeline Bridge puts activities from your other systems into the CRM timeline" in html
    assert 'id="health"' not in html and "page_token" not in html and portal.member_id not in html
    assert "repair" not in html.lower()


def test_the_page_speaks_russian_to_a_russian_portal(connected_app, sandbox, portal) -> None:
    html = open_main_page(connected_app.test_client(), sandbox, lang="ru").get_data(as_text=True)
    assert "Состояние установки" in html and "Исправить" in html and 'lang="ru"' in html


def test_view_activity_opens_the_activity_page_for_any_user(connected_app, sandbox, portal) -> None:
    options = {"action": "view_activity", "activity_id": 17}
    for user_id in (1, 2):
        html = open_main_page(
            connected_app.test_client(), sandbox, user_id=user_id, options=options
        ).get_data(as_text=True)
        assert 'id="tb-activity" data-activity-id="17"' in html


@pytest.mark.parametrize(
    "auth_id",
    ["0" * 70, "not-a-token", "a" * 32],
    ids=["unknown-token", "junk", "short"],
)
def test_a_forged_auth_id_shows_nothing_and_asks_to_reopen(connected_app, sandbox, portal, auth_id) -> None:
    response = open_main_page(connected_app.test_client(), sandbox, AUTH_ID=auth_id)
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Your Bitrix24 session has ended" in html
    assert 'id="health"' not in html and portal.member_id not in html and "page_token" not in html


def test_an_expired_auth_id_shows_nothing_and_asks_to_reopen(connected_app, sandbox, portal) -> None:
    sandbox.configure(token_lifetime=-5)
    response = open_main_page(connected_app.test_client(), sandbox)
    assert response.status_code == 401
    assert "Your Bitrix24 session has ended" in response.get_data(as_text=True)


def test_a_token_of_another_portal_is_refused_by_ours(connected_app, sandbox, portal) -> None:
    other = sandbox.portals[1]
    foreign = open_frame(
        sandbox.state, other, find_app(sandbox.state, other), other.users[1], lang="en"
    ).fields["AUTH_ID"]
    response = open_main_page(connected_app.test_client(), sandbox, AUTH_ID=foreign)
    assert response.status_code == 401 and 'id="health"' not in response.get_data(as_text=True)


def test_a_portal_we_do_not_know_gets_an_install_page(connected_app, sandbox) -> None:
    response = open_main_page(connected_app.test_client(), sandbox)
    assert response.status_code == 404
    assert "not installed on this portal" in response.get_data(as_text=True)


def test_an_uninstalled_portal_gets_an_install_page(connected_app, sandbox, portal) -> None:
    portal.state, portal.access_token_enc, portal.refresh_token_enc = PortalState.UNINSTALLED, None, None
    db.session.commit()
    response = open_main_page(connected_app.test_client(), sandbox)
    assert response.status_code == 404 and portal.member_id not in response.get_data(as_text=True)


def test_a_domain_other_than_the_stored_one_is_refused(connected_app, sandbox, portal) -> None:
    other = sandbox.portals[1]
    response = open_main_page(connected_app.test_client(), sandbox, query={"DOMAIN": other.domain})
    assert response.status_code == 403
    assert "opened for another portal" in response.get_data(as_text=True)


def test_a_domain_outside_the_allow_list_is_refused(connected_app, sandbox, portal) -> None:
    response = open_main_page(connected_app.test_client(), sandbox, query={"DOMAIN": "evil.example.com"})
    assert response.status_code == 400
    assert frame_ancestors(response) == "'none'"


def test_a_plain_get_without_the_portal_is_refused(connected_app) -> None:
    response = connected_app.test_client().get("/")
    assert response.status_code == 400 and "opened from your Bitrix24 portal" in response.get_data(
        as_text=True
    )


def test_recent_events_failures_and_counts_are_shown(connected_app, sandbox, portal) -> None:
    now = datetime.now(UTC)
    rows = [
        ("ONCRMACTIVITYADD", InboxStatus.PENDING, None),  # settled by the inbox below: its tally counts it
        ("ONCRMACTIVITYUPDATE", InboxStatus.FAILED, "ACCESS_DENIED: the portal refused"),
        ("ONCRMACTIVITYDELETE", InboxStatus.PENDING, None),
    ]
    for n, (event, status, error) in enumerate(rows):
        db.session.add(
            InboxEvent(
                dedup_key=f"k{n}",
                event=event,
                member_id=portal.member_id,
                payload={},
                status=status,
                last_error=error,
                received_at=now - timedelta(minutes=n),
            )
        )
        db.session.commit()
        if n == 0:
            inbox = Inbox(db.session)
            claim = inbox.claim_batch()
            assert inbox.settle(claim, [e.id for e in claim.events]) == 1
            db.session.commit()
    db.session.add(InboxEvent(dedup_key="other", event="ONAPPTEST", member_id="z" * 32, payload={}))
    db.session.commit()
    html = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    assert "No events yet." not in html and "ONAPPTEST" not in html
    assert "ACCESS_DENIED: the portal refused" in html
    for status in ("pending", "done", "failed"):
        assert f'<span class="tb-count" data-status="{status}">{status} 1</span>' in html
    # The pending DELETE was received two minutes ago: the administrator sees how long it has waited.
    waited = re.search(r'<strong id="oldest-pending">(\d+) s</strong>', html)
    assert waited and 120 <= int(waited.group(1)) <= 180


def test_repair_rebinds_an_unbound_handler_and_health_is_ok_again(connected_app, sandbox, portal) -> None:
    assert register_portal(portal).ok
    db.session.commit()
    assert health(connected_app, portal).ok
    unbound = sandbox.call("event.unbind", {"event": "ONCRMACTIVITYADD", "handler": EVENTS_URL})
    assert unbound.json()["result"]["count"] == 1
    assert health(connected_app, portal).missing_events == ["ONCRMACTIVITYADD"]
    client = connected_app.test_client()
    page = open_main_page(client, sandbox)
    assert '<code class="tb-missing-name">ONCRMACTIVITYADD</code>' in page.get_data(as_text=True)
    repaired = client.post("/repair", data={"page_token": page_token(page), "lang": "en"})
    html = repaired.get_data(as_text=True)
    assert repaired.status_code == 200, html
    assert 'id="repair-report" data-ok="yes"' in html and 'data-ok="yes"' in html
    assert 'data-name="ONCRMACTIVITYADD"' in html
    assert frame_ancestors(repaired) == sandbox.portal_url
    assert health(connected_app, portal).ok


def test_repair_accepts_the_token_in_the_header(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    response = client.post("/repair", headers={page_tokens.HEADER: token})
    assert response.status_code == 200 and health(connected_app, portal).ok


@pytest.mark.parametrize("token", ["", "forged", "gAAAAABnot-really-fernet"], ids=["none", "forged", "fake"])
def test_repair_without_a_valid_page_token_changes_nothing(connected_app, sandbox, portal, token) -> None:
    response = connected_app.test_client().post("/repair", data={"page_token": token})
    assert response.status_code == 401 and "Your Bitrix24 session has ended" in response.get_data(
        as_text=True
    )
    assert not health(connected_app, portal).ok


def test_repair_with_an_expired_page_token_changes_nothing(connected_app, sandbox, portal) -> None:
    token = page_tokens.issue(
        member_id=portal.member_id,
        user_id=1,
        is_admin=True,
        generation=portal.generation,
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    response = connected_app.test_client().post("/repair", data={"page_token": token})
    assert response.status_code == 401 and not health(connected_app, portal).ok


def test_repair_is_for_administrators_only(connected_app, sandbox, portal) -> None:
    token = page_tokens.issue(
        member_id=portal.member_id, user_id=2, is_admin=False, generation=portal.generation
    )
    response = connected_app.test_client().post("/repair", data={"page_token": token})
    assert response.status_code == 403 and not health(connected_app, portal).ok


def test_the_page_token_never_appears_in_a_url(connected_app, sandbox, portal) -> None:
    response = open_main_page(connected_app.test_client(), sandbox)
    token = page_token(response)
    html = response.get_data(as_text=True)
    assert all(token not in url for url in re.findall(r'(?:href|action|src)="([^"]*)"', html))
    assert "Set-Cookie" not in response.headers


def test_a_health_check_the_portal_cannot_answer_is_said_in_words(connected_app, sandbox, portal) -> None:
    sandbox.app.scope.remove("placement")  # placement.get inside the page's batch now fails on its own
    response = open_main_page(connected_app.test_client(), sandbox)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The health check could not run: The app lacks a permission it needs on this portal." in html
    assert 'action="/repair"' in html


def test_junk_placement_options_are_ignored(connected_app, sandbox, portal) -> None:
    response = open_main_page(connected_app.test_client(), sandbox, options={"any": "28/"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="health"' in html and 'id="asked-activity"' not in html


def test_an_inactive_user_is_shown_nothing(connected_app, sandbox, portal) -> None:
    sandbox.portal.users[2].active = False  # profile answers an empty result for them (notes §7)
    response = open_main_page(connected_app.test_client(), sandbox, user_id=2)
    assert response.status_code == 401 and "Timeline Bridge puts" not in response.get_data(as_text=True)
