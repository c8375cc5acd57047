"""fast_bitrix24 (PyPI, written by nobody here) against the sandbox: what a real app using it would see.

Where the client reads a documented answer its own way, the test pins that as the client's behaviour; the
README's "Independent clients" section says what an app using it must watch for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import requests
from fast_bitrix24 import BitrixAsync
from fast_bitrix24.server_response import ErrorInServerResponseException

from sandbox.limits import add_fault
from sandbox.testing import RunningSandbox

CALL = {
    "OWNER_TYPE_ID": 2,
    "OWNER_ID": 1,
    "TYPE_ID": 2,
    "SUBJECT": "fast_bitrix24 call",
    "RESPONSIBLE_ID": 1,
    "COMMUNICATIONS": [{"VALUE": "+18005550101", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}],
    "START_TIME": "2030-01-01T10:00:00+00:00",
}
TODO = {"ownerTypeId": 2, "ownerId": 1, "deadline": "2030-01-02T10:00:00+00:00", "title": "fb24 to-do"}


class Tokens:
    """The app's token store as fast_bitrix24 wants it: an async token_func that refreshes on each call."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        issued = sandbox.state.tokens[sandbox.token(fresh=True)]
        self.access, self.refresh = issued.access_token, issued.refresh_token
        self.registration = sandbox.state.registrations[issued.client_id]
        self.calls = 0

    async def get(self) -> str:
        """The stored access token first; after a 401, a refresh grant on the OAuth host."""
        self.calls += 1
        if self.calls == 1:
            return self.access
        reg = self.registration
        answer = requests.post(
            f"{self.sandbox.oauth_url}/oauth/token/",
            data={"grant_type": "refresh_token", "client_id": reg.client_id,
                  "client_secret": reg.client_secret, "refresh_token": self.refresh},
            timeout=5,
        ).json()  # fmt: skip
        if "access_token" not in answer:  # stop the client's unbounded 401 loop: refusal is final
            raise RuntimeError(f"refresh refused: {answer.get('error')}")
        self.access, self.refresh = answer["access_token"], answer["refresh_token"]
        return self.access


@pytest.fixture
def b24(sandbox: RunningSandbox) -> Iterator[tuple[BitrixAsync, Tokens]]:
    sandbox.configure(limits_enabled=False)
    tokens = Tokens(sandbox)
    client = BitrixAsync(sandbox.portal.client_endpoint, token_func=tokens.get, verbose=False)
    yield client, tokens


