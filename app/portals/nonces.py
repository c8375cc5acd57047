"""One-time page-token nonces: a form action records its nonce before it runs, so a reload or a second
submit of the same page's form finds it spent and does nothing again (the frame has no cookie for PRG)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import UsedNonce, utcnow
from app.portals.page_tokens import PageSession


def spend(page: PageSession, *, now: datetime | None = None) -> bool:
    """Record the page's nonce as used; False when it already was (or the token has none)."""
    if not page.nonce:
        return False
    now = now or utcnow()
    # Tokens past their expiry are refused anyway: their nonces need not be kept.
    db.session.execute(delete(UsedNonce).where(UsedNonce.expires_at < now))
    db.session.add(
        UsedNonce(nonce=page.nonce, member_id=page.member_id, used_at=now, expires_at=page.expires_at)
    )
    try:
        db.session.commit()
    except IntegrityError:  # the primary key: this nonce was spent by an earlier request
        db.session.rollback()
        return False
    return True
