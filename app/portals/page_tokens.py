"""Page tokens: who opened a frame page, signed and encrypted, sent in a form field (no cookie, no URL)."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

LIFETIME = timedelta(hours=1)
HEADER = "X-Page-Token"
FIELD = "page_token"
# A key of its own (from SECRET_KEY): a page token can never pass as a vault ciphertext, or the reverse.
KEY_INFO = b"timeline-bridge page token v1"


class PageTokenError(Exception):
    """A page token we cannot accept; the user must reopen the app from the portal."""

    reason = "the page token is not valid"


class TamperedPageToken(PageTokenError):
    reason = "the page token was altered or was not made by this app"


class ExpiredPageToken(PageTokenError):
    reason = "the page token has expired"


class ForeignPageToken(PageTokenError):
    reason = "the page token belongs to another portal"


@dataclass(frozen=True)
class PageSession:
    """What a page token vouches for."""

    member_id: str
    user_id: int
    is_admin: bool
    access_token: str  # the user's own portal token from the frame POST ("" outside the frame)
    expires_at: datetime
    activity_id: int | None = None
    nonce: str = ""  # one per rendered page: a form action spends it (app.portals.nonces), so it runs once
    generation: int = 0  # the installation it was minted for (Portal.generation): a reinstall voids it


def issue(
    *,
    member_id: str,
    user_id: int,
    is_admin: bool,
    access_token: str = "",
    activity_id: int | None = None,
    generation: int = 0,
    now: datetime | None = None,
    lifetime: timedelta = LIFETIME,
    expires_at: datetime | None = None,
) -> str:
    """Seal a page session in an opaque token valid for `lifetime` (or to `expires_at`); a fresh nonce."""
    expires_at = expires_at or (now or datetime.now(UTC)) + lifetime
    payload = {
        "member_id": member_id,
        "user_id": user_id,
        "is_admin": is_admin,
        "access_token": access_token,
        "activity_id": activity_id,
        "generation": generation,
        "expires_at": int(expires_at.timestamp()),
        "nonce": secrets.token_urlsafe(16),
    }
    return _fernet().encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()


def renew(session: PageSession) -> str:
    """The token for the next page: the same session and expiry, a new nonce."""
    return issue(
        member_id=session.member_id,
        user_id=session.user_id,
        is_admin=session.is_admin,
        access_token=session.access_token,
        activity_id=session.activity_id,
        generation=session.generation,
        expires_at=session.expires_at,
    )


def read(token: str, *, member_id: str | None = None, now: datetime | None = None) -> PageSession:
    """Open a page token, refusing one that was altered, has expired or belongs to another portal."""
    session = _session(_open(token))
    if session.expires_at <= (now or datetime.now(UTC)):
        raise ExpiredPageToken()
    if member_id is not None and not hmac.compare_digest(session.member_id, member_id):
        raise ForeignPageToken()
    return session


def _open(token: str) -> dict[str, Any]:
    try:
        payload = json.loads(_fernet().decrypt(token.strip().encode()))
    except (InvalidToken, ValueError, UnicodeError):
        raise TamperedPageToken() from None
    if not isinstance(payload, dict):
        raise TamperedPageToken()
    return payload


def _session(payload: dict[str, Any]) -> PageSession:
    try:
        activity = payload.get("activity_id")
        return PageSession(
            member_id=str(payload["member_id"]),
            user_id=int(payload["user_id"]),
            is_admin=payload["is_admin"] is True,
            access_token=str(payload["access_token"]),
            expires_at=datetime.fromtimestamp(int(payload["expires_at"]), UTC),
            activity_id=None if activity is None else int(activity),
            nonce=str(payload.get("nonce") or ""),
            generation=int(payload.get("generation") or 0),
        )
    except (KeyError, TypeError, ValueError):
        raise TamperedPageToken() from None


def _fernet() -> Fernet:
    """The page-token key: HKDF over SECRET_KEY, so rotating SECRET_KEY voids every open page."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))
