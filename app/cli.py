"""Command-line tools: `flask --app app vault|tokens|manifest|portals|events|worker|rules|templates …`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.activities.cli import templates_cli
from app.bitrix24.errors import Bitrix24Error
from app.extensions import db
from app.inbox.cli import events_cli, worker
from app.inbox.rules_cli import rules_cli
from app.portals.cli import portals_cli
from app.portals.connections import credentials_for
from app.portals.credentials import refresh_now, stale_portals
from app.portals.vault import UndecryptableSecret, rotate_secrets

vault_cli = AppGroup("vault", help="Manage the encrypted token vault.")
tokens_cli = AppGroup("tokens", help="Keep portal tokens alive.")
manifest_cli = AppGroup("manifest", help="Show what the app registers.")


@vault_cli.command("rotate")
@click.option("--batch-size", default=200, show_default=True, help="Portals re-encrypted per transaction.")
def vault_rotate(batch_size: int) -> None:
    """Re-encrypt every stored secret under the first key of TOKEN_KEYS."""
    try:
        report = rotate_secrets(db.session, current_app.extensions["vault"], batch_size=batch_size)
    except UndecryptableSecret as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"rotated {report.rotated} secrets; {report.current} already under the first key")


@tokens_cli.command("refresh-stale")
@click.option("--days", default=20, show_default=True, help="Refresh pairs stored longer ago than this.")
def tokens_refresh_stale(days: int) -> None:
    """Refresh idle portals' tokens before the refresh token expires (run daily from cron)."""
    stale = stale_portals(db.session, older_than=timedelta(days=days), now=datetime.now(UTC))
    failed = 0
    for member_id in stale:
        try:
            refresh_now(credentials_for(member_id))
            click.echo(f"{member_id}: refreshed")
        except Bitrix24Error as error:
            failed += 1
            click.echo(f"{member_id}: failed: {error}")
    click.echo(f"{len(stale) - failed} of {len(stale)} stale portals refreshed")
    if failed:
        raise click.exceptions.Exit(1)


@manifest_cli.command("urls")
def manifest_urls() -> None:
    """Print the absolute handler URLs to paste into the vendor console."""
    manifest = current_app.extensions["manifest"]
    for name, url in manifest.urls(current_app.config["APP_BASE_URL"]).items():
        click.echo(f"{name:<40} {url}")


def register(app: Flask) -> None:
    app.cli.add_command(vault_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(manifest_cli)
    app.cli.add_command(portals_cli)
    app.cli.add_command(events_cli)
    app.cli.add_command(worker)
    app.cli.add_command(rules_cli)
    app.cli.add_command(templates_cli)
