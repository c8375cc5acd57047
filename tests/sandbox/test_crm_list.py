"""crm.activity.list: select, filters, BINDINGS, order, paging (docs crm.activity.list, notes §5.4)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from test_crm_support import add_activity, fails, ok

from sandbox.testing import RunningSandbox


@pytest.fixture
def empty(sandbox: RunningSandbox) -> RunningSandbox:
    """The sandbox with no seeded activities and no rate limit, so tests count only their own rows."""
    sandbox.configure(limits_enabled=False)
    with sandbox.state.lock:
        sandbox.portal.crm.activities.clear()
    return sandbox


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [int(row["ID"]) for row in rows]


def listing(sandbox: RunningSandbox, **params: Any) -> dict[str, Any]:
    response = sandbox.call("crm.activity.list", params)
    assert response.status_code == 200, response.text
    return response.json()


def make_three(sandbox: RunningSandbox) -> list[int]:
    """Three calls: on deal 1 (+contact 1), deal 2, and lead 1, with distinct subjects and times."""
    first = add_activity(sandbox, SUBJECT="Alpha call", START_TIME="2024-01-01T10:00:00+00:00", PRIORITY=1)
    second = add_activity(
        sandbox,
        SUBJECT="Beta meeting",
        OWNER_ID=2,
        START_TIME="2024-02-01T10:00:00+00:00",
        COMPLETED="Y",
        COMMUNICATIONS=[{"VALUE": "1", "ENTITY_ID": 2, "ENTITY_TYPE_ID": 3}],
    )
    third = add_activity(
        sandbox,
        SUBJECT="Gamma call",
        OWNER_TYPE_ID=1,
        START_TIME="2024-03-01T10:00:00+00:00",
        PRIORITY=3,
        COMMUNICATIONS=[{"VALUE": "1", "ENTITY_ID": 3, "ENTITY_TYPE_ID": 3}],
    )
    return [first, second, third]


def test_default_select_and_order(empty: RunningSandbox) -> None:
    first, second, third = make_three(empty)
    body = listing(empty)
    assert ids(body["result"]) == [first, second, third]  # START_TIME ascending by default
    assert body["total"] == 3 and "next" not in body
    assert "COMMUNICATIONS" not in body["result"][0] and len(body["result"][0]) == 39


def test_select_names_fields_and_extras(empty: RunningSandbox) -> None:
    first, *_ = make_three(empty)
    rows = listing(empty, filter={"ID": first}, select=["SUBJECT", "COMMUNICATIONS", "BINDINGS", "NOPE"])[
        "result"
    ]
    assert list(rows[0]) == ["ID", "SUBJECT", "COMMUNICATIONS", "BINDINGS"]
    comm = rows[0]["COMMUNICATIONS"][0]
    assert (comm["TYPE"], comm["VALUE"], comm["ENTITY_ID"], comm["ENTITY_TYPE_ID"]) == (
        "PHONE",
        "+18005551234",
        "1",
        "3",
    )
    assert comm["ENTITY_SETTINGS"]["NAME"] == "Elena"
    assert rows[0]["BINDINGS"] == [
        {"OWNER_ID": "1", "OWNER_TYPE_ID": "2"},
        {"OWNER_ID": "1", "OWNER_TYPE_ID": "3"},
    ]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"ID": "first"}, [0]),
        ({"=ID": "first"}, [0]),
        ({"!ID": "first"}, [1, 2]),
        ({"!=ID": "first"}, [1, 2]),
        ({">ID": "first"}, [1, 2]),
        ({">=ID": "second"}, [1, 2]),
        ({"<ID": "second"}, [0]),
        ({"<=ID": "second"}, [0, 1]),
        ({"@ID": ["first", "third"]}, [0, 2]),
        ({"!@ID": ["first", "third"]}, [1]),
        ({"ID": ["first", "second"]}, [0, 1]),
        ({"%SUBJECT": "call"}, [0, 2]),
        ({"!%SUBJECT": "call"}, [1]),
        ({"=%SUBJECT": "%meet%"}, [1]),
        ({"%=SUBJECT": "Gamma%"}, [2]),
        ({"=%SUBJECT": "Alpha"}, []),
        ({"!=%SUBJECT": "%call"}, [1]),
        ({"!%=SUBJECT": "Beta%"}, [0, 2]),
        ({"COMPLETED": "Y"}, [1]),
        ({"COMPLETED": "N"}, [0, 2]),
        ({">START_TIME": "2024-01-15T00:00:00+00:00"}, [1, 2]),
        ({"<START_TIME": "2024-02-15"}, [0, 1]),
        ({">=PRIORITY": 2}, [1, 2]),
        ({"OWNER_TYPE_ID": 2}, [0, 1]),
        ({"OWNER_TYPE_ID": 3, "OWNER_ID": 2}, [1]),
        ({"OWNER_TYPE_ID": 1, "OWNER_ID": 1}, [2]),
        ({"TYPE_ID": 2, "RESPONSIBLE_ID": "1"}, [0, 1, 2]),
        ({"SUBJECT": "alpha call"}, [0]),
        ({"ID": "not-a-number"}, []),
    ],
)
def test_filter_prefixes(empty: RunningSandbox, flt: dict[str, Any], expected: list[int]) -> None:
    made = make_three(empty)
    names = {"first": made[0], "second": made[1], "third": made[2]}

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    rows = listing(empty, filter={k: resolve(v) for k, v in flt.items()}, order={"ID": "ASC"})["result"]
    assert ids(rows) == [made[i] for i in expected]


def test_bindings_filter_repeats_an_activity_bound_to_several_matches(empty: RunningSandbox) -> None:
    first, second, third = make_three(empty)
    flt = {"BINDINGS": [{"OWNER_TYPE_ID": 2}, {"OWNER_TYPE_ID": 3}]}
    rows = listing(empty, filter=flt, order={"ID": "DESC"}, select=["*", "COMMUNICATIONS"])["result"]
    # docs "Using BINDINGS": an activity bound to a deal and a contact comes out twice
    assert ids(rows) == [third, second, second, first, first]
    assert ids(listing(empty, filter={"BINDINGS": [{"OWNER_TYPE_ID": 2, "OWNER_ID": 2}]})["result"]) == [
        second
    ]


def test_order_by_several_fields(empty: RunningSandbox) -> None:
    first, second, third = make_three(empty)
    assert ids(listing(empty, order={"PRIORITY": "DESC", "ID": "ASC"})["result"]) == [third, second, first]
    assert ids(listing(empty, order={"SUBJECT": "desc"})["result"]) == [third, second, first]


def test_pages_of_fifty_with_next_and_total(empty: RunningSandbox) -> None:
    made = [add_activity(empty, SUBJECT=f"Call {n}") for n in range(120)]
    pages = [listing(empty, order={"ID": "ASC"}, start=start) for start in (0, 50, 100)]
    assert [len(p["result"]) for p in pages] == [50, 50, 20]
    assert [p.get("next") for p in pages] == [50, 100, None]
    assert {p["total"] for p in pages} == {120}
    assert [i for p in pages for i in ids(p["result"])] == made
    assert (
        ids(listing(empty, order={"ID": "ASC"}, start=73)["result"])[0] == made[50]
    )  # rounded down to a page


def test_start_minus_one_gives_no_total_and_no_next(empty: RunningSandbox) -> None:
    made = [add_activity(empty, SUBJECT=f"Call {n}") for n in range(60)]
    body = listing(empty, order={"ID": "ASC"}, filter={">ID": made[5]}, start=-1)
    assert ids(body["result"]) == made[6:56]
    assert "total" not in body and "next" not in body


def test_form_encoded_list_params(empty: RunningSandbox) -> None:
    _, second, _ = make_three(empty)
    form = {"filter[>=ID]": str(second), "order[ID]": "DESC", "select[0]": "ID", "auth": empty.token()}
    response = requests.post(f"{empty.portal_url}/rest/crm.activity.list", data=form, timeout=5)
    assert ids(ok(response)) == [second + 1, second]


@pytest.mark.parametrize("param", ["filter", "order"])
def test_list_rejects_non_object_filter_and_order(sandbox: RunningSandbox, param: str) -> None:
    assert "must be array" in fails(sandbox.call("crm.activity.list", {param: "x"}), "")["error_description"]
