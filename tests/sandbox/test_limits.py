"""Limits (notes §5.6) and fault switches."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.testing import RunningSandbox


def test_leaky_bucket_answers_503_query_limit_exceeded(sandbox: RunningSandbox) -> None:
    sandbox.configure(rate=0.001, burst=5)
    statuses = [sandbox.call("user.admin").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [503] * 2
    body = sandbox.call("user.admin").json()
    assert body == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}


def test_bucket_drains_at_the_rate(sandbox: RunningSandbox) -> None:
    sandbox.configure(rate=50, burst=2)
    assert [sandbox.call("user.admin").status_code for _ in range(2)] == [200, 200]
    time.sleep(0.1)
    assert sandbox.call("user.admin").status_code == 200


def test_bucket_is_per_portal(sandbox: RunningSandbox) -> None:
    sandbox.configure(rate=0.001, burst=2)
    for _ in range(3):
        sandbox.call("user.admin")
    assert sandbox.call("user.admin").status_code == 503
    other = sandbox.token(1, portal=sandbox.portals[1])
    assert sandbox.call("user.admin", token=other, portal_url=sandbox.portal_urls[1]).status_code == 200


def test_default_bucket_follows_the_licence(sandbox: RunningSandbox) -> None:
    from sandbox.limits import bucket_shape

    portal = sandbox.portal
    assert bucket_shape(sandbox.state, portal) == (2.0, 50.0)
    portal.license = "de_ent10000"
    assert bucket_shape(sandbox.state, portal) == (5.0, 250.0)


def test_a_batch_is_one_request_for_the_bucket(sandbox: RunningSandbox) -> None:
    sandbox.configure(rate=0.001, burst=2)
    response = sandbox.call("batch", {"cmd": [f"user.admin?n={i}" for i in range(10)]})
    assert len(response.json()["result"]["result"]) == 10
    assert sandbox.call("user.admin").status_code == 200


def test_operating_time_limit_blocks_one_method_with_429(sandbox: RunningSandbox) -> None:
    sandbox.configure(operating_limit=1.0, operating_cost=0.6)
    assert [sandbox.call("user.current").status_code for _ in range(2)] == [200, 200]
    third = sandbox.call("user.current")
    assert third.status_code == 429
    body = third.json()
    assert body["error"] == "OPERATION_TIME_LIMIT"
    assert body["error_description"] == "Method is blocked due to operation time limit."
    assert set(body) == {"error", "error_description"}  # notes §5.3: the platform's envelope, no reset time
    assert sandbox.call("user.admin").status_code == 200  # other methods are unaffected
    sandbox.configure(operating_reset_at_in_error=True)  # the disputed variant: the reset time in the body
    body = sandbox.call("user.current").json()
    assert 0 < body["operating_reset_at"] - time.time() <= 600


def test_operating_counter_shows_in_time(sandbox: RunningSandbox) -> None:
    sandbox.configure(operating_cost=0.25)
    sandbox.call("user.current")
    assert sandbox.call("user.current").json()["time"]["operating"] == pytest.approx(0.5)


def test_operating_window_expires(sandbox: RunningSandbox) -> None:
    sandbox.configure(operating_limit=0.5, operating_cost=1, operating_window=0.2)
    sandbox.call("user.current")
    assert sandbox.call("user.current").status_code == 429
    time.sleep(0.25)
    assert sandbox.call("user.current").status_code == 200


def test_batch_sub_calls_count_but_the_batch_does_not(sandbox: RunningSandbox) -> None:
    sandbox.configure(operating_limit=1.0, operating_cost=0.6)
    result = sandbox.call("batch", {"cmd": ["user.current", "user.current", "user.current"]}).json()["result"]
    assert isinstance(result["result"], list) and len(result["result"]) == 2  # keys 0, 1: a PHP list
    assert result["result_error"]["2"]["error"] == "OPERATION_TIME_LIMIT"
    assert sandbox.call("batch", {"cmd": ["user.admin"]}).status_code == 200


def test_short_calls_are_not_counted_without_a_fixed_cost(sandbox: RunningSandbox) -> None:
    sandbox.configure(operating_limit=0.0)
    for _ in range(3):
        assert sandbox.call("user.current").status_code == 200


def test_limits_can_be_switched_off(sandbox: RunningSandbox) -> None:
    sandbox.configure(rate=0.001, burst=1, limits_enabled=False)
    assert {sandbox.call("user.admin").status_code for _ in range(3)} == {200}


def test_status_fault_answers_the_next_n_calls(sandbox: RunningSandbox) -> None:
    response = sandbox.control("faults", {"kind": "status", "status": 502, "count": 2})
    assert response.status_code == 200
    assert [sandbox.call("user.admin").status_code for _ in range(3)] == [502, 502, 200]


def test_status_fault_filtered_by_method(sandbox: RunningSandbox) -> None:
    sandbox.control("faults", {"kind": "status", "status": 500, "count": 1, "method": "user.current"})
    assert sandbox.call("user.admin").status_code == 200
    failed = sandbox.call("user.current")
    assert failed.status_code == 500 and failed.json()["error"] == "INTERNAL_SERVER_ERROR"
    assert sandbox.call("user.current").status_code == 200


def test_delay_fault_slows_answers(sandbox: RunningSandbox) -> None:
    sandbox.control("faults", {"kind": "delay", "seconds": 0.3, "count": 1})
    started = time.monotonic()
    assert sandbox.call("user.admin").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    sandbox.call("user.admin")
    assert time.monotonic() - started < 0.3


def test_drop_fault_closes_the_connection_without_an_answer(sandbox: RunningSandbox) -> None:
    sandbox.control("faults", {"kind": "drop", "count": 1})
    with pytest.raises(requests.ConnectionError):
        sandbox.call("user.admin")
    assert sandbox.call("user.admin").status_code == 200


def test_faults_apply_to_the_token_endpoint(sandbox: RunningSandbox) -> None:
    sandbox.control("faults", {"kind": "status", "status": 503, "count": 1, "method": "oauth.token"})
    response = requests.get(f"{sandbox.oauth_url}/oauth/token/", params={"grant_type": "x"}, timeout=5)
    assert response.status_code == 503


def test_faults_can_be_listed_and_cleared(sandbox: RunningSandbox) -> None:
    sandbox.control("faults", {"kind": "status", "status": 500, "count": None})
    assert len(sandbox.control("faults", method="GET").json()["faults"]) == 1
    assert sandbox.call("user.admin").status_code == 500
    assert sandbox.call("user.admin").status_code == 500
    sandbox.control("faults", method="DELETE")
    assert sandbox.call("user.admin").status_code == 200


def test_unknown_fault_kind_is_refused(sandbox: RunningSandbox) -> None:
    response = sandbox.control("faults", {"kind": "explode"})
    assert response.status_code == 400 and response.json()["error"] == "ERROR_ARGUMENT"


def test_faults_leave_non_rest_pages_alone(sandbox: RunningSandbox) -> None:
    sandbox.control("faults", {"kind": "status", "status": 500, "count": 1})
    assert sandbox.control("state", method="GET").status_code == 200
    assert requests.get(f"{sandbox.portal_url}/no-such-page", timeout=5).status_code == 404
    assert sandbox.call("user.admin").status_code == 500


def test_a_fault_filtered_by_domain_hits_only_that_portal(sandbox: RunningSandbox) -> None:
    other = sandbox.portals[1]
    sandbox.control("faults", {"kind": "status", "status": 500, "count": 1, "domain": other.domain})
    assert sandbox.call("user.admin").status_code == 200
    token = sandbox.token(1, portal=other)
    assert sandbox.call("user.admin", token=token, portal_url=sandbox.portal_urls[1]).status_code == 500
    assert sandbox.call("user.admin", token=token, portal_url=sandbox.portal_urls[1]).status_code == 200


def test_a_429_fault_answers_operation_time_limit_with_its_reset_time(sandbox: RunningSandbox) -> None:
    sandbox.configure(operating_reset_at_in_error=True)
    sandbox.control("faults", {"kind": "status", "status": 429, "count": 1, "reset_in": 30})
    response = sandbox.call("user.admin")
    body = response.json()
    assert response.status_code == 429 and body["error"] == "OPERATION_TIME_LIMIT"
    assert time.time() + 25 < body["operating_reset_at"] <= time.time() + 31


def test_a_blocked_method_answers_429_until_its_reset_time_inside_a_batch_too(
    sandbox: RunningSandbox,
) -> None:
    answer = sandbox.control("operating/block", {"method": "crm.activity.get", "seconds": 1.2}).json()
    assert time.time() < answer["operating_reset_at"] + 1 <= time.time() + 3
    refused = sandbox.call("crm.activity.get", {"id": 1})
    assert refused.status_code == 429 and refused.json()["error"] == "OPERATION_TIME_LIMIT"
    batch = sandbox.call("batch", {"cmd": {"a": "crm.activity.get?id=1", "b": "user.admin"}}).json()["result"]
    assert batch["result_error"]["a"]["error"] == "OPERATION_TIME_LIMIT" and batch["result"]["b"] is True
    time.sleep(1.3)
    assert sandbox.call("crm.activity.get", {"id": 1}).status_code == 200
