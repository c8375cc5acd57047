"""Junk parameters never crash a platform method: each answers 200 or a documented 4xx envelope."""

from __future__ import annotations

import pytest

from sandbox.testing import RunningSandbox

METHODS = [
    "batch",
    "event.bind",
    "event.unbind",
    "event.get",
    "events",
    "event.test",
    "placement.bind",
    "placement.unbind",
    "placement.get",
    "placement.list",
    "app.info",
    "user.current",
    "user.admin",
    "profile",
    "scope",
    "server.time",
    "crm.enum.ownertype",
    "crm.enum.activitytype",
    "crm.enum.activitystatus",
    "crm.enum.activitypriority",
    "crm.enum.activitydirection",
]
KEYS = ["event", "handler", "auth_type", "event_type", "PLACEMENT", "HANDLER", "USER_ID", "LANG_ALL", "cmd"]
JUNK = [
    None,
    0,
    -1,
    "",
    "x",
    [],
    ["a", {"b": None}],
    {},
    {"en": "x", "1": [2]},
    True,
    1.5,
    "http://a.b/" + "x" * 999,
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("junk", JUNK, ids=[f"junk{i}" for i in range(len(JUNK))])
def test_junk_params_get_an_answer_not_a_crash(sandbox: RunningSandbox, method: str, junk: object) -> None:
    response = sandbox.call(method, dict.fromkeys(KEYS, junk))
    assert response.status_code in (200, 400, 403), response.text
    body = response.json()
    assert ("result" in body) != ("error" in body)
    assert sandbox.state.errors == []
