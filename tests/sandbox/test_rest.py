"""Portal REST conventions: bodies, auth, envelopes, status codes (notes §5.1-§5.4)."""

from __future__ import annotations

import json

import pytest
import requests

from sandbox.testing import RunningSandbox

TIME_KEYS = {
    "start",
    "finish",
    "duration",
    "processing",
    "date_start",
    "date_finish",
    "operating_reset_at",
    "operating",
}


def post(sandbox: RunningSandbox, method: str, **kwargs: object) -> requests.Response:
    return requests.post(f"{sandbox.portal_url}/rest/{method}", timeout=5, **kwargs)  # type: ignore[arg-type]


def test_success_envelope_has_result_time_and_cloud_headers(sandbox: RunningSandbox) -> None:
    response = sandbox.call("user.admin")
    assert response.status_code == 200
    body = response.json()
    assert body["result"] is True
    assert set(body["time"]) == TIME_KEYS
    assert body["time"]["date_start"].endswith("+00:00")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["X-Bitrix-Rest-Application"] == sandbox.app.client_id
    assert "X-Bitrix-Rest-Time" in response.headers


def test_list_results_hoist_next_and_total(sandbox: RunningSandbox) -> None:
    first = sandbox.call("sandboxtest.page").json()
    assert (len(first["result"]), first["next"], first["total"]) == (50, 50, 120)
    last = sandbox.call("sandboxtest.page", {"start": 100}).json()
    assert (len(last["result"]), last["total"]) == (20, 120)
    assert "next" not in last


@pytest.mark.parametrize("name", ["user.admin", "USER.ADMIN", "User.Admin.json", "user.admin.JSON"])
def test_method_names_are_case_insensitive_with_optional_json_suffix(
    sandbox: RunningSandbox, name: str
) -> None:
    assert sandbox.call(name).json()["result"] is True


def test_auth_in_query_body_form_and_bearer(sandbox: RunningSandbox) -> None:
    token = sandbox.token(3)
    assert post(sandbox, "user.admin", params={"auth": token}).json()["result"] is False
    assert post(sandbox, "user.admin", data={"access_token": token}).json()["result"] is False
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        requests.get(f"{sandbox.portal_url}/rest/user.admin", headers=headers, timeout=5).json()["result"]
        is False
    )


def test_php_bracket_form_body_is_parsed_into_nested_params(sandbox: RunningSandbox) -> None:
    data = "event=ONAPPTEST&data[FIELDS][ID]=7&data[LIST][]=a&data[LIST][]=b&auth=" + sandbox.token()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = post(sandbox, "sandboxtest.emit", data=data, headers=headers)
    assert response.status_code == 200, response.text


def test_raw_urlencoded_body_without_content_type_is_parsed(sandbox: RunningSandbox) -> None:
    body = f"auth={sandbox.token(3)}".encode()
    response = requests.post(
        f"{sandbox.portal_url}/rest/user.admin", data=body, headers={"Content-Type": ""}, timeout=5
    )
    assert response.json()["result"] is False


def test_body_wins_over_query(sandbox: RunningSandbox) -> None:
    response = post(
        sandbox, "sandboxtest.page", params={"start": "0"}, json={"start": 100, "auth": sandbox.token()}
    )
    assert response.json()["result"][0] == 100


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, "ERROR_ARGUMENT"),
        ({"data": b"[1, 2]", "headers": {"Content-Type": "application/json"}}, "ERROR_ARGUMENT"),
        ({"data": b"\xff\xfe", "headers": {"Content-Type": "application/json"}}, "WRONG_ENCODING"),
        ({"data": b"a=\xff", "headers": {"Content-Type": "text/plain"}}, "WRONG_ENCODING"),
    ],
)
def test_malformed_bodies_get_an_error_envelope(sandbox: RunningSandbox, kwargs: dict, error: str) -> None:
    response = post(sandbox, "user.admin", params={"auth": sandbox.token()}, **kwargs)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert "result" not in response.json() and "time" not in response.json()


@pytest.mark.parametrize(
    ("token", "status", "error"),
    [
        (None, 401, "NO_AUTH_FOUND"),
        ("", 401, "NO_AUTH_FOUND"),
        ("0" * 70, 401, "invalid_token"),
    ],
)
def test_auth_errors(sandbox: RunningSandbox, token: str | None, status: int, error: str) -> None:
    body = {} if token is None else {"auth": token}
    response = post(sandbox, "user.current", json=body)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert set(response.json()) == {"error", "error_description"}


def test_unknown_method_is_404(sandbox: RunningSandbox) -> None:
    response = sandbox.call("no.such.method")
    assert response.status_code == 404
    assert response.json() == {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}


def test_method_outside_the_app_scope_is_insufficient_scope(sandbox: RunningSandbox) -> None:
    response = sandbox.call("sandboxtest.task")
    assert response.status_code == 401
    assert response.json()["error"] == "insufficient_scope"
    sandbox.configure(insufficient_scope_status=403)
    assert sandbox.call("sandboxtest.task").status_code == 403
    assert sandbox.call("sandboxtest.crm").json()["result"] == "ok"


def test_scope_is_taken_from_the_app(sandbox: RunningSandbox) -> None:
    sandbox.app.scope = ["placement"]
    assert sandbox.call("sandboxtest.crm").json()["error"] == "insufficient_scope"


def test_a_python_exception_becomes_a_500_envelope_and_is_logged(sandbox: RunningSandbox) -> None:
    response = sandbox.call("sandboxtest.explode")
    assert response.status_code == 500
    assert response.json() == {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}
    assert "ZeroDivisionError" in sandbox.state.errors[-1]
    assert "Traceback" not in response.text


def test_unknown_portal_host_is_portal_deleted(sandbox: RunningSandbox) -> None:
    response = requests.post(
        f"{sandbox.portal_url}/rest/user.current", headers={"Host": "gone.example.com"}, json={}, timeout=5
    )
    assert response.status_code == 403 and response.json()["error"] == "PORTAL_DELETED"


def test_uninstalled_app_tokens_stop_working(sandbox: RunningSandbox) -> None:
    token = sandbox.token()
    assert sandbox.control("apps/uninstall").status_code == 200
    response = sandbox.call("user.current", token=token)
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"


def test_empty_maps_serialise_as_php_arrays(sandbox: RunningSandbox) -> None:
    result = sandbox.call("batch", {"cmd": {}}).json()["result"]
    assert result == {
        "result": [],
        "result_error": [],
        "result_total": [],
        "result_next": [],
        "result_time": [],
    }


def test_json_numbers_and_unicode_survive(sandbox: RunningSandbox) -> None:
    response = sandbox.call("sandboxtest.emit", {"event": "ONAPPTEST", "data": {"name": "Müller"}})
    assert json.loads(response.text)["result"] is True


def test_https_can_be_required(sandbox: RunningSandbox) -> None:
    sandbox.configure(require_https=True)
    response = sandbox.call("user.admin")
    assert response.status_code == 400
    assert response.json() == {"error": "INVALID_REQUEST", "error_description": "Https required"}
