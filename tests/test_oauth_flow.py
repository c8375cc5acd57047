"""The authorization-code flow (/oauth/start → the portal → /oauth/callback), against the sandbox."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from app.extensions import db
from app.models import OAuthState, Portal, PortalState
from app.oauth.flow import BROWSER_COOKIE, MAX_OPEN_STATES, digest
from app.portals.store import read_tokens
from tests.conftest import frame_ancestors


def start(client: FlaskClient, portal: Portal):
    return client.get(f"/oauth/start?domain={portal.domain}")


def consent(authorize_url: str, *, user_id: int = 1) -> str:
    """What the portal does once the user agrees: redirect to our callback; return its path and query."""
    answer = requests.get(f"{authorize_url}&user_id={user_id}", allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    target = urlsplit(answer.headers["Location"])
    assert target.path == "/oauth/callback"
    return f"{target.path}?{target.query}"


def sign_in(client: FlaskClient, portal: Portal, *, user_id: int = 1) -> str:
    return consent(start(client, portal).headers["Location"], user_id=user_id)


def stored_version(portal: Portal) -> int:
    db.session.expire_all()
    return db.session.get(Portal, portal.id).token_version


def test_start_sends_the_browser_to_the_stored_portal_with_a_fresh_state(
    connected_app, sandbox, portal
) -> None:
    response = start(connected_app.test_client(), portal)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert f"{target.scheme}://{target.netloc}" == sandbox.portal_url and target.path == "/oauth/authorize/"
    query = parse_qs(target.query)
    assert query["client_id"] == [connected_app.config["B24_CLIENT_ID"]] and len(query["state"][0]) >= 40
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{BROWSER_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/oauth/callback" in cookie
    row = db.session.scalar(db.select(OAuthState))
    assert row.state_sha256 == digest(query["state"][0]) and row.member_id == portal.member_id
    assert query["state"][0] not in (row.state_sha256, row.browser_sha256) and row.used_at is None


def test_each_start_gets_its_own_state(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    first, second = (parse_qs(urlsplit(start(client, portal).headers["Location"]).query) for _ in range(2))
    assert first["state"] != second["state"]


@pytest.mark.parametrize(
    "domain",
    ["", "evil.example.com", "127.0.0.1", "127.0.0.1:1"],
    ids=["missing", "not-allowed", "allowed-but-unknown", "allowed-port-unknown"],
)
def test_start_refuses_a_portal_we_do_not_serve(connected_app, sandbox, portal, domain) -> None:
    response = connected_app.test_client().get(f"/oauth/start?domain={domain}")
    assert response.status_code == 400 and "Location" not in response.headers
    assert db.session.scalar(db.select(OAuthState)) is None


def test_the_code_is_exchanged_and_the_new_pair_stored(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    before = stored_version(portal)
    response = client.get(sign_in(client, portal))
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    assert stored_version(portal) == before + 1
    tokens = read_tokens(db.session.get(Portal, portal.id))
    issued = sandbox.state.tokens[tokens.access_token]
    assert issued.user_id == 1 and issued.refresh_token == tokens.refresh_token
    assert f"{BROWSER_COOKIE}=;" in " ".join(response.headers.getlist("Set-Cookie"))


def test_after_sign_in_the_main_page_shows_the_install_outside_the_frame(
    connected_app, sandbox, portal
) -> None:
    client = connected_app.test_client()
    client.get(sign_in(client, portal))
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="health"' in html and portal.member_id in html
    assert frame_ancestors(page) == "'none'"
    assert "BX24.init" not in html


def test_the_session_cookie_is_first_party_only(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    response = client.get(sign_in(client, portal))
    session_cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert read_tokens(db.session.get(Portal, portal.id)).access_token not in session_cookie


def test_day_old_abandoned_states_are_swept_by_the_next_start(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    start(client, portal)
    db.session.scalar(db.select(OAuthState)).created_at -= timedelta(days=2)
    db.session.commit()
    start(client, portal)
    db.session.expire_all()
    assert len(db.session.scalars(db.select(OAuthState)).all()) == 1


def test_unfinished_flows_are_capped_per_portal_and_free_again_once_expired(
    connected_app, sandbox, portal
) -> None:
    client = connected_app.test_client()
    for _ in range(MAX_OPEN_STATES):
        assert start(client, portal).status_code == 302
    refused = start(client, portal)
    assert refused.status_code == 429 and "Wait a few minutes" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    assert db.session.scalar(db.select(db.func.count()).select_from(OAuthState)) == MAX_OPEN_STATES
    for row in db.session.scalars(db.select(OAuthState)):
        row.created_at -= timedelta(minutes=11)
    db.session.commit()
    assert start(client, portal).status_code == 302


def test_a_state_is_single_use(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    callback = sign_in(client, portal)
    assert client.get(callback).status_code == 303
    version = stored_version(portal)
    replay = client.get(callback)
    assert replay.status_code == 400 and "already used" in replay.get_data(as_text=True)
    assert stored_version(portal) == version


def test_an_expired_state_is_refused(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    callback = sign_in(client, portal)
    row = db.session.scalar(db.select(OAuthState))
    row.created_at -= timedelta(minutes=11)
    db.session.commit()
    version = stored_version(portal)
    response = client.get(callback)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert stored_version(portal) == version


def test_a_state_from_another_browser_is_refused_and_left_to_its_owner(
    connected_app, sandbox, portal
) -> None:
    owner = connected_app.test_client()
    callback = sign_in(owner, portal)
    version = stored_version(portal)
    stranger = connected_app.test_client()
    response = stranger.get(callback)
    assert response.status_code == 403 and "another browser" in response.get_data(as_text=True)
    stranger.set_cookie(BROWSER_COOKIE, "guessed-nonce", path="/oauth/callback")
    assert stranger.get(callback).status_code == 403
    assert stored_version(portal) == version and stranger.get("/").status_code == 400
    assert owner.get(callback).status_code == 303 and stored_version(portal) == version + 1


def test_a_state_we_never_issued_is_refused(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    callback = sign_in(client, portal)
    forged = callback.replace("state=", "state=x")
    response = client.get(forged)
    assert response.status_code == 400 and "not one we issued" in response.get_data(as_text=True)


def test_a_forged_code_stores_nothing(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    callback = sign_in(client, portal)
    query = parse_qs(urlsplit(callback).query)
    forged = callback.replace(query["code"][0], "0" * 70)
    version = stored_version(portal)
    response = client.get(forged)
    assert response.status_code == 400 and "refused the sign-in code" in response.get_data(as_text=True)
    assert stored_version(portal) == version and "member_id" not in client.get("/").get_data(as_text=True)


def test_a_callback_for_another_portal_is_refused(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    callback = sign_in(client, portal)
    forged = callback.replace(portal.member_id, "0" * 32)
    version = stored_version(portal)
    assert client.get(forged).status_code == 403 and stored_version(portal) == version


def test_a_user_who_is_not_an_administrator_is_refused(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    version = stored_version(portal)
    response = client.get(sign_in(client, portal, user_id=2))
    assert response.status_code == 403 and "administrator" in response.get_data(as_text=True)
    assert stored_version(portal) == version
    assert client.get("/").status_code == 400  # no session was opened


def test_a_callback_without_a_code_is_refused(connected_app, sandbox, portal) -> None:
    response = connected_app.test_client().get("/oauth/callback?state=abc")
    assert response.status_code == 400 and "no authorization code" in response.get_data(as_text=True)


def test_repair_works_from_the_page_outside_the_frame(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    client.get(sign_in(client, portal))
    token = re.search(r'name="page_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    repaired = client.post("/repair", data={"page_token": token})
    assert repaired.status_code == 200
    assert 'id="repair-report" data-ok="yes"' in repaired.get_data(as_text=True)


def test_a_session_for_a_portal_since_uninstalled_shows_nothing(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    client.get(sign_in(client, portal))
    row = db.session.get(Portal, portal.id)
    row.state = PortalState.UNINSTALLED
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 404 and portal.member_id not in response.get_data(as_text=True)
    assert client.get("/").status_code == 400  # the session was cleared


def test_an_administrator_signing_in_brings_a_portal_that_needs_reinstalling_back(
    connected_app, sandbox, portal
) -> None:
    portal.state = PortalState.NEEDS_REINSTALL  # its refresh token was refused
    db.session.commit()
    client = connected_app.test_client()
    assert client.get(sign_in(client, portal)).status_code == 303
    db.session.expire_all()
    assert db.session.get(Portal, portal.id).state is PortalState.ACTIVE
