"""A portal's credentials for the Bitrix24 client: read from the vault, refreshed once across processes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from app.bitrix24.client import Credentials
from app.bitrix24.errors import InvalidGrant, NeedsReinstall, PortalUnavailable
from app.bitrix24.oauth import OAuthClient, TokenGrant
from app.extensions import AnySession
from app.models import IN_SERVICE, SERVED, Portal, PortalState
from app.portals.store import write_tokens
from app.portals.vault import TokenVault

log = logging.getLogger(__name__)


class PortalCredentials:
    """The CredentialStore of one portal, backed by its row in `portals`."""

    def __init__(
        self,
        engine: Engine,
        vault: TokenVault,
        oauth: OAuthClient,
        member_id: str,
        *,
        on_refresh: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.vault = vault
        self.oauth = oauth
        self.member_id = member_id
        self.on_refresh = on_refresh
        self.clock = clock
        self._cached: Credentials | None = None

    def current(self) -> Credentials:
        """The stored pair, read once and then kept until it fails."""
        if self._cached is None:
            with Session(self.engine) as session:
                self._cached = self._credentials(self._portal(session))
        return self._cached

    def renew(self, failed: Credentials, *, expired: bool) -> Credentials:
        """Return credentials newer than `failed`: another process's, or (if expired) a refreshed pair.

        When the token was refused but not expired and nobody replaced it, `failed` itself comes back.

        The portal's row is locked while deciding, so of all the threads and processes whose token expired
        at once, exactly one reaches the OAuth server; refresh tokens are single-use (notes §4.4).
        """
        with Session(self.engine) as session, session.begin():
            portal = self._lock(session)
            if portal.token_version != failed.version or not expired:
                self._cached = self._credentials(portal)
                return self._cached
            grant = self._refresh(session, portal)
            self._store(portal, grant)
            self._cached = self._credentials(portal)
        if self.on_refresh is not None:
            self.on_refresh(self.member_id)
        return self._cached

    def moved(self, client_endpoint: str) -> Credentials:
        """Store the portal's new address after a 302; member_id stays the key."""
        domain = client_endpoint.split("://", 1)[-1].split("/", 1)[0]
        with Session(self.engine) as session, session.begin():
            portal = self._lock(session)
            log.warning("member_id=%s moved from %s to %s", self.member_id, portal.domain, domain)
            portal.client_endpoint, portal.domain = client_endpoint, domain
            self._cached = self._credentials(portal)
        return self._cached

    def _refresh(self, session: Session, portal: Portal) -> TokenGrant:
        """Trade the stored refresh token; a refused one parks the portal as needs_reinstall, no looping."""
        refresh_token = self.vault.decrypt(
            portal.refresh_token_enc or "", member_id=self.member_id, field="refresh"
        )
        try:
            return self.oauth.refresh(refresh_token, now=self.clock())
        except InvalidGrant:
            if (
                portal.state is not PortalState.UNINSTALLING
            ):  # an uninstall in question is the worker's to settle
                portal.state = PortalState.NEEDS_REINSTALL
            session.commit()
            raise NeedsReinstall(
                "invalid_grant",
                "the portal refused our refresh token; an administrator must open the app again to reconnect",
            ) from None

    def _store(self, portal: Portal, grant: TokenGrant) -> None:
        write_tokens(
            portal,
            self.vault,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            expires_at=grant.expires_at,
        )
        if grant.client_endpoint and grant.client_endpoint != portal.client_endpoint:
            portal.client_endpoint = grant.client_endpoint

    def _portal(self, session: Session) -> Portal:
        portal = session.scalar(select(Portal).where(Portal.member_id == self.member_id))
        if portal is None or portal.state not in IN_SERVICE:
            state = portal.state if portal else "unknown"
            raise PortalUnavailable("PORTAL_UNAVAILABLE", f"portal {self.member_id} is {state}")
        return portal

    def _lock(self, session: Session) -> Portal:
        """Lock the portal's row until commit: FOR UPDATE on PostgreSQL, the database write lock on SQLite."""
        if session.get_bind().dialect.name == "sqlite":
            # A no-op write takes SQLite's RESERVED lock, which serialises every other writer until commit.
            session.execute(
                update(Portal)
                .where(Portal.member_id == self.member_id)
                .values(token_version=Portal.token_version)
            )
        else:
            session.execute(select(Portal.id).where(Portal.member_id == self.member_id).with_for_update())
        session.expire_all()
        return self._portal(session)

    def _credentials(self, portal: Portal) -> Credentials:
        if portal.access_token_enc is None:
            raise PortalUnavailable("PORTAL_UNAVAILABLE", f"portal {self.member_id} holds no token")
        token = self.vault.decrypt(portal.access_token_enc, member_id=self.member_id, field="access_token")
        return Credentials(token, portal.client_endpoint, portal.token_version)


def stale_portals(session: AnySession, *, older_than: timedelta, now: datetime) -> list[str]:
    """Installed portals whose token pair was stored before `now - older_than` (or never dated)."""
    cutoff = now - older_than
    query = select(Portal.member_id).where(
        Portal.state.in_(SERVED),
        Portal.refresh_token_enc.is_not(None),
        or_(Portal.tokens_stored_at.is_(None), Portal.tokens_stored_at < cutoff),
    )
    return list(session.scalars(query.order_by(Portal.id)))


def refresh_now(credentials: PortalCredentials) -> None:
    """Refresh a portal's pair before its refresh token can die unused (a cron job, not a per-call habit)."""
    credentials.renew(credentials.current(), expired=True)
