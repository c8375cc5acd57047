"""The life of an installation: verify who installs, store the portal, activate, update, uninstall, purge."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from app.bitrix24.errors import Bitrix24Error
from app.bitrix24.hosts import callable_url, valid_netloc
from app.bitrix24.oauth import AppInfo, OAuthClient
from app.extensions import AnySession
from app.models import (
    Activity,
    ActivityTemplate,
    ApiKey,
    ApiRequest,
    EnrichmentRule,
    InboxEvent,
    InboxTally,
    Portal,
    PortalState,
    TemplateSeed,
)
from app.portals.store import erase_tokens, expiry, set_application_token, write_tokens
from app.portals.vault import TokenVault

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
            not callable_url(info.client_endpoint, allowed_hosts),
            "the portal's REST address is neither an allowed host nor an https address by name",
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


class Message(enum.StrEnum):
    """What may move an installation: each is verified as its row in TRANSITIONS says."""

    ADMIN_INSTALL = (
        "install"  # frame POST, ONAPPINSTALL, ONAPPUPDATE, OAuth sign-in: app.portals.trust verified an admin
    )
    CONFIRMED = "confirmed"  # the portal confirmed the install: ONAPPINSTALL, or the frame carried its token
    REFRESH_REFUSED = "refresh_refused"  # the OAuth server answered invalid_grant to our refresh token
    UNINSTALL = "uninstall"  # ONAPPUNINSTALL: the stored application_token only, which any user may hold
    VOUCHED = "vouched"  # worker: the stored tokens work and app.info says installed
    DISOWNED = "disowned"  # worker: the platform refuses the stored tokens (the app is gone)
    PURGE = "purge"  # 30 days after an uninstall


@dataclass(frozen=True)
class Transition:
    """Where a verified message may move a portal, and what of it the message may overwrite."""

    to: frozenset[PortalState | None]  # None: no row (deleted)
    overwrites: frozenset[str] = frozenset()  # "tokens", "application_token", "installed_by"


S = PortalState
INSTALLER_WRITES = frozenset({"tokens", "application_token", "installed_by"})
_INSTALL = Transition(frozenset({S.INSTALLING, S.ACTIVE}), INSTALLER_WRITES)
_ACTIVE = frozenset({S.ACTIVE})
# The installation's state machine (README, Security). A pair not listed is refused. An uninstalled (or
# deleted) portal that a verified administrator installs again starts as a fresh row of a new generation; an
# uninstalling one is first settled with the platform (settle_uninstall), then moves like its outcome.
TRANSITIONS: dict[tuple[PortalState | None, Message], Transition] = {
    (None, Message.ADMIN_INSTALL): Transition(frozenset({S.INSTALLING}), INSTALLER_WRITES),
    (S.INSTALLING, Message.ADMIN_INSTALL): _INSTALL,
    (S.ACTIVE, Message.ADMIN_INSTALL): Transition(_ACTIVE, INSTALLER_WRITES),
    (S.NEEDS_REINSTALL, Message.ADMIN_INSTALL): _INSTALL,
    (S.UNINSTALLED, Message.ADMIN_INSTALL): Transition(frozenset({S.INSTALLING}), INSTALLER_WRITES),
    (S.INSTALLING, Message.CONFIRMED): Transition(_ACTIVE),
    (S.ACTIVE, Message.CONFIRMED): Transition(_ACTIVE),
    (S.NEEDS_REINSTALL, Message.CONFIRMED): Transition(_ACTIVE),
    (S.ACTIVE, Message.REFRESH_REFUSED): Transition(frozenset({S.NEEDS_REINSTALL})),
    (S.INSTALLING, Message.REFRESH_REFUSED): Transition(frozenset({S.NEEDS_REINSTALL})),
    (S.NEEDS_REINSTALL, Message.REFRESH_REFUSED): Transition(frozenset({S.NEEDS_REINSTALL})),
    (S.INSTALLING, Message.UNINSTALL): Transition(frozenset({S.UNINSTALLING})),
    (S.ACTIVE, Message.UNINSTALL): Transition(frozenset({S.UNINSTALLING})),
    (S.NEEDS_REINSTALL, Message.UNINSTALL): Transition(frozenset({S.UNINSTALLING})),
    (S.UNINSTALLING, Message.UNINSTALL): Transition(frozenset({S.UNINSTALLING})),
    (S.UNINSTALLING, Message.VOUCHED): Transition(_ACTIVE),
    (S.UNINSTALLING, Message.DISOWNED): Transition(
        frozenset({S.UNINSTALLED, None}), frozenset({"tokens", "application_token"})
    ),
    (S.UNINSTALLED, Message.PURGE): Transition(frozenset({None})),
}


class RefusedTransition(Exception):
    """A message that may not move the portal from its state (TRANSITIONS); nothing was changed."""


def transition(state: PortalState | None, message: Message, to: PortalState | None) -> Transition:
    """The row of TRANSITIONS allowing `message` to move `state` to `to`; RefusedTransition otherwise."""
    allowed = TRANSITIONS.get((state, message))
    if allowed is None or to not in allowed.to:
        raise RefusedTransition(f"{message.value} may not move a portal from {state} to {to}")
    return allowed


def next_generation(previous: int | None, now: datetime) -> int:
    """A new installation's generation: above the last one, and above any earlier row's (the clock, in ms)."""
    return max((previous or 0) + 1, int(now.timestamp() * 1000))


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
    """Write a verified administrator's install (portals.trust): an uninstalled portal starts clean, anew."""
    portal = session.scalar(select(Portal).where(Portal.member_id == info.member_id))
    now = datetime.now(UTC)
    previous = portal.generation if portal is not None else None
    if portal is not None and portal.state is PortalState.UNINSTALLED:
        forget_portal(session, portal)
        portal = None
    state = portal.state if portal is not None else None
    target = _install_target(portal)
    transition(state, Message.ADMIN_INSTALL, target)
    if portal is None:
        portal = Portal(member_id=info.member_id, state=target, generation=next_generation(previous, now))
        session.add(portal)
    portal.state = target
    portal.domain, portal.client_endpoint = info.domain, info.client_endpoint
    portal.scope, portal.app_status, portal.app_version = info.scope, info.status, info.version
    portal.installed_by_user_id = user_id or info.user_id
    portal.uninstalled_at = None
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


