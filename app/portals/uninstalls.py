"""An ONAPPUNINSTALL is confirmed with the platform before anything is destroyed.

The event carries only the application_token (notes §1.6), which every user of the portal may hold (the
frame POST gives APPLICATION_TOKEN to everyone on newer portals, §1.2). So it only marks the portal
`uninstalling`; the worker then asks the platform with the stored pair. After a real uninstall all API
access is revoked (§1.6: "After uninstall all API access is revoked"): app.info refuses the access token and
the OAuth server refuses the refresh token (invalid_grant), so the uninstall is carried out (CLEAN deletes the
rows, else they are kept 30 days). If the pair still works and app.info says the app is installed, the
request was not the portal's, and the portal is active again. Anything else (no answer, our own credentials
refused) decides nothing: the next round asks again.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from app.bitrix24.errors import AuthError, Bitrix24Error, InvalidClient, InvalidGrant
from app.bitrix24.oauth import OAuthClient
from app.extensions import AnySession
from app.models import Portal, PortalState, utcnow
from app.portals.lifecycle import keep_installation, uninstall
from app.portals.store import read_tokens, write_tokens
from app.portals.vault import TokenVault

log = logging.getLogger(__name__)
CHECK_EVERY = timedelta(minutes=2)


class Verdict(enum.Enum):
    VOUCHED = "vouched"  # the pair works and app.info says installed: keep the installation
    DISOWNED = "disowned"  # the platform refuses the pair: the app is gone
    UNKNOWN = "unknown"  # no answer, or none that decides: ask again next round


def ask_platform(oauth: OAuthClient, vault: TokenVault, portal: Portal) -> Verdict:
    """app.info with the stored access token; when refused, a refresh with the stored refresh token."""
    tokens = read_tokens(portal)
    if tokens is None:
        return Verdict.DISOWNED
    verdict = _app_info(oauth, portal, tokens.access_token)
    if verdict is not None:
        return verdict
    try:
        grant = oauth.refresh(tokens.refresh_token)
    except InvalidGrant:
        return Verdict.DISOWNED
    except Bitrix24Error as error:  # invalid_client is our own configuration, not the portal's word
        log.warning("member_id=%s: uninstall not confirmed yet: refresh: %s", portal.member_id, error)
        return Verdict.UNKNOWN
    write_tokens(
        portal,
        vault,
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        expires_at=grant.expires_at,
    )
    return _app_info(oauth, portal, grant.access_token) or Verdict.UNKNOWN


def _app_info(oauth: OAuthClient, portal: Portal, access_token: str) -> Verdict | None:
    """VOUCHED when the token works for this portal and app and says installed; None when it is refused."""
    try:
        info = oauth.app_info(access_token)
    except (AuthError, InvalidClient):  # app.info answers an unknown token with invalid_client (notes §7)
        return None
    except Bitrix24Error as error:
        log.warning("member_id=%s: uninstall not confirmed yet: app.info: %s", portal.member_id, error)
        return Verdict.UNKNOWN
    mine = info.member_id == portal.member_id and info.client_id == oauth.client_id
    return Verdict.VOUCHED if mine and info.installed else Verdict.UNKNOWN


def settle(session: AnySession, oauth: OAuthClient, vault: TokenVault, portal: Portal) -> Verdict:
    """Carry out or drop one portal's uninstall request as the platform says; the caller commits."""
    verdict = ask_platform(oauth, vault, portal)
    if verdict is Verdict.VOUCHED:
        log.warning("member_id=%s: ONAPPUNINSTALL not confirmed by the platform; kept", portal.member_id)
        keep_installation(portal)
    elif verdict is Verdict.DISOWNED:
        clean = bool(portal.uninstall_clean)
        log.info("member_id=%s: uninstall confirmed (clean=%s)", portal.member_id, clean)
        uninstall(session, portal, clean=clean)
    return verdict


def settle_before_install(session: AnySession, oauth: OAuthClient, vault: TokenVault, portal: Portal) -> None:
    """An administrator installs while an uninstall waits: settle it first, so a real one starts clean.

    Unless the platform refuses the old pair, the administrator's install (app.info just vouched for it)
    outweighs the request, which is dropped.
    """
    if portal.state is not PortalState.UNINSTALLING:
        return
    if settle(session, oauth, vault, portal) is Verdict.UNKNOWN:
        keep_installation(portal)
    session.flush()


class Confirmer:
    """The worker's job: every `every`, settle each portal in `uninstalling` (a cheap no-op if none)."""

    def __init__(
        self,
        oauth: Callable[[], OAuthClient],
        vault: Callable[[], TokenVault],
        *,
        every: timedelta = CHECK_EVERY,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.oauth, self.vault, self.every, self.clock = oauth, vault, every, clock
        self.last_round: datetime | None = None

    def run_due(self, session: AnySession) -> dict[str, Verdict]:
        """Settle the waiting portals if a round is due; each portal commits on its own."""
        now = self.clock()
        if self.last_round is not None and now - self.last_round < self.every:
            return {}
        self.last_round = now
        return confirm_uninstalls(session, self.oauth(), self.vault())


def confirm_uninstalls(session: AnySession, oauth: OAuthClient, vault: TokenVault) -> dict[str, Verdict]:
    """Settle every portal in `uninstalling`; return each one's verdict."""
    query = select(Portal.member_id).where(Portal.state == PortalState.UNINSTALLING)
    verdicts: dict[str, Verdict] = {}
    for member_id in list(session.scalars(query)):
        fresh = select(Portal).where(Portal.member_id == member_id).execution_options(populate_existing=True)
        portal = session.scalar(fresh)
        if portal is None or portal.state is not PortalState.UNINSTALLING:
            continue  # settled meanwhile (an administrator's install, another worker)
        verdicts[member_id] = settle(session, oauth, vault, portal)
        session.commit()
    return verdicts