def run(step: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(step())  # type: ignore[arg-type]


def test_add_get_update_delete(b24: tuple[BitrixAsync, Tokens], sandbox: RunningSandbox) -> None:
    client, _ = b24

    async def steps() -> tuple[Any, ...]:
        new_id = await client.call("crm.activity.add", {"fields": CALL})
        got = await client.call("crm.activity.get", {"id": new_id})
        updated = await client.call("crm.activity.update", {"id": new_id, "fields": {"SUBJECT": "Changed"}})
        again = await client.call("crm.activity.get", {"id": new_id})
        deleted = await client.call("crm.activity.delete", {"id": new_id})
        return new_id, got, updated, again, deleted

    new_id, got, updated, again, deleted = run(steps)
    # Pinned: call() sends even one item as a batch and returns a map result under its own command label
    assert list(got) == ["order0000000000"] and list(again) == ["order0000000000"]
    got, again = got["order0000000000"], again["order0000000000"]
    assert isinstance(new_id, int) and got["SUBJECT"] == "fast_bitrix24 call" and got["ID"] == str(new_id)
    assert updated is True and again["SUBJECT"] == "Changed" and deleted is True
    assert new_id not in sandbox.portal.crm.activities


def test_get_all_pages_through_every_row_with_filter_and_select(
    b24: tuple[BitrixAsync, Tokens], sandbox: RunningSandbox
) -> None:
    client, _ = b24
    for i in range(70):  # more than one page of 50 on one deal
        sandbox.call("crm.activity.add", {"fields": {**CALL, "SUBJECT": f"Bulk {i}"}})
    params = {"filter": {"OWNER_TYPE_ID": 2, "OWNER_ID": 1, "%SUBJECT": "Bulk"}, "select": ["ID", "SUBJECT"]}
    rows = run(lambda: client.get_all("crm.activity.list", params))
    assert sorted(r["SUBJECT"] for r in rows) == sorted(f"Bulk {i}" for i in range(70))
    assert all(set(r) == {"ID", "SUBJECT"} for r in rows)
    assert len({r["ID"] for r in rows}) == 70  # get_all orders by ID itself: no row twice, none lost


def test_get_by_id_reads_many_activities_in_batches(b24: tuple[BitrixAsync, Tokens], sandbox) -> None:
    client, _ = b24
    ids = sorted(sandbox.portal.crm.activities)[:5]
    found = run(lambda: client.get_by_ID("crm.activity.get", ids))
    assert sorted(int(k) for k in found) == ids
    assert all(found[k]["ID"] == str(k) for k in found)


def test_call_batch_with_result_references_and_halt(b24: tuple[BitrixAsync, Tokens]) -> None:
    client, _ = b24
    cmd = {
        "add": "crm.activity.add?" + "&".join(
            ["fields[OWNER_TYPE_ID]=2", "fields[OWNER_ID]=1", "fields[TYPE_ID]=2", "fields[SUBJECT]=Batched",
             "fields[COMMUNICATIONS][0][VALUE]=%2B1800", "fields[COMMUNICATIONS][0][ENTITY_ID]=1",
             "fields[COMMUNICATIONS][0][ENTITY_TYPE_ID]=3"]
        ),
        "get": "crm.activity.get?id=$result[add]",
    }  # fmt: skip
    result = run(lambda: client.call_batch({"halt": 0, "cmd": cmd}))
    assert result["get"]["SUBJECT"] == "Batched" and result["get"]["ID"] == str(result["add"])
    failing = {"bad": "crm.activity.get?id=0", "never": "user.current"}
    with pytest.raises(ErrorInServerResponseException) as raised:  # a failed command raises the whole batch
        run(lambda: client.call_batch({"halt": 1, "cmd": failing}))
    assert "bad" in raised.value.args[0] and "never" not in raised.value.args[0]


def test_d7_methods_answer_their_one_key_results_unwrapped(b24: tuple[BitrixAsync, Tokens], sandbox) -> None:
    """Pinned: a result that is a map of one key comes back as that key's value (fast_bitrix24 issue 132)."""
    client, _ = b24
    new_id = run(lambda: client.call("crm.activity.todo.add", TODO))  # the page's {"id": …} arrives as the id
    assert isinstance(new_id, int) and sandbox.portal.crm.activities[new_id].provider == "CRM_TODO"
    answer = run(lambda: client.call("crm.activity.todo.add", TODO, raw=True))
    assert set(answer["result"]) == {"id"}  # raw: the whole envelope comes back


def test_todo_binding_and_layout_blocks_with_raw_calls(b24: tuple[BitrixAsync, Tokens], sandbox) -> None:
    client, _ = b24
    layout = {"blocks": {"t": {"type": "text", "properties": {"value": "fb24", "bold": True}}}}

    async def steps() -> tuple[Any, ...]:
        todo = (await client.call("crm.activity.todo.add", TODO, raw=True))["result"]["id"]
        where = {"entityTypeId": 2, "entityId": 1, "activityId": todo}
        color = await client.call(
            "crm.activity.todo.updateColor", {**where_todo(todo), "colorId": 3}, raw=True
        )
        bound = await client.call("crm.activity.binding.add", {"activityId": todo, "entityTypeId": 3,
                                                               "entityId": 1}, raw=True)  # fmt: skip
        listed = await client.call("crm.activity.binding.list", {"activityId": todo}, raw=True)
        blocks = await client.call("crm.activity.layout.blocks.set", {**where, "layout": layout}, raw=True)
        got = await client.call("crm.activity.layout.blocks.get", where, raw=True)
        return todo, color, bound, listed, blocks, got

    todo, color, bound, listed, blocks, got = run(steps)
    assert color["result"] == {"id": todo} and bound["result"] is True
    assert {(b["entityTypeId"], b["entityId"]) for b in listed["result"]} == {(2, 1), (3, 1)}
    assert blocks["result"] == {"success": True}
    assert got["result"]["layout"]["blocks"]["t"]["properties"]["bold"] is True
    assert str(sandbox.portal.crm.activities[todo].color_id) == "3"


def where_todo(todo: int) -> dict[str, int]:
    return {"id": todo, "ownerTypeId": 2, "ownerId": 1}


def test_configurable_activity_and_badges(b24: tuple[BitrixAsync, Tokens], sandbox: RunningSandbox) -> None:
    client, _ = b24
    layout = {
        "icon": {"code": "call-completed"},
        "header": {"title": "From fast_bitrix24"},
        "body": {
            "logo": {"code": "call-incoming"},
            "blocks": {"t": {"type": "text", "properties": {"value": "x"}}},
        },
    }
    badge = {"code": "fb24", "title": "FB24", "value": "Seen", "type": "success"}

    async def steps() -> tuple[Any, ...]:
        params = {"ownerTypeId": 2, "ownerId": 1, "fields": {}, "layout": layout}
        added = await client.call("crm.activity.configurable.add", params, raw=True)
        got = await client.call(
            "crm.activity.configurable.get", {"id": added["result"]["activity"]["id"]}, raw=True
        )
        made = await client.call("crm.activity.badge.add", badge, raw=True)
        listed = await client.call("crm.activity.badge.list", raw=True)
        return added, got, made, listed

    added, got, made, listed = run(steps)
    assert added["result"]["activity"]["id"] == got["result"]["activity"]["id"]
    assert got["result"]["activity"]["layout"]["header"]["title"] == "From fast_bitrix24"
    assert made["result"] and any(b["code"] == "fb24" for b in listed["result"]["badges"])


def test_503_is_retried_until_it_passes(b24: tuple[BitrixAsync, Tokens], sandbox: RunningSandbox) -> None:
    client, _ = b24
    add_fault(sandbox.state, "status", count=2, status=503, method="user.current")
    assert run(lambda: client.call("user.current", raw=True))["result"]["ID"] == "1"


def test_429_is_raised_not_waited_for(b24: tuple[BitrixAsync, Tokens], sandbox: RunningSandbox) -> None:
    """Pinned: a 429 is a 4xx to the client; it throttles by `time.operating` of earlier answers instead."""
    client, _ = b24
    add_fault(sandbox.state, "status", count=1, status=429, method="user.current")
    with pytest.raises(aiohttp.ClientResponseError) as raised:
        run(lambda: client.call("user.current", raw=True))
    assert raised.value.status == 429


def test_a_legacy_error_loses_its_words(b24: tuple[BitrixAsync, Tokens], sandbox: RunningSandbox) -> None:
    """Pinned: a raw HTTP 400 {"error": "", "error_description": …} surfaces as aiohttp's status only."""
    client, _ = b24
    with pytest.raises(aiohttp.ClientResponseError) as raised:
        run(lambda: client.call("crm.activity.get", {"id": 999999}, raw=True))
    assert raised.value.status == 400 and "Activity is not found" not in str(raised.value)
    with pytest.raises(ErrorInServerResponseException) as batched:  # through batch the words survive
        run(lambda: client.call("crm.activity.get", {"id": 999999}))
    assert batched.value.args[0]["order0000000000"]["error_description"] == "Activity is not found"


def test_an_expired_token_is_refreshed_through_token_func(
    b24: tuple[BitrixAsync, Tokens], sandbox: RunningSandbox
) -> None:
    client, tokens = b24
    assert run(lambda: client.call("user.current", raw=True))["result"]["ID"] == "1"
    sandbox.control("tokens/expire", {"member_id": sandbox.portal.member_id})
    assert run(lambda: client.call("user.current", raw=True))["result"]["ID"] == "1"
    assert tokens.calls == 2  # the 401 expired_token made the client ask for a new token once


def test_a_refused_refresh_ends_the_client_loop_only_through_token_func(
    b24: tuple[BitrixAsync, Tokens], sandbox: RunningSandbox
) -> None:
    """Pinned: the client retries every 401 with a new token, unbounded; the app's token_func must raise."""
    client, _ = b24
    assert run(lambda: client.call("user.current", raw=True))["result"]["ID"] == "1"
    sandbox.control("apps/uninstall", {"clean": 0})
    with pytest.raises(RuntimeError, match="refresh refused"):
        run(lambda: client.call("user.current", raw=True))


def test_the_pickers_searches_page_through_every_match(b24: tuple[BitrixAsync, Tokens], sandbox) -> None:
    """user.search and crm.item.list (the pickers' calls) with the client's own paging of 50s."""
    from sandbox.state import Owner, User

    client, _ = b24
    for n in range(60):
        sandbox.portal.users[100 + n] = User(100 + n, f"Tester{n}", "Many", f"t{n}@example.com")
        sandbox.portal.owners[(2, 100 + n)] = Owner(
            2,
            100 + n,
            f"Bulk deal {n}",
            {"ID": str(100 + n), "TITLE": f"Bulk deal {n}", "ASSIGNED_BY_ID": "1"},
        )
    # Pinned: get_all() refuses user.search (its name ends in no ".list"), so the pages come by `start`
    first = run(lambda: client.call("user.search", {"FILTER": {"FIND": "many"}}, raw=True))
    assert (len(first["result"]), first["total"], first["next"]) == (50, 60, 50)
    rest = run(lambda: client.call("user.search", {"FILTER": {"FIND": "many"}, "start": 50}, raw=True))
    users = first["result"] + rest["result"]
    assert sorted(int(u["ID"]) for u in users) == list(range(100, 160)) and "next" not in rest
    params = {"entityTypeId": 2, "filter": {"%title": "bulk deal"}, "select": ["id", "title"]}
    items = run(lambda: client.get_all("crm.item.list", params))
    assert sorted(i["id"] for i in items) == list(range(100, 160))  # the {"items": …} pages, unwrapped
    assert all(set(i) == {"id", "title", "entityTypeId"} for i in items)
