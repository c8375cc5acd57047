"""The form a portal posts into the app's frame (installer, main page, placements): parsed, untrusted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Request, current_app
from werkzeug.exceptions import BadRequest

from app.bitrix24.hosts import host_allowed, split_netloc, vouchable_host
from app.inputs import JsonRefused, bounded_int, load_json

MAX_OPTIONS_LENGTH = 8192
MAX_AUTH_EXPIRES = 86400  # relative seconds (notes §1.2: 3600); a frame token never lives a day


@dataclass(frozen=True)
class Frame:
    """Protocol notes §1.2: query DOMAIN, PROTOCOL, LANG, APP_SID; body AUTH_ID … PLACEMENT_OPTIONS, more."""

    domain: str
    protocol: str  # "https" or "http", from PROTOCOL=1|0
    lang: str
    app_sid: str
    auth_id: str
    auth_expires: int
    refresh_id: str
    member_id: str
    status: str
    placement: str
    options: dict[str, Any] = field(default_factory=dict)
    server_endpoint: str = ""  # newest docs only: read if present, never required
    application_token: str = ""
    application_scope: str = ""

    @property
    def origin(self) -> str:
        return f"{self.protocol}://{self.domain}"


def parse_frame(request: Request) -> Frame:
    """Read the frame POST, refusing what no portal sends; nothing here is verified yet."""
    query, form = request.args, request.form
    domain = query.get("DOMAIN", "").strip().lower()
    _check_domain(domain, _scheme(query))
    required = {name: form.get(name, "").strip() for name in ("AUTH_ID", "member_id")}
    if not all(required.values()):
        raise BadRequest(
            "The portal's sign-in data is missing. Close this window and open the app from Bitrix24 again."
        )
    return Frame(
        domain=domain,
        protocol=_scheme(query),
        lang=(query.get("LANG") or "en")[:8].lower(),
        app_sid=query.get("APP_SID", "")[:64],
        auth_id=required["AUTH_ID"],
        auth_expires=bounded_int(form.get("AUTH_EXPIRES"), 3600, low=0, high=MAX_AUTH_EXPIRES),
        refresh_id=form.get("REFRESH_ID", "").strip(),
        member_id=required["member_id"],
        status=form.get("status", "")[:2],
        placement=(form.get("PLACEMENT") or "DEFAULT").upper()[:64],
        options=parse_options(form.get("PLACEMENT_OPTIONS", "")),
        server_endpoint=form.get("SERVER_ENDPOINT", ""),
        application_token=form.get("APPLICATION_TOKEN", ""),
        application_scope=form.get("APPLICATION_SCOPE", ""),
    )


def _check_domain(domain: str, scheme: str) -> None:
    """DOMAIN is an allowed host, or a host name the OAuth server may vouch for (checked with the token).

    An on-premise portal is on its owner's own domain: which one is this installation's is decided by
    app.info on the configured OAuth server, never by the frame (a name it does not vouch for gets 403).
    """
    if domain and host_allowed(domain, current_app.config["B24_ALLOWED_HOSTS"], scheme=scheme):
        return
    split = split_netloc(domain, scheme=scheme)
    if split is None or not vouchable_host(split[0]):
        raise BadRequest(
            "This page must be opened from your Bitrix24 portal (the portal address is not a host name)."
        )
    if scheme != "https":
        raise BadRequest(
            "This portal is served over plain http. The app calls an on-premise portal over https only; "
            "ask the app's operator to list it in B24_ALLOWED_HOSTS if it must stay on http."
        )


def parse_options(raw: str) -> dict[str, Any]:
    """PLACEMENT_OPTIONS is a JSON string; junk such as {"any":"28\\/"} or a broken string becomes {}."""
    if not raw or len(raw) > MAX_OPTIONS_LENGTH:
        return {}
    try:
        options = load_json(raw)
    except JsonRefused:
        return {}
    return dict(options) if isinstance(options, Mapping) else {}


def _scheme(query: Mapping[str, str]) -> str:
    return "http" if query.get("PROTOCOL") == "0" else "https"
