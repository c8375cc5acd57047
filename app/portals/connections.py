"""Wires a portal to a ready Bitrix24 client: vault credentials, the shared limiter, configured retries."""

from __future__ import annotations

from flask import current_app

from app.bitrix24.client import Client, Credentials, FixedCredentials
from app.bitrix24.oauth import OAuthClient
from app.bitrix24.pinning import system_resolver
from app.bitrix24.retry import RetryPolicy
from app.bitrix24.transport import Transport
from app.extensions import db
from app.metrics import observe_call, observe_refresh
from app.models import Portal
from app.portals.credentials import PortalCredentials
from app.portals.ratelimit import limiter_for


def transport(portal: Portal | None = None) -> Transport:
    """The transport restricted to B24_ALLOWED_HOSTS and, given a portal, the address stored for it.

    A stored client_endpoint was vouched for by the OAuth server (app.info at install, its token answers,
    a move it confirmed), so the portal's own transport may call it by the public-address rule.
    B24_RESOLVER is for tests only (a name of theirs mapped to the sandbox); it is never read from the
    environment.
    """
    config = current_app.config
    plain = Transport(
        allowed_hosts=config["B24_ALLOWED_HOSTS"], resolver=config.get("B24_RESOLVER") or system_resolver
    )
    return plain.vouching(portal.client_endpoint) if portal is not None and portal.client_endpoint else plain


def oauth_client() -> OAuthClient:
    """The configured OAuth server (never one named by a request)."""
    config = current_app.config
    return OAuthClient(
        config["B24_OAUTH_URL"], config["B24_CLIENT_ID"], config["B24_CLIENT_SECRET"], transport()
    )


def credentials_for(member_id: str) -> PortalCredentials:
    """The vault-backed credentials of a portal."""
    vault = current_app.extensions["vault"]
    return PortalCredentials(db.engine, vault, oauth_client(), member_id, on_refresh=observe_refresh)


def user_client(portal: Portal, access_token: str, *, interactive: bool = True) -> Client:
    """A client acting as a user with the token from their frame POST, on the stored portal's address only."""
    credentials = FixedCredentials(Credentials(access_token, portal.client_endpoint, version=0))
    return Client(
        credentials,
        transport(portal),
        limiter=limiter_for(db.engine, portal, interactive=interactive),
        retry=RetryPolicy(interactive=interactive),
        observe=observe_call,
        oauth=oauth_client(),
    )


def client_for(portal: Portal, *, interactive: bool = False) -> Client:
    """A client calling `portal` as the app; `interactive` fails fast on 429 since a person is waiting."""
    return Client(
        credentials_for(portal.member_id),
        transport(portal),
        limiter=limiter_for(db.engine, portal, interactive=interactive),
        retry=RetryPolicy(interactive=interactive),
        observe=observe_call,
        oauth=oauth_client(),
    )
