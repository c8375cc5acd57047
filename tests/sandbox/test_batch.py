"""batch (notes §5.5): map and list cmd, references, halt, the 50-command cap, nested batch."""

from __future__ import annotations

from urllib.parse import quote

from sandbox.testing import RunningSandbox


def batch(sandbox: RunningSandbox, cmd: object, **params: object) -> dict:
    response = sandbox.call("batch", {"cmd": cmd, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"result", "time"}
    return body["result"]


def test_map_cmd_returns_results_by_key_with_times(sandbox: RunningSandbox) -> None:
    result = batch(sandbox, {"me": "user.current", "admin": "user.admin"})
    assert result["result"]["me"]["ID"] == "1"
    assert result["result"]["admin"] is True
    assert set(result["result_time"]) == {"me", "admin"}
    assert "operating" in result["result_time"]["me"]
    assert result["result_error"] == [] and result["result_total"] == [] and result["result_next"] == []


def test_list_cmd_returns_a_list(sandbox: RunningSandbox) -> None:
    result = batch(sandbox, ["user.admin", "user.current"])
    assert result["result"][0] is True and result["result"][1]["ID"] == "1"


def test_list_methods_fill_result_total_and_next(sandbox: RunningSandbox) -> None:
    result = batch(sandbox, {"p": "sandboxtest.page?start=50"})
    assert result["result_total"] == {"p": 120} and result["result_next"] == {"p": 100}
    assert result["result"]["p"][0] == 50


def test_whole_value_reference_keeps_its_type(sandbox: RunningSandbox) -> None:
    # sandboxtest.page reads start as int(...): a whole-value reference to a number stays a number
    result = batch(sandbox, {"a": "sandboxtest.page", "b": "sandboxtest.page?start=$next[a]"})
    assert result["result"]["b"][0] == 50


def test_reference_into_nested_result(sandbox: RunningSandbox) -> None:
    cmd = {
        "a": "user.current",
        "b": "sandboxtest.echo?data[dep]=$result[a][UF_DEPARTMENT][0]&data[who]=user $result[a][ID]!",
        "c": "sandboxtest.echo?whole=$result[a][UF_DEPARTMENT]&glued=x$result[a][UF_DEPARTMENT]"
        "&t=$time[a][operating]",
    }
    result = batch(sandbox, cmd)["result"]
    assert result["b"] == {"data": {"dep": 1, "who": "user 1!"}}
    assert result["c"] == {"whole": [1], "glued": "xArray", "t": 0}


def test_urlencoded_command_as_in_the_docs(sandbox: RunningSandbox) -> None:
    command = "sandboxtest.page?" + quote("start=$next[first]", safe="=")
    result = batch(sandbox, {"first": "sandboxtest.page", "second": command})
    assert result["result"]["second"][0] == 50


def test_unresolvable_reference_is_left_as_text(sandbox: RunningSandbox) -> None:
    result = batch(sandbox, {"a": "sandboxtest.echo?x=$result[zz][ID]&y=a$error[q]"})
    assert result["result"]["a"] == {"x": "$result[zz][ID]", "y": "a$error[q]"}


def test_errors_go_to_result_error_and_the_rest_still_runs(sandbox: RunningSandbox) -> None:
    result = batch(sandbox, {"bad": "no.such", "scope": "sandboxtest.task", "ok": "user.admin"})
    assert result["result_error"]["bad"] == {
        "error": "ERROR_METHOD_NOT_FOUND",
        "error_description": "Method not found!",
    }
    assert result["result_error"]["scope"]["error"] == "insufficient_scope"
    assert result["result"] == {"ok": True}


def test_halt_stops_after_the_first_error(sandbox: RunningSandbox) -> None:
    result = batch(sandbox, {"a": "user.admin", "bad": "no.such", "c": "user.admin"}, halt=1)
    assert result["result"] == {"a": True}
    assert list(result["result_error"]) == ["bad"]


def test_the_51st_command_and_later_fail(sandbox: RunningSandbox) -> None:
    result = batch(sandbox, {f"c{i}": "user.admin" for i in range(53)})
    assert len(result["result"]) == 50
    assert set(result["result_error"]) == {"c50", "c51", "c52"}
    assert result["result_error"]["c50"] == {
        "error": "ERROR_BATCH_LENGTH_EXCEEDED",
        "error_description": "Max batch length exceeded",
    }


def test_nested_batch_is_not_allowed(sandbox: RunningSandbox) -> None:
    result = batch(sandbox, {"inner": "batch?cmd[x]=user.admin"})
    assert result["result_error"]["inner"] == {
        "error": "ERROR_BATCH_METHOD_NOT_ALLOWED",
        "error_description": "Method is not allowed for batch usage",
    }


def test_non_string_commands_are_skipped(sandbox: RunningSandbox) -> None:
    result = batch(sandbox, {"a": "user.admin", "b": 5, "c": {"x": 1}})
    assert result["result"] == {"a": True} and result["result_error"] == []


def test_sub_calls_use_the_outer_auth_not_their_own(sandbox: RunningSandbox) -> None:
    other = sandbox.token(3)
    result = batch(sandbox, {"a": f"user.current?auth={other}"})
    assert result["result"]["a"]["ID"] == "1"


def test_a_python_exception_in_a_sub_call_is_an_error_entry(sandbox: RunningSandbox) -> None:
    result = batch(sandbox, {"a": "sandboxtest.explode", "b": "user.admin"})
    assert result["result_error"]["a"]["error"] == "INTERNAL_SERVER_ERROR"
    assert result["result"] == {"b": True}


def test_cmd_that_is_not_an_array_is_an_argument_error(sandbox: RunningSandbox) -> None:
    response = sandbox.call("batch", {"cmd": "user.admin"})
    assert response.status_code == 400 and response.json()["error"] == "ERROR_ARGUMENT"


def test_form_encoded_batch_as_in_the_docs(sandbox: RunningSandbox) -> None:
    import requests

    body = {
        "auth": sandbox.token(),
        "halt": "0",
        "cmd[get_user]": "user.current",
        "cmd[p]": "sandboxtest.page?start=$result[get_user][UF_DEPARTMENT][0]",
    }
    response = requests.post(f"{sandbox.portal_url}/rest/batch.json", data=body, timeout=5)
    assert response.json()["result"]["result"]["p"][0] == 1
