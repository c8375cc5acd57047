"""Install from the frame POST: verify with the OAuth server, store the portal, register, maybe activate."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from werkzeug.exceptions import BadRequest

from app.activities.templates import seed_defaults
from app.extensions import db
from app.models import Portal
from app.portals import store
from app.portals.connections import oauth_client
from app.portals.lifecycle import Claim, activate, store_installation
from app.portals.registration import Report
from app.portals.setup import register_portal
from app.portals.trust import request_asker, throttled_install
from app.portals.uninstalls import settle_before_install
from app.web.frames import Frame


@dataclass(frozen=True)
class Outcome:
    portal: Portal
    report: Report


def install_from_frame(frame: Frame) -> Outcome:
    """Run the installer; nothing is stored unless the OAuth server and the portal vouch for an admin."""
    if not frame.refresh_id:
        raise BadRequest(
            "The portal sent no refresh token. Close this window and open the app from Bitrix24 again."
        )
    stored = store.find(frame.member_id)
    oauth, vault = oauth_client(), current_app.extensions["vault"]
    installer = throttled_install(
        oauth,
        Claim(frame.auth_id, frame.member_id, frame.domain),
        allowed_hosts=current_app.config["B24_ALLOWED_HOSTS"],
        stored=stored,
        asker=request_asker(),
    )
    if stored is not None:
        settle_before_install(db.session, oauth, vault, stored)
    portal = store_installation(
        db.session,
        vault,
        installer.info,
        access_token=frame.auth_id,
        refresh_token=frame.refresh_id,
        expires_in=frame.auth_expires,
        application_token=frame.application_token,
        user_id=installer.user_id,
    )
    db.session.commit()
    report = register_portal(portal)
    # Newer portals send APPLICATION_TOKEN in the frame (notes §1.2); older ones only with ONAPPINSTALL.
    if report.ok and portal.application_token_sha256:
        activate(portal)
    db.session.commit()
    seed_defaults(portal.member_id, frame.lang)  # the default templates in the installer's language
    return Outcome(portal, report)
