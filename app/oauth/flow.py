"""The code flow (notes §4.1): a single-use, expiring, browser-bound state; the code traded for tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from flask import current_app
from sqlalchemy import delete, func, select, update

from app.bitrix24.errors import AuthError, Bitrix24Error, OAuthError
from app.bitrix24.hosts import callable_url, valid_netloc
from app.bitrix24.oauth import AppInfo, TokenGrant
from app.extensions import db
from app.models import OAuthState, Portal, PortalState
from app.portals.connections import oauth_client, user_client
from app.portals.lifecycle import Claim, NotVerified, activate, store_installation, verify
from app.portals.uninstalls import settle_before_install

STATE_LIFETIME = timedelta(minutes=10)
# Flows begun and not finished within STATE_LIFETIME, per portal: an administrator needs one or two; an
# anonymous loop of /oauth/start would otherwise add a row per request until the day-old sweep.
MAX_OPEN_STATES = 20
BROWSER_COOKIE = "tb_oauth_browser"


class FlowError(Exception):
    """A refused step of the flow: a sentence for the person, an HTTP status; nothing was stored."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Started:
    authorize_url: str
    browser_nonce: str  # goes into an HttpOnly cookie; only its digest is stored


@dataclass(frozen=True)
class SignedIn:
    member_id: str
    user_id: int


def digest(value: str) -> str:
    """SHA-256 of a random value: enough to find and compare it without keeping it."""
    return hashlib.sha256(value.encode()).hexdigest()


def start(domain: str, *, now: datetime) -> Started:
    """Begin the flow for a stored portal on an allowed host; the caller commits and sets the cookie."""
    portal = _portal_by_domain(domain.strip().lower())
    # Abandoned flows are useless after STATE_LIFETIME; each new one sweeps out the day-old ones.
    db.session.execute(delete(OAuthState).where(OAuthState.created_at < now - timedelta(days=1)))
    if _open_states(portal.member_id, now) >= MAX_OPEN_STATES:
        raise FlowError(TOO_MANY, 429)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    db.session.add(
        OAuthState(
            state_sha256=digest(state),
            browser_sha256=digest(nonce),
            member_id=portal.member_id,
            created_at=now,
        )
    )
    # The scheme and host come from what we stored at install, never from the query (notes §4.1).
    endpoint = urlsplit(portal.client_endpoint)
    query = urlencode({"client_id": current_app.config["B24_CLIENT_ID"], "state": state})
    return Started(f"{endpoint.scheme}://{endpoint.netloc}/oauth/authorize/?{query}", nonce)


TOO_MANY = (
    "Too many sign-ins to this portal were begun in the last 10 minutes and not finished. "
    "Wait a few minutes, then open the link again."
)


def _open_states(member_id: str, now: datetime) -> int:
    """How many of the portal's flows are still unused and unexpired."""
    query = select(func.count()).where(
        OAuthState.member_id == member_id,
        OAuthState.used_at.is_(None),
        OAuthState.created_at >= now - STATE_LIFETIME,
    )
    return int(db.session.scalar(query) or 0)


def finish(args: Mapping[str, str], browser_nonce: str, *, now: datetime) -> SignedIn:
    """Check the state, trade the code, verify the token and the administrator, then store the new pair."""
    code = args.get("code", "")
    if not code:
        raise FlowError("Bitrix24 sent no authorization code. Start signing in again.")
    row = consume_state(args.get("state", ""), browser_nonce, now=now)
    portal = _portal(row.member_id)
    if not hmac.compare_digest(args.get("member_id", row.member_id), row.member_id):
        raise FlowError("Bitrix24 answered for another portal than the one you started with.", 403)
    grant = _exchange(code, now)
    info = _verified(portal, grant)
    user_id = _administrator(portal, grant.access_token)
    settle_before_install(db.session, oauth_client(), current_app.extensions["vault"], portal)
    lacked_a_pair = portal.state is PortalState.NEEDS_REINSTALL
    stored = store_installation(
        db.session,
        current_app.extensions["vault"],
        info,
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        expires_in=max(int((grant.expires_at - now).total_seconds()), 0),
        user_id=user_id,
    )
    if lacked_a_pair and stored.state is not PortalState.ACTIVE:
        activate(stored)  # the refused refresh token was all it lacked: an administrator just gave a new pair
    return SignedIn(row.member_id, user_id)


