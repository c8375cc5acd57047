"""Replay the vendor pages' examples: request → response shape, error → code+status.

The examples are tests/sandbox/data/vendor-examples.json, a copy of ../shared/docs/vendor-examples.json.

The pages' ids (999, 8, owners 102/134/100/4, user 5) are placeholders; the test creates matching owners and
users, and swaps the activity id for one it created. Error examples that no documented condition of the
method produces are listed in NOT_REPRODUCIBLE with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_crm_support import add_activity, add_todo, call_without_app, fails, ok

from sandbox.core import METHODS as REGISTERED
from sandbox.core import RestError
from sandbox.state import Owner, User
from sandbox.testing import RunningSandbox

EXAMPLES_FILE = Path(__file__).parent / "data" / "vendor-examples.json"  # a copy of ../shared/docs' file
EXAMPLES: dict[str, Any] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
METHODS = sorted(k for k in EXAMPLES if k.startswith("crm."))
NOT_REPRODUCIBLE = {
    "crm.activity.list": "INVALID_REQUEST 'Https required' is the platform's transport check",
    "crm.activity.type.add": "the page's NOT_FOUND is generic; its table: ACCESS_DENIED, INVALID_ARG_VALUE",
    "crm.activity.type.list": "the page's NOT_FOUND is generic; its codes table lists ACCESS_DENIED only",
    "crm.activity.type.delete": "the page's NOT_FOUND is generic; its codes table lists INVALID_ARG_VALUE",
}


@pytest.fixture
def portal_like_the_pages(sandbox: RunningSandbox) -> RunningSandbox:
    """Add the owners and the user the examples name."""
    portal = sandbox.portal
    with sandbox.state.lock:
        for type_id, owner_id in [(2, 102), (3, 134), (3, 102), (2, 100), (2, 4)]:
            portal.owners[(type_id, owner_id)] = Owner(type_id, owner_id, f"Example {type_id}/{owner_id}")
        portal.users[5] = User(5, "Anna", "Example", "anna@example.com")
    sandbox.configure(limits_enabled=False)
    return sandbox


def same_shape(ours: Any, example: Any, path: str = "result") -> None:
    """Assert ours has the example's keys and value types (null in the example admits a string)."""
    if isinstance(example, dict):
        assert isinstance(ours, dict), path
        assert set(ours) == set(example), (path, set(ours) ^ set(example))
        for key, value in example.items():
            same_shape(ours[key], value, f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(ours, list), path
        if example and ours:
            same_shape(ours[0], example[0], f"{path}[0]")
    elif example is None:
        assert ours is None or isinstance(ours, str), path
    else:
        assert type(ours) is type(example), (path, ours, example)


def prepare(sandbox: RunningSandbox, method: str, request: dict[str, Any]) -> dict[str, Any]:
    """Swap placeholder ids for real ones and set up what the request needs."""
    text = json.dumps(request).replace("**put_current_date_here**", "2025-02-03T15:00:00+00:00")
    request = json.loads(text)
    if method.startswith("crm.activity.todo.") and method != "crm.activity.todo.add":
        request["id"] = add_todo(sandbox)
    elif method in ("crm.activity.update", "crm.activity.get", "crm.activity.delete"):
        request["id"] = add_activity(sandbox)
    elif method.startswith("crm.activity.binding."):
        request["activityId"] = add_todo(sandbox, ownerId=2 if method == "crm.activity.binding.add" else 1)
        if method == "crm.activity.binding.delete":
            sandbox.portal.crm.activities[request["activityId"]].bindings.insert(0, (2, 102))
    elif method.startswith("crm.activity.layout.blocks."):
        request["activityId"] = add_todo(sandbox, ownerId=4)
        if method != "crm.activity.layout.blocks.set":
            set_request = EXAMPLES["crm.activity.layout.blocks.set"]["request"]
            ok(
                sandbox.call(
                    "crm.activity.layout.blocks.set", {**set_request, "activityId": request["activityId"]}
                )
            )
    elif method == "crm.activity.type.delete":
        ok(
            sandbox.call(
                "crm.activity.type.add", {"fields": EXAMPLES["crm.activity.type.add"]["request"]["fields"]}
            )
        )
    elif method == "crm.activity.type.list":
        ok(sandbox.call("crm.activity.type.add", {"fields": {"TYPE_ID": "T", "NAME": "N"}}))
    elif method == "crm.activity.list":
        add_activity(
            sandbox,
            OWNER_TYPE_ID=3,
            OWNER_ID=102,
            COMMUNICATIONS=[{"VALUE": "1", "ENTITY_ID": 102, "ENTITY_TYPE_ID": 3}],
        )
    return request


@pytest.mark.parametrize("method", METHODS)
def test_request_gives_the_documented_response(portal_like_the_pages: RunningSandbox, method: str) -> None:
    sandbox = portal_like_the_pages
    example = EXAMPLES[method]
    response = sandbox.call(method, prepare(sandbox, method, example["request"]))
    documented = example["response"].get("result", example["response"])  # blocks pages print the bare result
    result = ok(response)
    if method in (
        "crm.activity.fields",
        "crm.activity.communication.fields",
        "crm.activity.layout.blocks.get",
    ):
        assert result == documented  # these are fully determined by the docs
    elif method == "crm.activity.list":
        assert result and all(set(row) == set(documented[0]) | {"COMMUNICATIONS"} for row in result)
        same_shape({k: v for k, v in result[0].items() if k != "COMMUNICATIONS"}, documented[0])
    else:
        same_shape(result, documented)
    assert set(response.json()["time"]) >= {"start", "finish", "duration", "date_start", "date_finish"}


def error_case(sandbox: RunningSandbox, method: str) -> Any:
    """Trigger the page's error example by a documented condition; return the response or RestError."""
    request = prepare(sandbox, method, EXAMPLES[method]["request"])
    if method in ("crm.activity.add", "crm.activity.update", "crm.activity.delete"):
        return sandbox.call(method, request, token=sandbox.token(3))  # a user without CRM rights
    if method in ("crm.activity.get", "crm.activity.fields"):  # CCrmPerms::IsAccessEnabled() is false
        with sandbox.state.lock:
            sandbox.portal.users[7] = User(7, "No", "Access", "no@example.com", crm_read="none")
        return sandbox.call(method, request, token=sandbox.token(7))
    if method.startswith("crm.activity.layout.blocks."):
        return call_without_app(sandbox, method, request)  # a webhook: no app context
    if method == "crm.activity.todo.add":
        request["parentActivityId"] = 99999  # docs todo.add: NOT_FOUND "CRM entity not found"
    elif "activityId" in request:
        request["activityId"] = 99999
    else:
        request["id"] = 99999
    return sandbox.call(method, request)


@pytest.mark.parametrize("method", [m for m in METHODS if "error" in EXAMPLES[m]])
def test_error_example_is_reproduced(portal_like_the_pages: RunningSandbox, method: str) -> None:
    if method in NOT_REPRODUCIBLE:
        pytest.skip(NOT_REPRODUCIBLE[method])
    documented = EXAMPLES[method]["error"]
    outcome = error_case(portal_like_the_pages, method)
    if isinstance(outcome, RestError):
        assert (outcome.code, outcome.status) == (documented["error"], 400)
        assert outcome.description == documented["error_description"]
    else:
        assert fails(outcome, documented["error"], 400) == documented


def test_every_documented_method_is_served(sandbox: RunningSandbox) -> None:
    assert {m.lower() for m in METHODS} <= set(REGISTERED)
