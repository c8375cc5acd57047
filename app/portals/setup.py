"""Registering the app on a verified portal and reading its plan: for the installer, events and the CLI."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app

from app.bitrix24.client import Client
from app.bitrix24.errors import Bitrix24Error
from app.models import Portal, utcnow
from app.portals.connections import client_for
from app.portals.plan import EVENTS, choose, features
from app.portals.registration import Report, Step, register, register_offline

log = logging.getLogger(__name__)


def register_portal(portal: Portal) -> Report:
    """Bind what manifest.json lists and note the portal's licence; the caller commits."""
    client = client_for(portal)
    report = register(
        client,
        current_app.extensions["manifest"],
        base_url=current_app.config["APP_BASE_URL"],
        static_folder=Path(current_app.static_folder or ""),
    )
    report.steps += _backstop(portal, client)
    try:
        info = client.call("app.info")
    except Bitrix24Error as error:
        log.warning("app.info failed for member_id=%s: %s", portal.member_id, error.code)
    else:
        portal.license = str(info.get("LICENSE") or "") or None
        portal.license_family = str(info.get("LICENSE_FAMILY") or "") or None
    return report


def _backstop(portal: Portal, client: Client) -> list[Step]:
    """Bind the activity events offline where the plan has the reserve mode; note the portal's mode."""
    try:
        mode, connector = choose(*features(client))
    except Bitrix24Error as error:
        log.warning("feature.get failed for member_id=%s: %s", portal.member_id, error.code)
        return []  # the worker asks again before its first drain
    portal.backstop, portal.offline_connector, portal.backstop_checked_at = mode, connector, utcnow()
    wanted = [e for e in current_app.extensions["manifest"].events if e in EVENTS]
    return register_offline(client, wanted, connector=connector) if mode == "offline" else []
