"""`flask --app app rules list|add|show|delete|enable|disable`: output, stored rows and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EnrichmentRule, Portal, PortalState
from tests.test_enrichment import TEMPLATE

MEMBER = "a" * 32


@pytest.fixture
def known_portal(app) -> Portal:
    row = Portal(
        member_id=MEMBER,
        domain="a.bitrix24.com",
        client_endpoint="https://a.bitrix24.com/rest/",
        state=PortalState.ACTIVE,
    )
    db.session.add(row)
    db.session.commit()
    return row


def layout_file(tmp_path: Path, layout: object = TEMPLATE) -> str:
    path = tmp_path / "layout.json"
    path.write_text(layout if isinstance(layout, str) else json.dumps(layout), encoding="utf-8")
    return str(path)


def stored() -> list[EnrichmentRule]:
    db.session.expire_all()
    return list(db.session.scalars(select(EnrichmentRule).order_by(EnrichmentRule.id)))


def add(runner, tmp_path: Path, *extra: str, layout: object = TEMPLATE, member_id: str = MEMBER):
    args = ["rules", "add", "--portal", member_id, "--name", "Todo summary", "--layout"]
    return runner.invoke(args=[*args, layout_file(tmp_path, layout), *extra])


def test_add_stores_the_rule_with_its_matchers_and_list_shows_it(runner, known_portal, tmp_path) -> None:
    extra = ("--provider", "CRM_TODO", "--type", "6", "--owner-type", "2", "--direction", "0")
    result = add(runner, tmp_path, *extra)
    assert result.exit_code == 0, result.output
    [rule] = stored()
    assert result.output.strip() == (
        f"rule {rule.id} added: Todo summary (provider=CRM_TODO type=6 owner type=2 direction=0)"
    )
    assert (rule.member_id, rule.provider_id, rule.type_id, rule.owner_type_id, rule.direction) == (
        MEMBER,
        "CRM_TODO",
        6,
        2,
        0,
    )
    assert rule.layout == TEMPLATE and rule.enabled
    listed = runner.invoke(args=["rules", "list", "--portal", MEMBER])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split()[:4] == ["ID", "ON", "NAME", "MATCHES"]
    assert lines[1].split()[:3] == [str(rule.id), "yes", "Todo"]
    assert lines[-1] == "1 rule"


def test_add_without_matchers_matches_any_activity(runner, known_portal, tmp_path) -> None:
    result = add(runner, tmp_path, "--disabled")
    assert result.exit_code == 0, result.output
    assert "(any activity)" in result.output
    [rule] = stored()
    assert rule.provider_id is rule.type_id is rule.owner_type_id is rule.direction is None
    assert not rule.enabled


def test_list_shows_only_the_portals_rules(runner, known_portal, tmp_path) -> None:
    db.session.add(EnrichmentRule(member_id="b" * 32, name="other", layout=TEMPLATE))
    db.session.commit()
    result = runner.invoke(args=["rules", "list", "--portal", MEMBER])
    assert result.exit_code == 0 and "other" not in result.output
    assert result.output.splitlines()[-1] == "0 rules"


def test_an_invalid_layout_is_refused_with_its_path_and_nothing_is_stored(
    runner, known_portal, tmp_path
) -> None:
    layout = {"blocks": {"b1": {"type": "text", "properties": {"value": "x", "color": "{{SUBJECT}}"}}}}
    result = add(runner, tmp_path, layout=layout)
    assert result.exit_code == 1
    assert "the layout was refused" in result.output
    assert "blocks.b1.properties.color" in result.output and "ENUM_FIELD" in result.output
    assert stored() == []


@pytest.mark.parametrize(
    ("layout", "message"),
    [("{not json", "not JSON"), ("[]", "JSON object")],
)
def test_a_file_that_is_no_json_object_is_refused(runner, known_portal, tmp_path, layout, message) -> None:
    result = add(runner, tmp_path, layout=layout)
    assert result.exit_code == 1 and message in result.output
    assert stored() == []


def test_add_for_an_unknown_portal_fails(runner, known_portal, tmp_path) -> None:
    result = add(runner, tmp_path, member_id="z" * 32)
    assert result.exit_code == 1 and "no portal with member_id" in result.output
    assert stored() == []


def test_add_with_a_missing_file_or_non_numeric_type_is_a_usage_error(runner, known_portal, tmp_path) -> None:
    missing = runner.invoke(
        args=["rules", "add", "--portal", MEMBER, "--name", "n", "--layout", "/nope.json"]
    )
    assert missing.exit_code == 2
    wrong = add(runner, tmp_path, "--type", "call")
    assert wrong.exit_code == 2
    assert stored() == []


def test_disable_enable_and_delete(runner, known_portal, tmp_path) -> None:
    add(runner, tmp_path)
    [rule] = stored()
    rule.last_error = "activity 5: refused"
    db.session.commit()
    result = runner.invoke(args=["rules", "disable", str(rule.id)])
    assert result.exit_code == 0 and result.output.strip() == f"rule {rule.id} disabled"
    assert not stored()[0].enabled
    result = runner.invoke(args=["rules", "enable", str(rule.id)])
    assert result.exit_code == 0 and result.output.strip() == f"rule {rule.id} enabled"
    assert stored()[0].enabled and stored()[0].last_error is None
    shown = runner.invoke(args=["rules", "show", str(rule.id)])
    assert shown.exit_code == 0 and json.loads(shown.output.split("\n", 3)[3]) == TEMPLATE
    result = runner.invoke(args=["rules", "delete", str(rule.id)])
    assert result.exit_code == 0 and result.output.strip() == f"rule {rule.id} deleted"
    assert stored() == []


@pytest.mark.parametrize("command", ["delete", "enable", "disable", "show"])
def test_commands_on_a_missing_rule_fail(runner, app, command) -> None:
    result = runner.invoke(args=["rules", command, "999"])
    assert result.exit_code == 1 and "no rule with id 999" in result.output
