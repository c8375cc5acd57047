"""Install from the frame POST: verify with the OAuth server, store the portal, register, maybe activate."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from werkzeug.exceptions import BadRequest

from app.connections import oauth_client
from app.extensions import db
from app.frames import Frame
from app.lifecycle import Claim, activate, store_installation, verify
from app.models import Portal
from app.registration import Report
from app.setup import register_portal


@dataclass(frozen=True)
class Outcome:
    portal: Portal
    report: Report


def install_from_frame(frame: Frame) -> Outcome:
    """Run the installer; nothing is stored unless the OAuth server vouches for the frame's token."""
    if not frame.refresh_id:
        raise BadRequest(
            "The portal sent no refresh token. Close this window and open the app from Bitrix24 again."
        )
    info = verify(
        oauth_client(),
        Claim(frame.auth_id, frame.member_id, frame.domain),
        allowed_hosts=current_app.config["B24_ALLOWED_HOSTS"],
    )
    portal = store_installation(
        db.session,
        current_app.extensions["vault"],
        info,
        access_token=frame.auth_id,
        refresh_token=frame.refresh_id,
        expires_in=frame.auth_expires,
        application_token=frame.application_token,
    )
    db.session.commit()
    report = register_portal(portal)
    # Newer portals send APPLICATION_TOKEN in the frame (notes §1.2); older ones only with ONAPPINSTALL.
    if report.ok and portal.application_token_sha256:
        activate(portal)
    db.session.commit()
    return Outcome(portal, report)
