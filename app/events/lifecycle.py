"""ONAPPINSTALL, ONAPPUPDATE, ONAPPUNINSTALL: the portal telling us about the installation itself."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from werkzeug.exceptions import BadRequest, ServiceUnavailable, TooManyRequests, Unauthorized

from app import metrics
from app.bitrix24.errors import Bitrix24Error
from app.bitrix24.hosts import callable_url, valid_netloc
from app.extensions import db
from app.inputs import MAX_ID, bounded_int
from app.models import Portal, utcnow
from app.portals import store, throttle
from app.portals.connections import oauth_client
from app.portals.lifecycle import Claim, NotVerified, activate, request_uninstall, store_installation
from app.portals.setup import register_portal
from app.portals.trust import request_asker, throttled_install
from app.portals.uninstalls import settle_before_install

log = logging.getLogger(__name__)
REFUSED = "The event could not be verified."


def on_install(event: dict[str, Any]) -> Portal:
    """Store the tokens and application_token, activate, and (re)register: also serves API-only installs."""
    auth = _auth(event)
    return _install_verified(event, auth, application_token=_required(auth, "application_token"))


def on_update(event: dict[str, Any]) -> Portal:
    """A new version: handlers the old one bound are gone (notes §1.4), so register again."""
    auth = _auth(event)
    authenticate(auth)  # an update must come from the installation we know
    return _install_verified(event, auth, application_token=str(auth["application_token"]))


def on_uninstall(event: dict[str, Any]) -> None:
    """Verified by the stored application_token alone, which any user may hold: the worker confirms it.

    The event carries no access token (notes §1.6); nothing is destroyed until the platform refuses the
    stored pair (app.portals.uninstalls).
    """
    auth = _auth(event)
    portal = authenticate(auth)
    request_uninstall(portal, clean=str(_data(event).get("CLEAN", "0")) == "1", now=utcnow())
    db.session.commit()


def authenticate(auth: dict[str, Any]) -> Portal:
    """Find the portal by member_id and compare the application_token in constant time; 401 otherwise."""
    portal = store.find(str(auth.get("member_id", "")))
    if portal is None or not store.application_token_matches(portal, str(auth.get("application_token", ""))):
        raise Unauthorized(REFUSED)
    return portal


def _install_verified(event: dict[str, Any], auth: dict[str, Any], *, application_token: str) -> Portal:
    """Verify the event's own token with the OAuth server, store it, activate, and register again."""
    portal = _store_verified(auth, application_token=application_token)
    activate(portal, version=_data(event).get("VERSION"))
    db.session.commit()
    _register(portal)
    return portal


def _store_verified(auth: dict[str, Any], *, application_token: str) -> Portal:
    """An administrator's token, vouched for by the OAuth server and the portal (portals.trust), or None."""
    claim = Claim(_required(auth, "access_token"), _required(auth, "member_id"), _required(auth, "domain"))
    refresh_token = _required(auth, "refresh_token")
    _check_hosts(auth)
    stored = store.find(claim.member_id)
    oauth, vault = oauth_client(), current_app.extensions["vault"]
    try:
        installer = throttled_install(
            oauth,
            claim,
            allowed_hosts=current_app.config["B24_ALLOWED_HOSTS"],
            stored=stored,
            asker=request_asker(),
        )
    except throttle.Throttled as throttled:
        metrics.count_throttled(throttled.scope)  # a counter, not a log line: a flood must not flood the log
        raise TooManyRequests(
            f"Too many unverified install events for this portal or from this address; "
            f"try again in {throttled.retry_after} s.",
            retry_after=throttled.retry_after,
        ) from None
    except NotVerified as error:
        log.warning("lifecycle event refused for member_id=%s: %s", claim.member_id, error.reason)
        raise Unauthorized(REFUSED) from None
    except Bitrix24Error as error:
        log.warning("lifecycle event for member_id=%s not verified: %s", claim.member_id, error)
        raise ServiceUnavailable("The portal could not be asked who sent the event.") from None
    if stored is not None:
        settle_before_install(db.session, oauth, vault, stored)
    return store_installation(
        db.session,
        vault,
        installer.info,
        access_token=claim.access_token,
        refresh_token=refresh_token,
        expires_in=_int(auth.get("expires_in"), 3600),
        application_token=application_token,
        user_id=installer.user_id,
    )


def _check_hosts(auth: dict[str, Any]) -> None:
    """The event's own hosts follow the one grammar, or nothing is asked of anyone."""
    if not valid_netloc(str(auth.get("domain") or "")):
        raise BadRequest("The event's auth[domain] is not a host name (letters, digits, dots, hyphens).")
    endpoint = auth.get("client_endpoint")
    if endpoint and not callable_url(str(endpoint), current_app.config["B24_ALLOWED_HOSTS"]):
        raise BadRequest(
            "The event's auth[client_endpoint] is not an address this app may call "
            "(an allowed host, or an https:// address by name)."
        )


def _register(portal: Portal) -> None:
    report = register_portal(portal)
    db.session.commit()
    if not report.ok:
        log.warning(
            "portal %s: registration incomplete: %s",
            portal.member_id,
            ", ".join(f"{s.kind} {s.name}: {s.error}" for s in report.failed),
        )


def _auth(event: dict[str, Any]) -> dict[str, Any]:
    auth = event.get("auth")
    if not isinstance(auth, dict):
        raise Unauthorized(REFUSED)
    return auth


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def _required(auth: dict[str, Any], name: str) -> str:
    value = auth.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"The event's auth block lacks {name}.")
    return value


def _int(value: Any, default: int) -> int:
    """A count or id from the event; `default` when it is none or beyond any real one (app.inputs)."""
    return bounded_int(value, default, low=0, high=MAX_ID)
