"""The install flow through the sandbox portal: installer page, installFinish, API-only install, forgeries."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.models import ActivityTemplate, Portal, PortalState
from app.portals.connections import client_for
from app.portals.plan import EVENTS as OFFLINE_EVENTS
from app.portals.registration import check
from app.portals.store import application_token_matches
from sandbox.apps import find_app, finish_install, install_app
from sandbox.seed import reset_and_seed
from sandbox.ui.frame import open_frame
from tests.conftest import frame_ancestors


def open_installer(sandbox, *, user_id: int = 1, lang: str = "en", **changes: str) -> requests.Response:
    """Post the installer frame exactly as the sandbox portal's slider does, with optional forged fields."""
    portal = sandbox.portal
    frame = open_frame(
        sandbox.state, portal, find_app(sandbox.state, portal), portal.users[user_id], lang=lang
    )
    fields = {**frame.fields, **{k: v for k, v in changes.items() if not k.isupper() or k in frame.fields}}
    url = frame.url
    if "DOMAIN" in changes:
        base, _, _ = url.partition("?")
        url = (
            base
            + "?"
            + urlencode(
                {
                    "DOMAIN": changes["DOMAIN"],
                    "PROTOCOL": changes.get("PROTOCOL", "0"),
                    "LANG": lang,
                    "APP_SID": "0" * 32,
                }
            )
        )
    fields.update({k: v for k, v in changes.items() if k in ("AUTH_ID", "member_id", "SERVER_ENDPOINT")})
    return requests.post(url, data=fields, timeout=30)


def bound(sandbox) -> tuple[set[str], set[str]]:
    app = find_app(sandbox.state, sandbox.portal)
    return {b["event"] for b in app.events}, {p["placement"] for p in app.placements}


def stored() -> list[Portal]:
    db.session.expire_all()
    return list(db.session.query(Portal))


def test_the_installer_registers_everything_and_installfinish_activates(live_app, sandbox) -> None:
    response = open_installer(sandbox)
    assert response.status_code == 200, response.text
    assert "Timeline Bridge is ready" in response.text and "/static/install-finish.js" in response.text
    script = requests.get(f"{live_app.url}/static/install-finish.js", timeout=10).text
    assert "BX24.installFinish()" in script
    assert frame_ancestors(response) == sandbox.portal_url
    manifest = live_app.app.extensions["manifest"]
    events, placements = bound(sandbox)
    assert events == set(manifest.events)
    assert placements == {code for code, _ in manifest.bound(sandbox.portal.smart_types)}
    assert "CRM_DYNAMIC_1032_ACTIVITY_TIMELINE_MENU" in placements  # the smart process's own menu

    finish_install(sandbox.state, sandbox.portal, user_id=1)  # what BX24.installFinish() does in the slider
    delivery = sandbox.wait_for_deliveries(1)[0]
    assert (delivery.event, delivery.status) == ("ONAPPINSTALL", 200)
    [portal] = stored()
    assert portal.state is PortalState.ACTIVE and portal.member_id == sandbox.portal.member_id
    assert application_token_matches(portal, find_app(sandbox.state, sandbox.portal).application_token)
    health = check(client_for(portal), manifest, base_url=live_app.url)
    assert health.ok, health


def test_running_the_installer_again_changes_nothing(live_app, sandbox) -> None:
    assert open_installer(sandbox).status_code == 200
    again = open_installer(sandbox)
    assert again.status_code == 200 and "registered" not in again.text.split("<tbody>")[1]
    manifest = live_app.app.extensions["manifest"]
    offline = len(
        [e for e in manifest.events if e in OFFLINE_EVENTS]
    )  # bound offline too (app.inbox.offline)
    placements = len(manifest.bound(sandbox.portal.smart_types))  # the menus, one per smart process too
    assert (
        again.text.count("already there")
        == 1 + len(manifest.events) + placements + len(manifest.badges) + offline
    )
    assert len(stored()) == 1


