"""Registering the app on a verified portal and reading its plan: for the installer, events and the CLI."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app

from app.bitrix24.errors import Bitrix24Error
from app.connections import client_for
from app.models import Portal
from app.registration import Report, register

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
    try:
        info = client.call("app.info")
    except Bitrix24Error as error:
        log.warning("app.info failed for member_id=%s: %s", portal.member_id, error.code)
    else:
        portal.license = str(info.get("LICENSE") or "") or None
        portal.license_family = str(info.get("LICENSE_FAMILY") or "") or None
    return report
