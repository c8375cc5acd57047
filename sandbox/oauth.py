"""The OAuth server: /oauth/authorize/ on portals; /oauth/token/ and /rest/app.info on its host (§4, §7)."""

from __future__ import annotations

import hmac
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, request

from sandbox.core import RestError
from sandbox.dispatch import method_key
from sandbox.state import IssuedToken, Portal, Sandbox
from sandbox.tokens import issue_token, lookup, oauth_domain, refresh, token_response
from sandbox.web import current_portal, current_sandbox, error_response, is_oauth_host, json_response

bp = Blueprint("oauth", __name__)


def oauth_error(code: str, description: str, status: int = 400) -> Response:
    """Render an OAuth-server error: {"error", "error_description"} (notes §4.5)."""
    return json_response({"error": code, "error_description": description}, status)


@bp.route("/oauth/authorize/", methods=["GET"])
@bp.route("/oauth/authorize", methods=["GET"])
def authorize() -> Response:
    """Step 1 of the code flow: redirect to the app's redirect URI with a 30 s code (notes §4.1)."""
    sandbox = current_sandbox()
    portal = current_portal()
    if portal is None:
        return oauth_error("PORTAL_DELETED", "Portal was deleted", 404)
    client_id = request.args.get("client_id", "")
    reg = sandbox.registrations.get(client_id)
    app = portal.apps.get(client_id)
    if reg is None or app is None or not app.installed:
        # notes §4.1: for an app that is not installed the authorization ends with an error, no redirect
        return Response("Application not installed", status=400, mimetype="text/plain")
    user_id = _int(request.args.get("user_id"), portal.admin.id)
    if user_id not in portal.users:
        return Response("Unknown user", status=400, mimetype="text/plain")
    code = secrets.token_hex(35)
    with sandbox.lock:
        sandbox.auth_codes[code] = {
            "client_id": client_id,
            "member_id": portal.member_id,
            "user_id": user_id,
            "expires_at": time.time() + float(sandbox.setting("code_lifetime")),
        }
    query = {
        "code": code,
        "state": request.args.get("state", ""),
        "domain": portal.domain,
        "member_id": portal.member_id,
        "scope": ",".join(app.scope),
        "server_domain": oauth_domain(sandbox),
    }
    return redirect(reg.redirect_uri + ("&" if "?" in reg.redirect_uri else "?") + urlencode(query), 302)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


@bp.route("/oauth/token/", methods=["GET", "POST"])
@bp.route("/oauth/token", methods=["GET", "POST"])
def token() -> Response:
    """Exchange a code or a refresh token for a token pair (notes §4.1-§4.5)."""
    if not is_oauth_host():
        return oauth_error("invalid_request", "Use the OAuth server host", 404)
    sandbox = current_sandbox()
    params = {**request.args.to_dict(), **request.form.to_dict()}
    try:
        with sandbox.lock:
            issued = _grant(sandbox, params)
    except RestError as error:
        log_grant(sandbox, params, member_id=_claimed_member(sandbox, params), error=error.code)
        return oauth_error(error.code, error.description, error.status)
    log_grant(sandbox, params, member_id=issued.member_id, error=None)
    return json_response(token_response(sandbox, issued))


def log_grant(sandbox: Sandbox, params: dict[str, str], *, member_id: str, error: str | None) -> None:
    """Record one token-endpoint request for /_sandbox/grants (never the secrets themselves)."""
    entry = {
        "grant_type": params.get("grant_type", ""),
        "client_id": params.get("client_id", ""),
        "member_id": member_id,
        "ok": error is None,
        "error": error,
        "at": time.time(),
    }
    with sandbox.lock:
        sandbox.grants.append(entry)


def _claimed_member(sandbox: Sandbox, params: dict[str, str]) -> str:
    """The portal a refused refresh token belonged to, if the token book knows it."""
    old = sandbox.refresh_tokens.get(params.get("refresh_token", ""))
    return old.member_id if old is not None else ""


