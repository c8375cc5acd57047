"""Wires a portal to a ready Bitrix24 client: vault credentials, the shared limiter, configured retries."""

from __future__ import annotations

from flask import current_app

from app.bitrix24.client import Client, Credentials, FixedCredentials
from app.bitrix24.oauth import OAuthClient
from app.bitrix24.retry import RetryPolicy
from app.bitrix24.transport import Transport
from app.extensions import db
from app.metrics import observe_call, observe_refresh
from app.models import Portal
from app.portals.credentials import PortalCredentials
from app.portals.ratelimit import limiter_for


def transport() -> Transport:
    """The transport restricted to B24_ALLOWED_HOSTS."""
    return Transport(allowed_hosts=current_app.config["B24_ALLOWED_HOSTS"])


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
        transport(),
        limiter=limiter_for(db.engine, portal, interactive=interactive),
        retry=RetryPolicy(interactive=interactive),
        observe=observe_call,
    )


def client_for(portal: Portal, *, interactive: bool = False) -> Client:
    """A client calling `portal` as the app; `interactive` fails fast on 429 since a person is waiting."""
    return Client(
        credentials_for(portal.member_id),
        transport(),
        limiter=limiter_for(db.engine, portal, interactive=interactive),
        retry=RetryPolicy(interactive=interactive),
        observe=observe_call,
    )
