"""`flask --app app templates list|add|delete`: a portal's activity templates from a shell."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.activities import templates
from app.activities.placeholders import describe
from app.extensions import db
from app.layout import LayoutError
from app.portals.store import find

templates_cli = AppGroup("templates", help="Manage the activity templates users add app activities from.")


@templates_cli.command("list")
@click.option("--portal", "member_id", required=True, help="The portal's member_id.")
def list_templates(member_id: str) -> None:
    """One line per template: id, name, subject, block count (a never-seeded portal gets the defaults)."""
    _portal(member_id)
    rows = templates.portal_templates(member_id)
    click.echo(f"{'ID':>6} {'NAME':<28} {'BLOCKS':>6} SUBJECT")
    for template in rows:
        blocks = len(template.layout.get("blocks") or {})
        click.echo(f"{template.id:>6} {template.name[:28]:<28} {blocks:>6} {template.subject[:80]}")
    click.echo(f"{len(rows)} template{'s' if len(rows) != 1 else ''}")


@templates_cli.command("add")
@click.option("--portal", "member_id", required=True, help="The portal's member_id.")
@click.option("--name", required=True)
@click.option("--subject", required=True, help="The activity's subject; {{FIELD}} placeholders allowed.")
@click.option("--description", default="", help="The activity's description; placeholders allowed.")
@click.option(
    "--layout",
    "layout_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="RestAppLayoutDto JSON with {{FIELD}} placeholders.",
)
def add_template(member_id: str, name: str, subject: str, description: str, layout_file: Path) -> None:
    """Check a template and store it for the portal."""
    _portal(member_id)
    data = {
        "name": name,
        "subject": subject,
        "description": description,
        "layout": layout_file.read_text(encoding="utf-8"),
    }
    try:
        template = templates.add_template(member_id, data)
    except LayoutError as error:
        raise click.ClickException(f"the template was refused: {describe(error)}") from None
    except templates.TemplateError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"template {template.id} added: {template.name}")


@templates_cli.command("delete")
@click.option("--portal", "member_id", required=True, help="The portal's member_id.")
@click.argument("reference")
def delete_template(member_id: str, reference: str) -> None:
    """Delete a template by id or name; activities made from it stay."""
    _portal(member_id)
    template = templates.find_template(member_id, reference)
    if template is None:
        raise click.ClickException(f"the portal has no template {reference!r}")
    name = template.name
    templates.delete_template(template)
    db.session.commit()
    click.echo(f"template {reference} deleted: {name}")


def _portal(member_id: str) -> None:
    if find(member_id) is None:
        raise click.ClickException(f"no portal with member_id {member_id}")
