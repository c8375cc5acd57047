"""The form the portal posts into the app's iframe (notes §1.2) and the init data BX24.js asks for."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sandbox.state import InstalledApp, Portal, Sandbox, User
from sandbox.tokens import issue_token, server_endpoint

# notes §1.1: REST_AL_ERROR_APP_INSTALL_NOT_FINISH
NOT_INSTALLED = "The application is not fully installed yet"


class FrameRefused(Exception):
    """The portal shows a message instead of the app (e.g. a non-admin before installFinish)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class FrameOpen:
    """What the slider needs: where to post, what to post, and the getInitData answer."""

    url: str
    fields: dict[str, str]
    init: dict[str, Any]
    app_sid: str
    installer: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON answer of /_ui/frame."""
        return {
            "url": self.url,
            "fields": self.fields,
            "init": self.init,
            "app_sid": self.app_sid,
            "installer": self.installer,
            **self.extra,
        }


def php_json(value: dict[str, Any]) -> str:
    """Encode like PHP json_encode: ASCII only, `/` escaped as `\\/` (notes §1.2)."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def stringify(options: dict[str, Any]) -> dict[str, Any]:
    """Make option values strings, as they are after the portal's form round-trip (notes §3.5)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, bool):
            out[str(key)] = "1" if value else ""
        elif isinstance(value, int | float):
            out[str(key)] = str(value)
        elif value is None:
            out[str(key)] = ""
        else:
            out[str(key)] = value if isinstance(value, str | dict | list) else str(value)
    return out


def target_url(app: InstalledApp, user: User, placement: str, handler: str | None) -> tuple[str, bool]:
    """Pick the URL to open: installer, main page or a placement handler (notes §1.1, §3.2)."""
    if placement == "DEFAULT":
        if app.api_only:
            raise FrameRefused("This application has no user interface", 400)
        if not app.installed and app.install_url:
            # notes §1.1 (component.php): URL_INSTALL while INSTALLED=N; non-admins get an error
            if not user.is_admin:
                raise FrameRefused(NOT_INSTALLED)
            return app.install_url, True
        return app.main_url, False
    if not app.installed:
        raise FrameRefused(NOT_INSTALLED)  # notes §1.1: widgets are not shown before installFinish
    for row in app.placements:
        if row.get("placement") == placement and (handler is None or row.get("handler") == handler):
            return str(row["handler"]), False
    raise FrameRefused(f"Placement {placement} is not bound by this application", 404)


def open_frame(
    sandbox: Sandbox,
    portal: Portal,
    app: InstalledApp,
    user: User,
    *,
    lang: str,
    placement: str = "DEFAULT",
    handler: str | None = None,
    options: dict[str, Any] | None = None,
) -> FrameOpen:
    """Build the §1.2 form for one open of the app: a fresh token for this user and a new APP_SID."""
    placement = (placement or "DEFAULT").upper()
    url, installer = target_url(app, user, placement, handler)
    sid = secrets.token_hex(16)  # notes §1.2: 32 hex, new per render
    query = {"DOMAIN": portal.domain, "PROTOCOL": "1" if portal.protocol == "https" else "0", "LANG": lang}
    query["APP_SID"] = sid
    token = issue_token(sandbox, portal, app, user.id)
    opts = stringify(options or {})
    fields = {
        "AUTH_ID": token.access_token,
        "AUTH_EXPIRES": str(int(sandbox.setting("token_lifetime"))),  # relative seconds (notes §1.2)
        "REFRESH_ID": token.refresh_token,
        "member_id": portal.member_id,
        "status": app.status,
        "PLACEMENT": placement,
    }
    if opts:  # notes §1.2: only sent if non-empty
        fields["PLACEMENT_OPTIONS"] = php_json(opts)
    if sandbox.setting("frame_extra_fields"):  # notes §1.2 "Disagreement on extra fields": newest docs
        fields["SERVER_ENDPOINT"] = server_endpoint(sandbox)
        fields["APPLICATION_TOKEN"] = app.application_token
        fields["APPLICATION_SCOPE"] = ",".join(app.scope)
    full_url = url + ("&" if "?" in url else "?") + urlencode(query)
    init = init_data(portal, app, user, lang=lang, fields=fields, options=opts, installer=installer)
    return FrameOpen(url=full_url, fields=fields, init=init, app_sid=sid, installer=installer)


def init_data(
    portal: Portal,
    app: InstalledApp,
    user: User,
    *,
    lang: str,
    fields: dict[str, str],
    options: dict[str, Any],
    installer: bool,
) -> dict[str, Any]:
    """Answer BX24's getInitData with the keys applayout.js sends (notes §1.2)."""
    return {
        "LANG": lang,
        "DOMAIN": portal.domain,
        "PROTOCOL": 1 if portal.protocol == "https" else 0,
        "PATH": f"/marketplace/app/{app.numeric_id}/",
        "AUTH_ID": fields["AUTH_ID"],
        "AUTH_EXPIRES": int(fields["AUTH_EXPIRES"]),
        "REFRESH_ID": fields["REFRESH_ID"],
        "MEMBER_ID": portal.member_id,
        "FIRST_RUN": installer,
        "IS_ADMIN": user.is_admin,
        "INSTALL": installer,
        "USER_OPTIONS": [],
        "APP_OPTIONS": [],
        "PLACEMENT": fields["PLACEMENT"],
        "PLACEMENT_OPTIONS": options,
    }
