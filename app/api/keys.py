"""API keys: one per external system, bound to a portal, shown once, stored as a SHA-256 digest, revocable.

A key reads `tb_<prefix>_<secret>`: the prefix (public, unique) finds the row, the secret's digest is
compared in constant time. Only the prefix ever appears in a log line or a page after creation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey

PREFIX_BYTES = 6  # 12 hex characters
SECRET_BYTES = 32
LABEL_LENGTH = 255
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key
_KEY = re.compile(r"^tb_([0-9a-f]{12})_([A-Za-z0-9_-]{20,128})$")
_NO_DIGEST = hashlib.sha256(b"no such key").hexdigest()


class KeyRefused(Exception):
    """The request's key cannot be accepted; `reason` is safe to show (it never repeats the key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(member_id: str, label: str = "") -> tuple[ApiKey, str]:
    """Stage a new key for the portal; return it and the full key text, which is never stored."""
    label = label.strip()
    if len(label) > LABEL_LENGTH:
        raise ValueError(f"the label is longer than {LABEL_LENGTH} characters")
    prefix, secret = secrets.token_hex(PREFIX_BYTES), secrets.token_urlsafe(SECRET_BYTES)
    key = ApiKey(member_id=member_id, prefix=prefix, secret_sha256=digest(secret), label=label)
    db.session.add(key)
    return key, f"tb_{prefix}_{secret}"


def authenticate(authorization: str, *, now: datetime | None = None) -> ApiKey:
    """The live key an `Authorization: Bearer …` header carries; KeyRefused otherwise."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise KeyRefused("send the API key as: Authorization: Bearer <key>")
    match = _KEY.match(value.strip())
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1))) if match else None
    secret = match.group(2) if match else ""
    # Compare even when nothing was found, so a wrong prefix takes as long as a wrong secret.
    if not hmac.compare_digest(digest(secret), key.secret_sha256 if key else _NO_DIGEST) or key is None:
        raise KeyRefused("the API key is not valid")
    if key.revoked_at is not None:
        raise KeyRefused("the API key has been revoked")
    touch(key, now or datetime.now(UTC))
    return key


def touch(key: ApiKey, now: datetime) -> None:
    """Note the key's use (at most once a minute, so busy keys do not write on every request)."""
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        key.last_used_at = now


def portal_keys(member_id: str) -> list[ApiKey]:
    """The portal's keys, newest first, revoked ones included."""
    query = select(ApiKey).where(ApiKey.member_id == member_id).order_by(ApiKey.id.desc())
    return list(db.session.scalars(query))


def find_key(member_id: str, key_id: int) -> ApiKey | None:
    key = db.session.get(ApiKey, key_id)
    return key if key is not None and key.member_id == member_id else None


def revoke(key: ApiKey, *, now: datetime | None = None) -> None:
    """Stage the key's revocation; the caller commits. Revoking twice keeps the first time."""
    if key.revoked_at is None:
        key.revoked_at = now or datetime.now(UTC)


def shown(key: ApiKey) -> str:
    """How a stored key is shown after creation: its public prefix only."""
    return f"tb_{key.prefix}_…"
