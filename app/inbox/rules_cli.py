"""`flask --app app rules list|add|delete|enable|disable`: a portal's enrichment rules from a shell."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from app.activities.placeholders import describe
from app.extensions import db
from app.inbox import enrichment
from app.layout import LayoutError
from app.models import EnrichmentRule
from app.portals.store import find

HEADER = f"{'ID':>6} {'ON':<3} {'NAME':<24} {'MATCHES':<40} {'SET':>5} {'SKIP':>5} {'FAIL':>5} LAST ERROR"
rules_cli = AppGroup("rules", help="Manage the enrichment rules that put content blocks on activities.")


@rules_cli.command("list")
@click.option("--portal", "member_id", required=True, help="The portal's member_id.")
def list_rules(member_id: str) -> None:
    """One line per rule: id, on/off, name, matchers, applied/skipped/failed counts, last error."""
    rows = enrichment.portal_rules(member_id)
    click.echo(
        f"{'ID':>6} {'ON':<3} {'NAME':<24} {'MATCHES':<40} {'SET':>5} {'SKIP':>5} {'FAIL':>5} LAST ERROR"
    )
    for rule in rows:
        click.echo(
            f"{rule.id:>6} {'yes' if rule.enabled else 'no':<3} {rule.name[:24]:<24} "
            f"{enrichment.matchers_text(rule)[:40]:<40} {rule.applied_count:>5} {rule.skipped_count:>5} "
            f"{rule.error_count:>5} {(rule.last_error or '')[:80]}"
        )
    click.echo(f"{len(rows)} rule{'s' if len(rows) != 1 else ''}")


@rules_cli.command("add")
@click.option("--portal", "member_id", required=True, help="The portal's member_id.")
@click.option("--name", required=True)
@click.option("--provider", "provider_id", help="PROVIDER_ID to match, e.g. CRM_TODO (default: any).")
@click.option("--type", "type_id", type=int, help="TYPE_ID to match: 1 meeting, 2 call, 4 e-mail, 6 other.")
@click.option("--owner-type", "owner_type_id", type=int, help="OWNER_TYPE_ID to match: 1 lead, 2 deal, …")
@click.option("--direction", type=int, help="DIRECTION to match: 0 none, 1 incoming, 2 outgoing.")
@click.option(
    "--layout",
    "layout_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="RestAppLayoutDto JSON with {{FIELD}} placeholders.",
)
@click.option("--disabled", is_flag=True, help="Store the rule switched off.")
def add_rule(
    member_id: str,
    name: str,
    provider_id: str | None,
    type_id: int | None,
    owner_type_id: int | None,
    direction: int | None,
    layout_file: Path,
    disabled: bool,
) -> None:
    """Check a layout template and store it as a rule for the portal."""
    if find(member_id) is None:
        raise click.ClickException(f"no portal with member_id {member_id}")
    data = {
        "member_id": member_id,
        "name": name,
        "provider_id": provider_id,
        "type_id": type_id,
        "owner_type_id": owner_type_id,
        "direction": direction,
        "layout": layout_file.read_text(encoding="utf-8"),
        "enabled": not disabled,
    }
    try:
        rule = enrichment.add_rule(data)
    except LayoutError as error:
        raise click.ClickException(f"the layout was refused: {describe(error)}") from None
    except enrichment.RuleError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"rule {rule.id} added: {rule.name} ({enrichment.matchers_text(rule)})")


@rules_cli.command("delete")
@click.argument("rule_id", type=int)
def delete_rule(rule_id: int) -> None:
    """Delete a rule; blocks already set on activities stay."""
    rule = _find(rule_id)
    db.session.delete(rule)
    db.session.commit()
    click.echo(f"rule {rule_id} deleted")


@rules_cli.command("enable")
@click.argument("rule_id", type=int)
def enable_rule(rule_id: int) -> None:
    """Switch a rule on (clearing its last error)."""
    _switch(rule_id, True)


@rules_cli.command("disable")
@click.argument("rule_id", type=int)
def disable_rule(rule_id: int) -> None:
    """Switch a rule off."""
    _switch(rule_id, False)


@rules_cli.command("show")
@click.argument("rule_id", type=int)
def show_rule(rule_id: int) -> None:
    """A rule's details and its layout template as JSON."""
    rule = _find(rule_id)
    click.echo(f"rule {rule.id}: {rule.name} [{'enabled' if rule.enabled else 'disabled'}]")
    click.echo(f"portal:  {rule.member_id}")
    click.echo(f"matches: {enrichment.matchers_text(rule)}")
    click.echo(json.dumps(rule.layout, indent=2, ensure_ascii=False))


def _switch(rule_id: int, enabled: bool) -> None:
    rule = _find(rule_id)
    enrichment.set_enabled(rule, enabled)
    db.session.commit()
    click.echo(f"rule {rule_id} {'enabled' if enabled else 'disabled'}")


def _find(rule_id: int) -> EnrichmentRule:
    rule = enrichment.find_rule(rule_id)
    if rule is None:
        raise click.ClickException(f"no rule with id {rule_id}")
    return rule
