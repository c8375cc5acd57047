"""The installation store: the only place that reads or writes a portal's secrets."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Portal
from app.portals.vault import TokenVault


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime | None
    version: int


def current_vault() -> TokenVault:
    """Return the vault the app was created with."""
    return current_app.extensions["vault"]


# Built once (building an ORM statement per call is most of its cost); the bucket comes in the same query,
# since every caller goes on to make the portal's client (limiter_for reads the bucket's overrides).
FIND = select(Portal).options(joinedload(Portal.rate_limit)).where(Portal.member_id == bindparam("member_id"))


def find(member_id: str) -> Portal | None:
    """Find a portal by member_id, with its rate-limit bucket."""
    return db.session.scalar(FIND, {"member_id": member_id})


def store_tokens(portal: Portal, *, access_token: str, refresh_token: str, expires_at: datetime) -> None:
    """Encrypt and set a new token pair with the app's vault; the caller commits."""
    write_tokens(
        portal, current_vault(), access_token=access_token, refresh_token=refresh_token, expires_at=expires_at
    )


def write_tokens(
    portal: Portal, vault: TokenVault, *, access_token: str, refresh_token: str, expires_at: datetime
) -> None:
    """Encrypt and set a new pair, bumping token_version so concurrent refreshers see it changed."""
    portal.access_token_enc = vault.encrypt(access_token)
    portal.refresh_token_enc = vault.encrypt(refresh_token)
    portal.expires_at = expires_at
    portal.tokens_stored_at = datetime.now(UTC)
    portal.token_version = (portal.token_version or 0) + 1


def read_tokens(portal: Portal) -> Tokens | None:
    """Decrypt a portal's token pair, or None when it holds none (uninstalled)."""
    if portal.access_token_enc is None or portal.refresh_token_enc is None:
        return None
    vault = current_vault()
    return Tokens(
        access_token=vault.decrypt(portal.access_token_enc, member_id=portal.member_id, field="access_token"),
        refresh_token=vault.decrypt(
            portal.refresh_token_enc, member_id=portal.member_id, field="refresh_token"
        ),
        expires_at=portal.expires_at,
        version=portal.token_version,
    )


def erase_tokens(portal: Portal) -> None:
    """Forget a portal's token pair at once (uninstall); the caller commits."""
    portal.access_token_enc = None
    portal.refresh_token_enc = None
    portal.expires_at = None


def expiry(now: datetime, expires_in: int) -> datetime:
    """Turn a relative `expires_in` into an absolute time."""
    return now + timedelta(seconds=expires_in)


def digest(application_token: str) -> str:
    """SHA-256 of an application_token: long and random, so no key is needed; key rotation never locks out."""
    return hashlib.sha256(application_token.encode()).hexdigest()


def set_application_token(portal: Portal, application_token: str) -> None:
    """Keep only the digest of the portal's application_token."""
    portal.application_token_sha256 = digest(application_token)


def application_token_matches(portal: Portal, application_token: str) -> bool:
    """Compare a presented application_token with the stored digest in constant time."""
    stored = portal.application_token_sha256
    if not stored or not application_token:
        return False
    return hmac.compare_digest(stored, digest(application_token))