def consume_state(state: str, browser_nonce: str, *, now: datetime) -> OAuthState:
    """Use a state once: it must exist, be unused, be fresh and belong to this browser; committed at once."""
    # Looked up by its SHA-256: timing can only reveal digest prefixes, which say nothing about a state.
    query = select(OAuthState).where(OAuthState.state_sha256 == digest(state))
    row = db.session.scalar(query) if state else None
    if row is None:
        raise FlowError("This sign-in link is not one we issued. Start signing in again.")
    if row.used_at is not None:
        raise FlowError("This sign-in link was already used. Start signing in again.")
    if row.created_at < now - STATE_LIFETIME:
        raise FlowError("This sign-in link has expired. Start signing in again.")
    if not browser_nonce or not hmac.compare_digest(row.browser_sha256, digest(browser_nonce)):
        raise FlowError("Sign-in was started in another browser. Start again in this one.", 403)
    # One UPDATE guarded by used_at IS NULL: of two racing callbacks only one wins.
    claimed = db.session.execute(
        update(OAuthState).where(OAuthState.id == row.id, OAuthState.used_at.is_(None)).values(used_at=now)
    )
    db.session.commit()
    if getattr(claimed, "rowcount", 0) != 1:
        raise FlowError("This sign-in link was already used. Start signing in again.")
    return row


def _portal_by_domain(domain: str) -> Portal:
    if not domain or not valid_netloc(domain):
        raise FlowError("That address is not a Bitrix24 portal this app serves.")
    portal = db.session.scalar(select(Portal).where(Portal.domain == domain))
    if portal is None or portal.state is PortalState.UNINSTALLED:
        raise FlowError("Timeline Bridge is not installed on that portal. Install it first.")
    if not callable_url(portal.client_endpoint, current_app.config["B24_ALLOWED_HOSTS"]):
        raise FlowError("That portal's address is not one this app may call.")
    return portal


def _portal(member_id: str) -> Portal:
    portal = db.session.scalar(select(Portal).where(Portal.member_id == member_id))
    if portal is None or portal.state is PortalState.UNINSTALLED:
        raise FlowError("Timeline Bridge is no longer installed on that portal.", 404)
    return portal


def _exchange(code: str, now: datetime) -> TokenGrant:
    try:
        return oauth_client().exchange_code(code, now=now)
    except OAuthError:
        raise FlowError(
            "Bitrix24 refused the sign-in code (it lives 30 s). Start signing in again."
        ) from None
    except Bitrix24Error as error:
        raise FlowError(f"The Bitrix24 sign-in server did not answer: {error.user_message}", 502) from None


def _verified(portal: Portal, grant: TokenGrant) -> AppInfo:
    """The OAuth server must vouch that the new token is ours, for this portal (member_id and domain)."""
    try:
        return verify(
            oauth_client(),
            Claim(grant.access_token, portal.member_id, portal.domain),
            allowed_hosts=current_app.config["B24_ALLOWED_HOSTS"],
        )
    except NotVerified as error:
        raise FlowError(f"Bitrix24 did not confirm the sign-in: {error.reason}.", 403) from None


def _administrator(portal: Portal, access_token: str) -> int:
    """The token's user, who must administer the portal: the stored pair acts for the app."""
    try:
        profile = user_client(portal, access_token).call("profile")
    except AuthError:
        raise FlowError("Bitrix24 did not accept the new sign-in. Start signing in again.", 403) from None
    except Bitrix24Error as error:
        raise FlowError(f"Bitrix24 did not answer: {error.user_message}", 502) from None
    if not isinstance(profile, Mapping) or profile.get("ADMIN") not in (True, "Y", "1"):
        raise FlowError("Only a portal administrator can sign in here.", 403)
    return int(profile["ID"])