def _grant(sandbox: Sandbox, params: dict[str, str]) -> IssuedToken:
    """Check the client, then run the requested grant."""
    grant = params.get("grant_type", "")
    if grant not in ("authorization_code", "refresh_token"):
        raise RestError("invalid_request", 'No "grant_type" parameter found or it is not supported', 400)
    reg = sandbox.registrations.get(params.get("client_id", ""))
    secret = params.get("client_secret", "")
    if reg is None or not hmac.compare_digest(reg.client_secret.encode(), secret.encode()):
        raise RestError("invalid_client", "Invalid client credentials", 400)
    if grant == "refresh_token":
        if not params.get("refresh_token"):
            raise RestError("invalid_request", 'No "refresh_token" parameter found', 400)
        return refresh(sandbox, params["refresh_token"], reg.client_id)
    return _exchange_code(sandbox, reg.client_id, params.get("code", ""))


def _exchange_code(sandbox: Sandbox, client_id: str, code: str) -> IssuedToken:
    """Redeem an authorization code once, within its lifetime (notes §4.1: 30 s)."""
    if not code:
        raise RestError("invalid_request", 'No "code" parameter found', 400)
    grant = sandbox.auth_codes.pop(code, None)
    if grant is None or grant["client_id"] != client_id or time.time() > grant["expires_at"]:
        raise RestError("invalid_grant", "Invalid authorization code", 400)
    portal = sandbox.portals.get(grant["member_id"])
    app = portal.apps.get(client_id) if portal else None
    if portal is None or app is None:
        raise RestError("NOT_INSTALLED", "Application not installed", 401)  # notes §4.5
    return issue_token(sandbox, portal, app, grant["user_id"])


def oauth_app_info(method: str) -> Response:
    """Serve the OAuth server's `app.info` (notes §7), the trusted token check."""
    if method_key(method.strip("/")) != "app.info":
        return error_response(RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404))
    sandbox = current_sandbox()
    params = {**request.args.to_dict(), **request.form.to_dict()}
    access_token = params.get("auth") or params.get("access_token") or _bearer()
    try:
        with sandbox.lock:
            issued = lookup(sandbox, access_token)
            portal = sandbox.portals.get(issued.member_id)
            if portal is None or issued.client_id not in portal.apps:
                raise RestError("invalid_token", "Unable to get application by token", 401)
            body = {"result": _app_info_result(sandbox, portal, issued)}
    except RestError as error:
        if error.code == "invalid_token":  # notes §7: an unknown token gets invalid_client 400 here
            error = RestError("invalid_client", "Invalid client", 400)
        return error_response(error)
    body["time"] = oauth_time(time.time())
    return json_response(body)


def oauth_time(start: float) -> dict[str, Any]:
    """Build a `time` block like the portal's (notes §5.2) for the OAuth host's answers."""
    finish = time.time()
    return {
        "start": start,
        "finish": finish,
        "duration": finish - start,
        "processing": finish - start,
        "date_start": datetime.fromtimestamp(start, UTC).isoformat(timespec="seconds"),
        "date_finish": datetime.fromtimestamp(finish, UTC).isoformat(timespec="seconds"),
        "operating_reset_at": int(finish) + 600,
        "operating": 0,
    }


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def _app_info_result(sandbox: Sandbox, portal: Portal, issued: IssuedToken) -> dict[str, Any]:
    """Build the OAuth-host app.info shape (notes §7, PYSDK B24AppInfoResult)."""
    app = portal.apps[issued.client_id]
    expires = datetime.fromtimestamp(issued.expires_at, UTC).isoformat(timespec="seconds")
    return {
        "client_id": app.client_id,
        "scope": ",".join(issued.scope),
        "expires": expires,
        "install": {
            "installed": app.installed,
            "version": str(app.version),
            "status": app.status,
            "scope": ",".join(app.scope),
            # PYSDK compares this with urlparse(client_endpoint).hostname, which drops a port
            "domain": portal.domain
            if sandbox.setting("app_info_domain_port")
            else portal.domain.split(":")[0],
            "uri": portal.base_url,
            "client_endpoint": portal.client_endpoint,
            "member_id": portal.member_id,
            "member_type": "user",
        },
        "user_id": issued.user_id,
    }