def _install_target(portal: Portal | None) -> PortalState:
    """Where an administrator's install leaves a portal: a confirmed one that lost its pair is whole again."""
    if portal is None:
        return S.INSTALLING
    if portal.state is S.NEEDS_REINSTALL and portal.application_token_sha256:
        return S.ACTIVE
    return portal.state if portal.state in (S.INSTALLING, S.ACTIVE) else S.INSTALLING


def activate(portal: Portal, *, version: str | None = None) -> None:
    """The portal confirmed the install (ONAPPINSTALL, or the frame carried its application_token)."""
    transition(portal.state, Message.CONFIRMED, S.ACTIVE)
    portal.state = PortalState.ACTIVE
    if version:
        portal.app_version = version


def request_uninstall(portal: Portal, *, clean: bool, now: datetime) -> None:
    """ONAPPUNINSTALL: destroy nothing yet; the worker asks the platform first (settle_uninstall)."""
    transition(portal.state, Message.UNINSTALL, S.UNINSTALLING)
    portal.state = PortalState.UNINSTALLING
    # A CLEAN request is never weakened by a later non-CLEAN one, nor the reverse made stronger by a replay.
    portal.uninstall_clean = bool(clean or portal.uninstall_clean)
    portal.uninstall_requested_at = portal.uninstall_requested_at or now


def keep_installation(portal: Portal) -> None:
    """The platform still vouches for the installation: the uninstall request was not the portal's."""
    transition(portal.state, Message.VOUCHED, S.ACTIVE)
    portal.state = PortalState.ACTIVE
    portal.uninstall_clean = None
    portal.uninstall_requested_at = None


def uninstall(session: AnySession, portal: Portal, *, clean: bool) -> None:
    """The platform disowns the tokens: with CLEAN delete every row of the portal, else keep them 30 days."""
    transition(portal.state, Message.DISOWNED, None if clean else S.UNINSTALLED)
    if clean:
        forget_portal(session, portal)
        return
    erase_tokens(portal)
    portal.application_token_sha256 = None
    portal.state = PortalState.UNINSTALLED
    portal.uninstalled_at = datetime.now(UTC)
    portal.uninstall_clean = None
    portal.uninstall_requested_at = None


# Every table keyed by member_id; a clean uninstall or the purge empties them all for the portal.
PORTAL_ROWS = (
    Activity,
    InboxEvent,
    InboxTally,
    EnrichmentRule,
    ActivityTemplate,
    TemplateSeed,
    ApiKey,
    ApiRequest,
)


def forget_portal(session: AnySession, portal: Portal) -> None:
    """Delete the portal and everything the app kept about it."""
    for kept in PORTAL_ROWS:
        session.execute(delete(kept).where(kept.member_id == portal.member_id))
    # The bucket through the ORM (store.find loads it with the portal; else it is read here): a bulk DELETE
    # would leave a loaded bucket for the portal's cascade to delete a second time.
    if portal.rate_limit is not None:
        session.delete(portal.rate_limit)
    session.delete(portal)
    session.flush()


def purge(session: AnySession, *, now: datetime, keep: timedelta = KEEP_UNINSTALLED) -> list[str]:
    """Delete portals uninstalled longer ago than `keep`; return their member_ids."""
    query = select(Portal).where(Portal.state == PortalState.UNINSTALLED, Portal.uninstalled_at < now - keep)
    gone = list(session.scalars(query))
    for portal in gone:
        transition(portal.state, Message.PURGE, None)
        forget_portal(session, portal)
    return [portal.member_id for portal in gone]
