"""Who may install: the OAuth server vouches for the token, then the portal says its user is an administrator.

Every install, reinstall or repair (the installer frame, ONAPPINSTALL on /events or /install, ONAPPUPDATE)
passes `verified_install` before anything is written. A frame's AUTH_ID/REFRESH_ID are given to every user
who opens the app, and APPLICATION_TOKEN too on newer portals (notes §1.2), so a valid token for the right
portal and app proves nothing about the right to install: only the portal's own `profile` → ADMIN, asked
with that same token at an address we trust (the stored portal's, or the one app.info on B24_OAUTH_URL names),
does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import Engine

from app.bitrix24.client import Client, Credentials, FixedCredentials
from app.bitrix24.errors import AuthError, HostNotAllowed
from app.bitrix24.oauth import AppInfo, OAuthClient
from app.bitrix24.retry import RetryPolicy
from app.extensions import AnySession, db
from app.inputs import as_id
from app.models import Portal, PortalState
from app.portals import throttle
from app.portals.lifecycle import Claim, NotVerified, verify
from app.portals.ratelimit import DatabaseRateLimiter, limiter_for

ADMIN_VALUES = (True, "Y", "1", 1)


class NotAdministrator(NotVerified):
    """The token is genuine, but its user does not administer the portal: nothing may be stored."""


@dataclass(frozen=True)
class Installer:
    """A verified installation request: what the OAuth server said, and the administrator behind it."""

    info: AppInfo
    user_id: int


def verified_install(
    oauth: OAuthClient,
    claim: Claim,
    *,
    allowed_hosts: tuple[str, ...],
    stored: Portal | None,
    limiter: DatabaseRateLimiter | None = None,
) -> Installer:
    """app.info on the configured OAuth server, then `profile` with the same token: ADMIN, or NotVerified."""
    info = verify(oauth, claim, allowed_hosts=allowed_hosts)
    endpoint = trusted_endpoint(info, stored)
    user_id = administrator(claim.access_token, endpoint, oauth=oauth, limiter=limiter)
    return Installer(info, user_id)


@dataclass(frozen=True)
class Asker:
    """Where an install request came from, and the database its budgets live in."""

    engine: Engine
    session: AnySession
    address: str  # the client's address: refused tokens count against it as against the portal


def request_asker() -> Asker:
    """This request's client address and the app's database (its refused-token budgets live there)."""
    return Asker(db.engine, db.session, request.remote_addr or "")


def throttled_install(
    oauth: OAuthClient, claim: Claim, *, allowed_hosts: tuple[str, ...], stored: Portal | None, asker: Asker
) -> Installer:
    """`verified_install` within the refused-token budgets (throttle); its `profile` takes a bucket slot.

    A non-administrator's genuine token is refused like a made-up one: both count against the portal and the
    client address, so neither a flood of fakes nor a user's own token replayed can spend the portal's bucket.
    Raises throttle.Throttled when a budget is full (nothing is sent).
    """
    budgets = throttle.budgets(claim.member_id, asker.address)
    reservation = throttle.reserve(asker.engine, budgets, session=asker.session)
    # A portal we serve has a bucket to respect; an uninstalled row is about to be forgotten (fresh install).
    serving = stored if stored is not None and stored.state is not PortalState.UNINSTALLED else None
    limiter = limiter_for(asker.engine, serving, interactive=True) if serving is not None else None
    try:
        installer = verified_install(
            oauth, claim, allowed_hosts=allowed_hosts, stored=stored, limiter=limiter
        )
    except NotVerified:
        reservation.keep()
        raise
    except BaseException:
        reservation.release()
        raise
    reservation.release()
    return installer


def trusted_endpoint(info: AppInfo, stored: Portal | None) -> str:
    """The stored portal's REST address, else the one the OAuth server vouched for (never a request's)."""
    if stored is not None and stored.state is not PortalState.UNINSTALLED and stored.client_endpoint:
        return stored.client_endpoint
    return info.client_endpoint


def administrator(
    access_token: str,
    endpoint: str,
    *,
    oauth: OAuthClient,
    limiter: DatabaseRateLimiter | None = None,
) -> int:
    """The token's user id, if the portal says that user is an administrator; NotVerified otherwise.

    `endpoint` is the stored portal's or the one app.info on the OAuth server just named: vouched for, so
    it is called by the public-address rule when it is not on the operator's list.
    """
    client = Client(
        FixedCredentials(Credentials(access_token, endpoint, version=0)),
        oauth.transport.vouching(endpoint),
        limiter=limiter,
        retry=RetryPolicy(interactive=True),
        oauth=oauth,
    )
    try:
        profile = client.call("profile")
    except AuthError as error:
        raise NotVerified(f"the portal refused the token ({error.code or 'no answer'})") from None
    except HostNotAllowed as error:
        # The OAuth server named an address the public-address rule refuses: nothing was sent there.
        raise NotVerified(f"the portal's address may not be called ({error.description})") from None
    return admin_id(profile)


def admin_id(profile: Any) -> int:
    """The user id of a `profile` answer whose ADMIN is true; NotAdministrator for anyone else."""
    user_id = as_id(profile.get("ID")) if isinstance(profile, Mapping) else None
    if user_id is None:
        raise NotVerified("the portal did not say whose token this is")
    if profile.get("ADMIN") not in ADMIN_VALUES:
        raise NotAdministrator(f"user {user_id} is not an administrator of the portal")
    return user_id
