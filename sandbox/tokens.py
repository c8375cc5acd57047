"""The OAuth server's token book: issue, refresh (single use), authenticate (notes §4)."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from sandbox.core import RestError
from sandbox.state import InstalledApp, IssuedToken, Portal, Sandbox


def new_token() -> str:
    """Return a token shaped like a modern one: 70 hex chars (notes §1.2)."""
    return secrets.token_hex(35)


def issue_token(sandbox: Sandbox, portal: Portal, app: InstalledApp, user_id: int) -> IssuedToken:
    """Mint an access/refresh pair for one user of one app on one portal."""
    now = time.time()
    token = IssuedToken(
        access_token=new_token(),
        refresh_token=new_token(),
        member_id=portal.member_id,
        client_id=app.client_id,
        user_id=user_id,
        expires_at=now + float(sandbox.setting("token_lifetime")),
        scope=list(app.scope),
        refresh_expires_at=now + float(sandbox.setting("refresh_lifetime")),
        issued_at=now,
    )
    with sandbox.lock:
        sandbox.tokens[token.access_token] = token
        sandbox.refresh_tokens[token.refresh_token] = token
    return token


def oauth_domain(sandbox: Sandbox) -> str:
    """Return the OAuth server's host, which the token response calls `domain` (notes §4.3 gotcha)."""
    return urlsplit(sandbox.setting("oauth_base_url") or "http://oauth.bitrix.info").netloc


def server_endpoint(sandbox: Sandbox) -> str:
    """Return the OAuth server's REST endpoint, echoed as server_endpoint (notes §4.6)."""
    return (sandbox.setting("oauth_base_url") or "http://oauth.bitrix.info").rstrip("/") + "/rest/"


def token_response(sandbox: Sandbox, token: IssuedToken) -> dict[str, Any]:
    """Render the /oauth/token/ answer with exactly the §4.3 fields."""
    portal = sandbox.portals[token.member_id]
    app = portal.apps[token.client_id]
    return {
        "access_token": token.access_token,
        "client_endpoint": portal.client_endpoint,
        "domain": oauth_domain(sandbox),
        "expires": int(token.expires_at),
        "expires_in": int(sandbox.setting("token_lifetime")),
        "member_id": portal.member_id,
        "refresh_token": token.refresh_token,
        "scope": ",".join(token.scope),
        "server_endpoint": server_endpoint(sandbox),
        "status": app.status,
        "user_id": token.user_id,
    }


def refresh(sandbox: Sandbox, refresh_token: str, client_id: str) -> IssuedToken:
    """Trade a refresh token for a new pair; the old pair dies (notes §4.4, older course)."""
    with sandbox.lock:
        old = sandbox.refresh_tokens.get(refresh_token)
        if (
            old is None
            or old.refresh_used
            or time.time() > old.refresh_expires_at
            or old.client_id != client_id
        ):
            raise RestError("invalid_grant", "Invalid refresh token", 400)
        portal = sandbox.portals.get(old.member_id)
        app = portal.apps.get(old.client_id) if portal else None
        if portal is None or app is None:
            raise RestError("invalid_grant", "Invalid refresh token", 400)
        if sandbox.setting("refresh_single_use"):
            old.refresh_used = True
            old.revoked = True
        return issue_token(sandbox, portal, app, old.user_id)


def expired_message(sandbox: Sandbox) -> str:
    """Return the expired_token text; the period is disputed (notes §4.5, §9.4)."""
    text = "The access token provided has expired"
    return text + "." if sandbox.setting("expired_token_period") else text


def lookup(sandbox: Sandbox, access_token: str) -> IssuedToken:
    """Find a live access token or raise the portal's OAuth error (notes §4.5)."""
    if not access_token:
        raise RestError("NO_AUTH_FOUND", "Wrong authorization data", 401)
    token = sandbox.tokens.get(access_token)
    if token is None or token.revoked:
        raise RestError("invalid_token", "Unable to get application by token", 401)
    if time.time() >= token.expires_at:
        raise RestError("expired_token", expired_message(sandbox), 401)
    return token


def expire_tokens(sandbox: Sandbox, *, member_id: str | None = None, client_id: str | None = None) -> int:
    """Make every live access token (of one portal, of one app) expired now; return how many."""
    now = time.time()
    count = 0
    with sandbox.lock:
        for token in sandbox.tokens.values():
            if (member_id and token.member_id != member_id) or (client_id and token.client_id != client_id):
                continue
            if not token.revoked and token.expires_at > now:
                token.expires_at = now
                count += 1
    return count


def drop_app_tokens(sandbox: Sandbox, member_id: str, client_id: str) -> None:
    """Forget every token of an app on a portal (uninstall, notes §1.8)."""
    with sandbox.lock:
        for book in (sandbox.tokens, sandbox.refresh_tokens):
            for key in [k for k, t in book.items() if t.member_id == member_id and t.client_id == client_id]:
                del book[key]
