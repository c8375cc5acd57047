"""`flask --app app portals list|show|repair|purge`: the vendor's view of installations, no secret printed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.api.service import forget_answered
from app.bitrix24.errors import Bitrix24Error
from app.extensions import db
from app.models import Activity, InboxEvent, Portal, PortalState
from app.portals.connections import client_for
from app.portals.lifecycle import purge
from app.portals.registration import Health, check
from app.portals.setup import register_portal

portals_cli = AppGroup("portals", help="List, inspect, repair and purge portal installations.")


@portals_cli.command("list")
def list_portals() -> None:
    """One line per portal: member_id, domain, state, version, licence, token age."""
    now = datetime.now(UTC)
    rows = list(db.session.scalars(select(Portal).order_by(Portal.domain, Portal.member_id)))
    click.echo(f"{'MEMBER_ID':<34} {'DOMAIN':<32} {'STATE':<16} {'VERSION':<8} {'LICENCE':<14} TOKEN AGE")
    for portal in rows:
        click.echo(
            f"{portal.member_id:<34} {portal.domain:<32} {portal.state.value:<16} "
            f"{portal.app_version or '-':<8} {portal.license or '-':<14} {token_age(portal, now)}"
        )
    click.echo(f"{len(rows)} portal{'s' if len(rows) != 1 else ''}")


@portals_cli.command("show")
@click.argument("member_id")
def show_portal(member_id: str) -> None:
    """Details of one portal and a live check of what it has bound against the manifest."""
    portal = _find(member_id)
    now = datetime.now(UTC)
    for label, value in describe(portal, now).items():
        click.echo(f"{label + ':':<22} {value}")
    if portal.access_token_enc is None:
        click.echo("health:                not checked (the portal holds no tokens)")
        return
    try:
        health = check(
            client_for(portal),
            current_app.extensions["manifest"],
            base_url=current_app.config["APP_BASE_URL"],
        )
    except Bitrix24Error as error:
        db.session.commit()  # the client may have refreshed and stored a new pair
        raise click.ClickException(f"health check failed: {error}") from None
    db.session.commit()
    click.echo(health_lines(health))


@portals_cli.command("repair")
@click.argument("member_id")
def repair_portal(member_id: str) -> None:
    """Register everything in manifest.json again; exit 1 if any step fails."""
    portal = _find(member_id)
    if portal.state is PortalState.UNINSTALLED or portal.access_token_enc is None:
        raise click.ClickException(f"portal {member_id} is uninstalled; it must be installed again")
    try:
        report = register_portal(portal)
    except Bitrix24Error as error:
        db.session.commit()
        raise click.ClickException(f"repair failed: {error}") from None
    db.session.commit()
    for step in report.steps:
        click.echo(f"{step.kind:<14} {step.name:<32} {step.outcome}{': ' + step.error if step.error else ''}")
    if not report.ok:
        raise click.ClickException(f"{len(report.failed)} of {len(report.steps)} steps failed")
    click.echo(f"repaired: {len(report.steps)} registrations in place")


@portals_cli.command("purge")
@click.option("--days", default=30, show_default=True, type=click.IntRange(min=0), help="Keep this long.")
def purge_portals(days: int) -> None:
    """Delete every row of portals uninstalled more than --days ago, and API idempotency keys that old."""
    now = datetime.now(UTC)
    gone = purge(db.session, now=now, keep=timedelta(days=days))
    keys = forget_answered(now - timedelta(days=days))
    db.session.commit()
    for member_id in gone:
        click.echo(f"deleted {member_id}")
    click.echo(f"purged {len(gone)} portal{'s' if len(gone) != 1 else ''} uninstalled over {days} days ago")
    click.echo(f"forgot {keys} API idempotency key{'s' if keys != 1 else ''} answered over {days} days ago")


def describe(portal: Portal, now: datetime) -> dict[str, str]:
    """What `show` prints about a portal: facts and counts, never a token."""
    inbox = db.session.execute(
        select(InboxEvent.status, func.count())
        .where(InboxEvent.member_id == portal.member_id)
        .group_by(InboxEvent.status)
    )
    activities = db.session.scalar(
        select(func.count()).select_from(Activity).where(Activity.member_id == portal.member_id)
    )
    return {
        "member_id": portal.member_id,
        "domain": portal.domain,
        "rest endpoint": portal.client_endpoint,
        "state": portal.state.value,
        "app version": portal.app_version or "-",
        "app status": portal.app_status or "-",
        "licence": f"{portal.license or '-'} (family {portal.license_family or '-'})",
        "scope": portal.scope or "-",
        "installed by user": str(portal.installed_by_user_id or "-"),
        "created": _when(portal.created_at),
        "uninstalled": _when(portal.uninstalled_at),
        "tokens": "stored" if portal.access_token_enc else "none",
        "token age": token_age(portal, now),
        "access token expires": _when(portal.expires_at),
        "application token": "known" if portal.application_token_sha256 else "not received yet",
        "missed-event backstop": _backstop(portal),
        "activities mirrored": str(activities or 0),
        "inbox": ", ".join(f"{status.value} {n}" for status, n in inbox) or "empty",
    }


def _backstop(portal: Portal) -> str:
    """The portal's backstop mode (app.inbox.offline), its source key and when it last ran."""
    if portal.backstop is None:
        return "not checked yet"
    key = f", source key {portal.offline_connector!r}" if portal.backstop == "offline" else ""
    return f"{portal.backstop}{key}, last run {_when(portal.backstop_ran_at)}"


def health_lines(health: Health) -> str:
    """The health check as lines: ok, or what is missing."""
    if health.ok:
        return "health:                ok (everything in manifest.json is bound)"
    lines = ["health:                MISSING REGISTRATIONS (run `flask --app app portals repair`)"]
    for label, names in (
        ("events", health.missing_events),
        ("placements", health.missing_placements),
        ("activity types", health.missing_types),
        ("badges", health.missing_badges),
    ):
        if names:
            lines.append(f"  missing {label}: {', '.join(names)}")
    return "\n".join(lines)


def token_age(portal: Portal, now: datetime) -> str:
    """How long ago the pair was stored, e.g. `3d 4h`; `-` without tokens."""
    if portal.access_token_enc is None or portal.tokens_stored_at is None:
        return "-"
    seconds = max(int((now - portal.tokens_stored_at).total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _find(member_id: str) -> Portal:
    portal = db.session.scalar(select(Portal).where(Portal.member_id == member_id))
    if portal is None:
        raise click.ClickException(f"no portal with member_id {member_id}")
    return portal