@pytest.mark.parametrize(
    ("lang", "names"),
    [
        ("ru", ["Итоги встречи", "Отправить предложение", "Повторный звонок"]),
        ("de", ["Angebot senden", "Besprechungsnotizen", "Rückruf"]),
    ],
)
def test_the_installer_seeds_the_default_templates_in_its_language(live_app, sandbox, lang, names) -> None:
    assert open_installer(sandbox, lang=lang).status_code == 200
    db.session.expire_all()
    rows = db.session.scalars(
        select(ActivityTemplate).where(ActivityTemplate.member_id == stored()[0].member_id)
    )
    assert sorted(row.name for row in rows) == names
    assert open_installer(sandbox, lang="en").status_code == 200  # installing again leaves them as they are
    db.session.expire_all()
    assert sorted(t.name for t in db.session.scalars(select(ActivityTemplate))) == names


def test_without_application_token_in_the_frame_the_portal_waits_for_onappinstall(live_app, sandbox) -> None:
    sandbox.configure(frame_extra_fields=False)
    assert open_installer(sandbox).status_code == 200
    assert stored()[0].state is PortalState.INSTALLING
    finish_install(sandbox.state, sandbox.portal, user_id=1)
    sandbox.wait_for_deliveries(1)
    assert stored()[0].state is PortalState.ACTIVE


def test_an_api_only_install_works_from_onappinstall_alone(live_app, sandbox) -> None:
    sandbox.configure(api_only=True)
    reset_and_seed(
        sandbox.state
    )  # the vendor console's "uses API only" setting is read when the app is added
    install_app(sandbox.state, sandbox.portal)
    delivery = sandbox.wait_for_deliveries(1)[0]
    assert delivery.url == live_app.url + "/install" and delivery.status == 200
    [portal] = stored()
    assert portal.state is PortalState.ACTIVE
    events, _ = bound(sandbox)
    assert events >= set(live_app.app.extensions["manifest"].events) - {"ONAPPINSTALL"}


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({"AUTH_ID": "f" * 70}, 403, "could not confirm"),
        ({"AUTH_ID": ""}, 400, "sign-in data is missing"),
        ({"member_id": "0" * 32}, 403, "could not confirm"),
        ({"DOMAIN": "evil.example.com"}, 400, "plain http"),
        # An https name outside the allow-list may be an on-premise portal: the OAuth server decides.
        ({"DOMAIN": "evil.example.com", "PROTOCOL": "1"}, 403, "could not confirm"),
        ({"DOMAIN": "127.1:80", "PROTOCOL": "1"}, 400, "opened from your Bitrix24 portal"),
    ],
)
def test_a_forged_installer_post_stores_and_binds_nothing(live_app, sandbox, changes, status, words) -> None:
    response = open_installer(sandbox, **changes)
    assert response.status_code == status and words in response.text
    assert stored() == []
    assert bound(sandbox) == (set(), set())


def test_a_token_of_another_portal_is_refused(live_app, sandbox) -> None:
    other = sandbox.portals[1]
    foreign = open_frame(sandbox.state, other, find_app(sandbox.state, other), other.users[1], lang="en")
    response = open_installer(sandbox, AUTH_ID=foreign.fields["AUTH_ID"])
    assert response.status_code == 403
    assert stored() == []


def test_a_forged_domain_and_server_endpoint_are_never_called(live_app, sandbox, event_receiver) -> None:
    live_app.app.config["B24_ALLOWED_HOSTS"] = ("127.0.0.1:*",)
    listener = event_receiver.base_url.split("://")[1]
    response = open_installer(
        sandbox, DOMAIN=listener, AUTH_ID="a" * 70, SERVER_ENDPOINT=f"{event_receiver.base_url}/rest/"
    )
    assert response.status_code == 403
    assert event_receiver.requests == []
    assert stored() == []
