"""crm.activity.type.* (per app, app context only) and crm.activity.badge.* (docs types/*, badges/*)."""

from __future__ import annotations

from typing import Any

import pytest
from test_crm_support import call_without_app, fails, ok, other_token

from sandbox.core import RestError
from sandbox.testing import RunningSandbox

TYPE = {"TYPE_ID": "QB", "NAME": "Activity for QuickBooks", "IS_CONFIGURABLE_TYPE": "Y"}
BADGE = {"code": "missedCall", "title": "Call Status", "value": "Missed", "type": "failure"}


def test_types_are_added_listed_and_deleted_per_app(sandbox: RunningSandbox) -> None:
    assert ok(sandbox.call("crm.activity.type.add", {"fields": TYPE})) is True
    assert ok(sandbox.call("crm.activity.type.list")) == [
        {"TYPE_ID": "QB", "NAME": "Activity for QuickBooks", "IS_CONFIGURABLE_TYPE": "Y", "ICON_ID": "0"}
    ]
    other = other_token(sandbox)
    assert ok(sandbox.call("crm.activity.type.list", token=other)) == []
    assert (
        ok(sandbox.call("crm.activity.type.add", {"fields": TYPE}, token=other)) is True
    )  # its own namespace
    assert ok(sandbox.call("crm.activity.type.delete", {"TYPE_ID": "QB"})) is True
    assert ok(sandbox.call("crm.activity.type.list")) == []
    assert len(ok(sandbox.call("crm.activity.type.list", token=other))) == 1


def test_type_icon_file_gets_an_id(sandbox: RunningSandbox) -> None:
    fields = {"TYPE_ID": "ICON", "ICON_FILE": ["icon.png", "aWNvbg=="]}
    ok(sandbox.call("crm.activity.type.add", {"fields": fields}))
    row = ok(sandbox.call("crm.activity.type.list"))[0]
    assert row["ICON_ID"] != "0" and row["IS_CONFIGURABLE_TYPE"] == "N" and row["NAME"] == ""


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"NAME": "no type"}, "The required field TYPE_ID is not filled"),
        ({"TYPE_ID": "  "}, "The required field TYPE_ID is not filled"),
        (TYPE, "A custom activity type with the specified TYPE_ID already exists"),
        ({"TYPE_ID": "X", "IS_CONFIGURABLE_TYPE": "maybe"}, "The field IS_CONFIGURABLE_TYPE must be Y or N"),
    ],
)
def test_type_add_errors(sandbox: RunningSandbox, fields: dict[str, Any], message: str) -> None:
    ok(sandbox.call("crm.activity.type.add", {"fields": TYPE}))
    body = fails(sandbox.call("crm.activity.type.add", {"fields": fields}), "INVALID_ARG_VALUE")
    assert body["error_description"] == message


def test_type_delete_of_an_unknown_type(sandbox: RunningSandbox) -> None:
    body = fails(sandbox.call("crm.activity.type.delete", {"TYPE_ID": "nope"}), "INVALID_ARG_VALUE")
    assert body["error_description"] == "Custom activity type with the specified TYPE_ID does not exist"


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("crm.activity.type.add", {"fields": TYPE}),
        ("crm.activity.type.list", {}),
        ("crm.activity.type.delete", {}),
    ],
)
def test_types_need_an_app_context(sandbox: RunningSandbox, method: str, params: dict[str, Any]) -> None:
    error = call_without_app(sandbox, method, params)
    assert isinstance(error, RestError)
    assert (error.code, error.status, error.description) == (
        "ACCESS_DENIED",
        403,
        "Access denied! Application context required",
    )


def test_badges_round_trip(sandbox: RunningSandbox) -> None:
    assert ok(sandbox.call("crm.activity.badge.add", BADGE)) == {"badge": BADGE}
    assert ok(sandbox.call("crm.activity.badge.get", {"code": "missedCall"})) == {"badge": BADGE}
    translated = {**BADGE, "code": "paid", "title": {"en": "Payment", "de": "Zahlung"}, "type": "success"}
    ok(sandbox.call("crm.activity.badge.add", translated))
    assert ok(sandbox.call("crm.activity.badge.list")) == {"badges": [BADGE, translated]}
    assert ok(sandbox.call("crm.activity.badge.delete", {"code": "missedCall"})) is True
    fails(sandbox.call("crm.activity.badge.get", {"code": "missedCall"}), "NOT_FOUND")
    assert call_without_app(sandbox, "crm.activity.badge.list", {}) == {"badges": [translated]}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"code": ""}, "REQUIRED_ARG_MISSING"),
        ({"title": None}, "REQUIRED_ARG_MISSING"),
        ({"value": None}, "REQUIRED_ARG_MISSING"),
        ({"type": None}, "REQUIRED_ARG_MISSING"),
        ({"type": "danger"}, "ENUM_FIELD"),
        ({"title": {"xx": "?"}}, "WRONG_LANG"),
        ({"value": 5}, "WRONG_FIELD_VALUE"),
    ],
)
def test_badge_add_errors(sandbox: RunningSandbox, params: dict[str, Any], code: str) -> None:
    payload = {k: v for k, v in {**BADGE, **params}.items() if v is not None}
    fails(sandbox.call("crm.activity.badge.add", payload), code)


@pytest.mark.parametrize("method", ["crm.activity.badge.get", "crm.activity.badge.delete"])
def test_badge_lookup_errors(sandbox: RunningSandbox, method: str) -> None:
    fails(sandbox.call(method, {"code": "nope"}), "NOT_FOUND")
    fails(sandbox.call(method, {}), "REQUIRED_ARG_MISSING")


@pytest.mark.parametrize(
    ("method", "params"), [("crm.activity.badge.add", BADGE), ("crm.activity.badge.delete", BADGE)]
)
def test_badge_changes_need_a_crm_administrator(
    sandbox: RunningSandbox, method: str, params: dict[str, Any]
) -> None:
    ok(sandbox.call("crm.activity.badge.add", BADGE))
    fails(sandbox.call(method, params, token=sandbox.token(2)), "ACCESS_DENIED")
