"""The app's layout validator and the sandbox portal's agree on every case of both corpora.

Each layout goes through ``app.layout`` in-process and through the sandbox over real HTTP
(crm.activity.layout.blocks.set on a seeded activity, crm.activity.configurable.add on a deal); both must give
the same first error code, or both accept. Strict cases are layouts the real portal accepts and only the app
refuses: the sandbox takes them, the app refuses them with strict problems only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from app.layout import LayoutError, Problem, parse_configurable_layout, parse_layout
from sandbox.testing import RunningSandbox
from tests.layout_cases import (
    CASES,
    CONFIGURABLE_CASES,
    LANGUAGES,
    STRICT_CASES,
    STRICT_CONFIGURABLE_CASES,
)

SANDBOX_CORPUS = json.loads(
    (Path(__file__).parent / "sandbox" / "layout_corpus.json").read_text(encoding="utf-8")
)
DEAL = 2  # crm.enum.ownertype (notes §8.1)
NOT_FOR_BLOCKS = ("REST_APP", "CONFIGURABLE_REST_APP")  # UNSUITABLE_ACTIVITY_TYPE_ERROR (notes §6.1)


class Agreement(NamedTuple):
    name: str
    configurable: bool
    layout: Any
    code: str | None  # the portal's first error code, None: accepted
    strict: bool = False  # the portal accepts, the app refuses with strict problems


def agreements() -> list[Any]:
    rows = [("blocks", Agreement(c.name, False, c.layout, c.code)) for c in CASES]
    rows += [("blocks-strict", Agreement(c.name, False, c.layout, None, strict=True)) for c in STRICT_CASES]
    rows += [("configurable", Agreement(c.name, True, c.layout, c.code)) for c in CONFIGURABLE_CASES]
    rows += [
        ("configurable-strict", Agreement(c.name, True, c.layout, None, strict=True))
        for c in STRICT_CONFIGURABLE_CASES
    ]
    rows += [
        ("corpus", Agreement(e["name"], e["kind"] == "configurable", e["layout"], e["error"]))
        for e in SANDBOX_CORPUS
    ]
    return [pytest.param(row, id=f"{group}: {row.name}") for group, row in rows]


def app_problems(row: Agreement) -> list[Problem]:
    """The app's problems with the layout, the portal's own first; [] when it accepts the layout."""
    try:
        if row.configurable:
            parse_configurable_layout(row.layout, languages=LANGUAGES)
        else:
            parse_layout(row.layout, languages=LANGUAGES)
    except LayoutError as exc:
        return exc.problems
    return []


@pytest.fixture
def targets(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    """What to call with: a seeded activity that takes blocks (and its owner), a deal for configurable.add."""
    sandbox.configure(limits_enabled=False)
    assert set(LANGUAGES) == set(sandbox.portal.languages)
    activity = next(
        a for a in sandbox.portal.crm.activities.values() if a.provider not in NOT_FOR_BLOCKS and a.bindings
    )
    owner_type, owner_id = activity.bindings[0]
    deal_id = min(key for type_id, key in sandbox.portal.owners if type_id == DEAL)
    return {
        "crm.activity.layout.blocks.set": {
            "entityTypeId": owner_type,
            "entityId": owner_id,
            "activityId": activity.id,
        },
        "crm.activity.configurable.add": {"ownerTypeId": DEAL, "ownerId": deal_id, "fields": {}},
    }


def sandbox_code(sandbox: RunningSandbox, targets: dict[str, dict[str, Any]], row: Agreement) -> str | None:
    """The sandbox's error code for the layout over HTTP, None when it accepts it."""
    method = "crm.activity.configurable.add" if row.configurable else "crm.activity.layout.blocks.set"
    response = sandbox.call(method, {**targets[method], "layout": row.layout})
    body = response.json()
    if response.status_code == 200:
        assert "result" in body, body
        return None
    assert response.status_code == 400, (response.status_code, body)
    return str(body["error"])


@pytest.mark.parametrize("row", agreements())
def test_app_and_sandbox_agree(
    sandbox: RunningSandbox, targets: dict[str, dict[str, Any]], row: Agreement
) -> None:
    problems = app_problems(row)
    got = sandbox_code(sandbox, targets, row)
    if row.strict:
        assert got is None, f"the sandbox refused a layout the portal accepts: {got}"
        assert problems, "the app accepted a layout it should refuse"
        assert all(problem.strict for problem in problems), problems
        return
    app_code = str(problems[0].code) if problems and not problems[0].strict else None
    assert (app_code, got) == (row.code, row.code), problems[:1]
