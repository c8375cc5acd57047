"""The life of an installation: verify who installs, store the portal, activate, update, uninstall, purge."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from app.bitrix24.errors import Bitrix24Error
from app.bitrix24.hosts import url_allowed, valid_netloc
from app.bitrix24.oauth import AppInfo, OAuthClient
from app.extensions import AnySession
from app.models import (
    Activity,
    ActivityTemplate,
    ApiKey,
    ApiRequest,
    EnrichmentRule,
    InboxEvent,
    Portal,
    PortalState,
    RateLimitBucket,
    TemplateSeed,
)
from app.portals import erase_tokens, expiry, set_application_token, write_tokens
from app.vault import TokenVault

log = logging.getLogger(__name__)
KEEP_UNINSTALLED = timedelta(days=30)


class NotVerified(Exception):
    """The OAuth server did not vouch for this token, portal and app; nothing may be stored."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Claim:
    """What a request says about itself: checked against the OAuth server before anything is stored."""

    access_token: str
    member_id: str
    domain: str


def verify(oauth: OAuthClient, claim: Claim, *, allowed_hosts: tuple[str, ...]) -> AppInfo:
    """Ask the OAuth server (never a host from the request) whose token this is; every claim must match."""
    try:
        info = oauth.app_info(claim.access_token)
    except Bitrix24Error as error:
        raise NotVerified(f"the OAuth server refused the token ({error.code or 'no answer'})") from None
    problems = [
        (info.client_id != oauth.client_id, "the token belongs to another application"),
        (info.member_id != claim.member_id, "the token belongs to another portal (member_id differs)"),
        (not valid_netloc(info.domain), "the OAuth server named the portal with a malformed host"),
        (not same_host(info.domain, claim.domain), "the token belongs to another portal (domain differs)"),
        (
            not url_allowed(info.client_endpoint, allowed_hosts),
            "the portal's REST address is not an allowed host",
        ),
    ]
    reason = next((why for failed, why in problems if failed), None)
    if reason:
        raise NotVerified(reason)
    return info


def same_host(verified: str, claimed: str) -> bool:
    """Compare domains; the OAuth server may leave out a port the frame's DOMAIN carries, or the reverse."""
    a, b = verified.strip().lower(), claimed.strip().lower()
    return a == b or a.split(":")[0] == b or b.split(":")[0] == a


def store_installation(
    session: AnySession,
    vault: TokenVault,
    info: AppInfo,
    *,
    access_token: str,
    refresh_token: str,
    expires_in: int,
    application_token: str = "",
    user_id: int | None = None,
) -> Portal:
    """Create or refresh the portal's row from a verified install; an uninstalled portal starts clean."""
    portal = session.scalar(select(Portal).where(Portal.member_id == info.member_id))
    if portal is not None and portal.state is PortalState.UNINSTALLED:
        forget_portal(session, portal)
        portal = None
    if portal is None:
        portal = Portal(member_id=info.member_id, state=PortalState.INSTALLING)
        session.add(portal)
    portal.domain, portal.client_endpoint = info.domain, info.client_endpoint
    portal.scope, portal.app_status, portal.app_version = info.scope, info.status, info.version
    portal.installed_by_user_id = user_id or info.user_id
    portal.uninstalled_at = None
    now = datetime.now(UTC)
    write_tokens(
        portal,
        vault,
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=expiry(now, expires_in),
    )
    if application_token:
        set_application_token(portal, application_token)
    return portal


def activate(portal: Portal, *, version: str | None = None) -> None:
    """The portal confirmed the install (ONAPPINSTALL, or the frame carried its application_token)."""
    portal.state = PortalState.ACTIVE
    if version:
        portal.app_version = version


def uninstall(session: AnySession, portal: Portal, *, clean: bool) -> None:
    """Erase the tokens at once; with CLEAN delete every row of the portal, else keep them 30 days."""
    if clean:
        forget_portal(session, portal)
        return
    erase_tokens(portal)
    portal.application_token_sha256 = None
    portal.state = PortalState.UNINSTALLED
    portal.uninstalled_at = datetime.now(UTC)


# Every table keyed by member_id; a clean uninstall or the purge empties them all for the portal.
PORTAL_ROWS = (Activity, InboxEvent, EnrichmentRule, ActivityTemplate, TemplateSeed, ApiKey, ApiRequest)


def forget_portal(session: AnySession, portal: Portal) -> None:
    """Delete the portal and everything the app kept about it."""
    for kept in PORTAL_ROWS:
        session.execute(delete(kept).where(kept.member_id == portal.member_id))
    session.execute(delete(RateLimitBucket).where(RateLimitBucket.portal_id == portal.id))
    session.delete(portal)
    session.flush()


def purge(session: AnySession, *, now: datetime, keep: timedelta = KEEP_UNINSTALLED) -> list[str]:
    """Delete portals uninstalled longer ago than `keep`; return their member_ids."""
    query = select(Portal).where(Portal.state == PortalState.UNINSTALLED, Portal.uninstalled_at < now - keep)
    gone = list(session.scalars(query))
    for portal in gone:
        forget_portal(session, portal)
    return [portal.member_id for portal in gone]
