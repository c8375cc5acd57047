"""The OAuth server: code flow, grants, single-use refresh, expiry, app.info on both hosts (notes §4, §7)."""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.testing import RunningSandbox

TOKEN_FIELDS = {
    "access_token",
    "client_endpoint",
    "domain",
    "expires",
    "expires_in",
    "member_id",
    "refresh_token",
    "scope",
    "server_endpoint",
    "status",
    "user_id",
}


def authorize(sandbox: RunningSandbox, **params: str) -> requests.Response:
    query = {"client_id": sandbox.app.client_id, "state": "xyz", **params}
    return requests.get(
        f"{sandbox.portal_url}/oauth/authorize/", params=query, allow_redirects=False, timeout=5
    )


def code_from(response: requests.Response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def token_call(sandbox: RunningSandbox, method: str = "GET", **params: str) -> requests.Response:
    base = {"client_id": sandbox.app.client_id, "client_secret": sandbox.app.client_secret}
    url = f"{sandbox.oauth_url}/oauth/token/"
    if method == "GET":
        return requests.get(url, params={**base, **params}, timeout=5)
    return requests.post(url, data={**base, **params}, timeout=5)


def exchange(sandbox: RunningSandbox, **authorize_params: str) -> dict:
    query = code_from(authorize(sandbox, **authorize_params))
    response = token_call(sandbox, grant_type="authorization_code", code=query["code"])
    assert response.status_code == 200, response.text
    return response.json()


def test_authorize_redirects_to_the_app_with_code_state_domain_member_scope(sandbox: RunningSandbox) -> None:
    response = authorize(sandbox)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("http://127.0.0.1:5000/oauth/callback?")
    query = code_from(response)
    assert query["state"] == "xyz"
    assert query["domain"] == sandbox.portal.domain
    assert query["member_id"] == sandbox.portal.member_id
    assert query["scope"] == "crm,placement,user_brief"
    assert query["server_domain"] == urlsplit(sandbox.oauth_url).netloc
    assert len(query["code"]) == 70


def test_authorize_refuses_an_app_that_is_not_installed(sandbox: RunningSandbox) -> None:
    sandbox.app.installed = False
    response = authorize(sandbox)
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_authorize_refuses_an_unknown_client(sandbox: RunningSandbox) -> None:
    assert authorize(sandbox, client_id="app.unknown").status_code == 400


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_code_exchange_returns_every_documented_field(sandbox: RunningSandbox, method: str) -> None:
    query = code_from(authorize(sandbox, user_id="2"))
    response = token_call(sandbox, method, grant_type="authorization_code", code=query["code"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    assert body["domain"] == urlsplit(sandbox.oauth_url).netloc  # notes §4.3 gotcha: the OAuth host
    assert body["client_endpoint"] == f"{sandbox.portal_url}/rest/"
    assert body["server_endpoint"] == f"{sandbox.oauth_url}/rest/"
    assert body["user_id"] == 2
    assert body["expires_in"] == 3600
    assert abs(body["expires"] - (time.time() + 3600)) < 5
    assert len(body["access_token"]) == 70 and len(body["member_id"]) == 32
    assert sandbox.call("user.current", token=body["access_token"]).json()["result"]["ID"] == "2"


def test_a_code_works_once(sandbox: RunningSandbox) -> None:
    query = code_from(authorize(sandbox))
    assert token_call(sandbox, grant_type="authorization_code", code=query["code"]).status_code == 200
    again = token_call(sandbox, grant_type="authorization_code", code=query["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_code_expires_after_its_lifetime(sandbox: RunningSandbox) -> None:
    sandbox.configure(code_lifetime=0.05)
    query = code_from(authorize(sandbox))
    time.sleep(0.1)
    response = token_call(sandbox, grant_type="authorization_code", code=query["code"])
    assert response.json()["error"] == "invalid_grant"


def test_refresh_is_single_use_and_kills_the_old_access_token(sandbox: RunningSandbox) -> None:
    first = exchange(sandbox)
    second = token_call(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    new = second.json()
    assert new["access_token"] != first["access_token"] and new["refresh_token"] != first["refresh_token"]
    reuse = token_call(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    dead = sandbox.call("user.current", token=first["access_token"])
    assert dead.status_code == 401 and dead.json()["error"] == "invalid_token"
    assert sandbox.call("user.current", token=new["access_token"]).status_code == 200


def test_refresh_can_be_made_reusable_by_switch(sandbox: RunningSandbox) -> None:
    sandbox.configure(refresh_single_use=False)
    first = exchange(sandbox)
    for _ in range(2):
        again = token_call(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
        assert again.status_code == 200


def test_expired_access_token_gets_expired_token_401(sandbox: RunningSandbox) -> None:
    sandbox.configure(token_lifetime=0.05)
    body = exchange(sandbox)
    time.sleep(0.1)
    response = sandbox.call("user.current", token=body["access_token"])
    assert response.status_code == 401
    assert response.json() == {
        "error": "expired_token",
        "error_description": "The access token provided has expired",
    }
    sandbox.configure(expired_token_period=True)
    assert sandbox.call("user.current", token=body["access_token"]).json()["error_description"].endswith(".")


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, 400, "invalid_grant"),
        ({"grant_type": "refresh_token"}, 400, "invalid_request"),
        ({"grant_type": "authorization_code"}, 400, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "nope"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
    ],
)
def test_token_endpoint_errors(sandbox: RunningSandbox, params: dict, status: int, error: str) -> None:
    response = token_call(sandbox, **params)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert set(response.json()) == {"error", "error_description"}


@pytest.mark.parametrize("bad", [{"client_secret": "wrong"}, {"client_id": "app.other"}])
def test_bad_client_credentials_get_invalid_client(sandbox: RunningSandbox, bad: dict) -> None:
    body = exchange(sandbox)
    params = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], **bad}
    response = requests.get(
        f"{sandbox.oauth_url}/oauth/token/",
        params={"client_id": sandbox.app.client_id, "client_secret": sandbox.app.client_secret, **params},
        timeout=5,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"


def test_token_endpoint_is_only_on_the_oauth_host(sandbox: RunningSandbox) -> None:
    response = requests.get(f"{sandbox.portal_url}/oauth/token/", params={"grant_type": "x"}, timeout=5)
    assert response.status_code == 404


def test_oauth_app_info_has_the_pysdk_shape(sandbox: RunningSandbox) -> None:
    token = sandbox.token(2)
    response = requests.get(f"{sandbox.oauth_url}/rest/app.info", params={"auth": token}, timeout=5)
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["client_id"] == sandbox.app.client_id
    assert result["scope"] == "crm,placement,user_brief"
    assert datetime.fromisoformat(result["expires"]).timestamp() > time.time()
    assert result["user_id"] == 2
    install = result["install"]
    assert install == {
        "installed": True,
        "version": "1",
        "status": "L",
        "scope": "crm,placement,user_brief",
        "domain": sandbox.portal.domain,
        "uri": sandbox.portal_url,
        "client_endpoint": f"{sandbox.portal_url}/rest/",
        "member_id": sandbox.portal.member_id,
        "member_type": "user",
    }


@pytest.mark.parametrize("path", ["/rest/app.info", "/rest/app.info/", "/rest/app.info.json"])
def test_oauth_app_info_paths_and_bearer(sandbox: RunningSandbox, path: str) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token()}"}
    response = requests.get(f"{sandbox.oauth_url}{path}", headers=headers, timeout=5)
    assert response.status_code == 200 and response.json()["result"]["install"]["installed"] is True


def test_oauth_app_info_errors(sandbox: RunningSandbox) -> None:
    unknown = requests.get(f"{sandbox.oauth_url}/rest/app.info", params={"auth": "ab" * 35}, timeout=5)
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_client"
    missing = requests.get(f"{sandbox.oauth_url}/rest/app.info", timeout=5)
    assert missing.status_code == 401 and missing.json()["error"] == "NO_AUTH_FOUND"
    other = requests.get(
        f"{sandbox.oauth_url}/rest/user.current", params={"auth": sandbox.token()}, timeout=5
    )
    assert other.status_code == 404 and other.json()["error"] == "ERROR_METHOD_NOT_FOUND"


def test_oauth_app_info_shows_an_unfinished_install(sandbox: RunningSandbox) -> None:
    sandbox.app.installed = False
    response = requests.get(f"{sandbox.oauth_url}/rest/app.info", params={"auth": sandbox.token()}, timeout=5)
    assert response.json()["result"]["install"]["installed"] is False


def test_tokens_of_one_portal_do_not_open_another(sandbox: RunningSandbox) -> None:
    other_portal = sandbox.portals[1]
    token = sandbox.token(1, portal=other_portal)
    response = sandbox.call("user.current", token=token)
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    assert sandbox.call("user.current", token=token, portal_url=sandbox.portal_urls[1]).status_code == 200


def test_another_apps_credentials_do_not_burn_a_refresh_token(sandbox: RunningSandbox) -> None:
    from sandbox.state import AppRegistration

    other = AppRegistration(
        client_id="local.other", client_secret="other-secret", base_url="http://o.example.com"
    )
    sandbox.state.registrations[other.client_id] = other
    body = exchange(sandbox)
    stolen = requests.get(
        f"{sandbox.oauth_url}/oauth/token/",
        params={
            "grant_type": "refresh_token",
            "client_id": other.client_id,
            "client_secret": other.client_secret,
            "refresh_token": body["refresh_token"],
        },
        timeout=5,
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert (
        token_call(sandbox, grant_type="refresh_token", refresh_token=body["refresh_token"]).status_code
        == 200
    )


def test_the_grants_log_records_each_token_request_without_secrets(sandbox: RunningSandbox) -> None:
    first = exchange(sandbox)
    token_call(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    token_call(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    grants = sandbox.control("grants", method="GET").json()["grants"]
    assert [(g["grant_type"], g["ok"], g["error"]) for g in grants] == [
        ("authorization_code", True, None),
        ("refresh_token", True, None),
        ("refresh_token", False, "invalid_grant"),
    ]
    assert {g["member_id"] for g in grants} == {sandbox.portal.member_id}
    assert first["refresh_token"] not in str(grants) and sandbox.app.client_secret not in str(grants)
    assert sandbox.control("grants", method="DELETE").json()["grants"] == []


def test_an_expiry_storm_expires_the_portals_live_tokens_only(sandbox: RunningSandbox) -> None:
    mine, other = sandbox.token(fresh=True), sandbox.token(1, portal=sandbox.portals[1])
    answer = sandbox.control("tokens/expire", {"member_id": sandbox.portal.member_id}).json()
    assert answer["expired"] >= 1
    expired = sandbox.call("user.current", token=mine)
    assert expired.status_code == 401 and expired.json()["error"] == "expired_token"
    alive = sandbox.call("user.current", token=other, portal_url=sandbox.portal_urls[1])
    assert alive.status_code == 200
    sandbox.control("tokens/expire", {"all": True})
    assert sandbox.call("user.current", token=other, portal_url=sandbox.portal_urls[1]).status_code == 401
