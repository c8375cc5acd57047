"""The OAuth server (B24_OAUTH_URL, never one from a request): code exchange, refresh, trusted app.info."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from app.bitrix24.errors import ServerError, TransportError, UnexpectedAnswer
from app.bitrix24.hosts import callable_url
from app.bitrix24.transport import Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenGrant:
    """A token response (notes §4.3); `domain` there is the OAuth server, so the portal is client_endpoint."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    member_id: str
    client_endpoint: str
    server_endpoint: str
    scope: str
    status: str
    user_id: int | None


@dataclass(frozen=True)
class AppInfo:
    """app.info as the OAuth server answers it (notes §7): who the token belongs to."""

    client_id: str
    member_id: str
    domain: str
    client_endpoint: str
    installed: bool
    status: str
    scope: str
    version: str
    user_id: int | None


@dataclass(frozen=True)
class OAuthClient:
    base_url: str  # e.g. https://oauth.bitrix.info
    client_id: str
    client_secret: str
    transport: Transport
    retry_pause: float = 0.5  # before asking once more after a 5xx or no answer

    def refresh(self, refresh_token: str, *, now: datetime | None = None) -> TokenGrant:
        """Trade a (single-use) refresh token for a new pair; once more if the server failed or was silent."""
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        try:
            data = self._token(params)
        except (ServerError, TransportError):
            # Asking again is never worse: had the first attempt rotated the pair, its answer is lost anyway,
            # and the second gets invalid_grant, as the next refresh would.
            time.sleep(self.retry_pause)
            data = self._token(params)
        return self._checked(_grant(data, now or datetime.now(UTC)))

    def exchange_code(self, code: str, *, now: datetime | None = None) -> TokenGrant:
        """Trade an authorization code (valid 30 s) for a token pair."""
        data = self._token({"grant_type": "authorization_code", "code": code})
        return self._checked(_grant(data, now or datetime.now(UTC)))

    def app_info(self, access_token: str) -> AppInfo:
        """Ask the OAuth server which app, portal and user a token belongs to."""
        # A form POST, not the documented GET ?auth=: the token stays out of URLs and access logs.
        data = self.transport.post_form(
            f"{self.base_url}/rest/app.info", {"auth": access_token}, method="app.info"
        )
        return _app_info(data.get("result"))

    def _checked(self, grant: TokenGrant) -> TokenGrant:
        """Drop a `client_endpoint` neither allowed nor vouchable (callable_url); the tokens stay usable."""
        if not grant.client_endpoint or callable_url(grant.client_endpoint, self.transport.allowed_hosts):
            return grant
        log.warning("member_id=%s: the token answer's client_endpoint is refused, ignored", grant.member_id)
        return replace(grant, client_endpoint="")

    def _token(self, params: dict[str, str]) -> dict[str, Any]:
        query = {**params, "client_id": self.client_id, "client_secret": self.client_secret}
        return self.transport.post_form(f"{self.base_url}/oauth/token/", query, method="oauth.token")


def _grant(data: dict[str, Any], now: datetime) -> TokenGrant:
    try:
        expires_in = int(data.get("expires_in", 3600))
        return TokenGrant(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            expires_at=now + timedelta(seconds=expires_in),
            member_id=str(data["member_id"]),
            client_endpoint=str(data["client_endpoint"]),
            server_endpoint=str(data.get("server_endpoint", "")),
            scope=str(data.get("scope", "")),
            status=str(data.get("status", "")),
            user_id=_optional_int(data.get("user_id")),
        )
    except (KeyError, TypeError, ValueError):
        raise UnexpectedAnswer(
            "ERROR_UNEXPECTED_ANSWER", "the token response lacks a field", method="oauth.token"
        ) from None


def _app_info(result: Any) -> AppInfo:
    install = result.get("install") if isinstance(result, dict) else None
    if not isinstance(install, dict):
        raise UnexpectedAnswer("ERROR_UNEXPECTED_ANSWER", "app.info has no install block", method="app.info")
    return AppInfo(
        client_id=str(result.get("client_id", "")),
        member_id=str(install.get("member_id", "")),
        domain=str(install.get("domain", "")),
        client_endpoint=str(install.get("client_endpoint", "")),
        installed=bool(install.get("installed")),
        status=str(install.get("status", "")),
        scope=str(install.get("scope", result.get("scope", ""))),
        version=str(install.get("version", "")),
        user_id=_optional_int(result.get("user_id")),
    )


def _optional_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
