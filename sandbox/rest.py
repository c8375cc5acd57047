"""Portal REST endpoint `/rest/<method>`: auth, limits, envelopes, event delivery (notes §5)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, request

from sandbox.core import CallContext, RestError
from sandbox.dispatch import invoke, method_key, time_block, unpack
from sandbox.events import deliver_emitted
from sandbox.limits import fault_body, take_faults, take_request
from sandbox.oauth import oauth_app_info
from sandbox.offline import effective_connector
from sandbox.state import Portal, Sandbox
from sandbox.tokens import lookup
from sandbox.web import (
    current_portal,
    current_sandbox,
    drop_connection,
    error_response,
    is_oauth_host,
    json_response,
    pop_auth,
    request_params,
)

bp = Blueprint("rest", __name__)


def fault_target() -> str | None:
    """Name the call a fault switch may filter on: REST method, oauth.token, oauth.authorize."""
    path = request.path
    if path.startswith("/rest/"):
        return method_key(path[len("/rest/") :].strip("/"))
    if path.startswith("/oauth/"):
        return "oauth." + path.strip("/").split("/")[1] if path.count("/") > 1 else "oauth"
    return None  # portal UI pages and control endpoints are never faulted


@bp.before_app_request
def apply_faults() -> Response | None:
    """Fault switches: delay, answer a 5xx, or drop the connection (tests only)."""
    target = fault_target()
    if target is None:
        return None
    faults = {f["kind"]: f for f in take_faults(current_sandbox(), target, request.host)}
    if "delay" in faults:
        time.sleep(faults["delay"]["seconds"])
    if "drop" in faults:
        drop_connection()
        return Response("", status=500)
    if "status" in faults:
        body = fault_body(current_sandbox(), faults["status"])
        return json_response(body, faults["status"]["status"])
    return None


@bp.after_app_request
def count_request(response: Response) -> Response:
    """Count every REST request that reached a portal host, faulted and limited ones included."""
    if not request.path.startswith("/rest/") or is_oauth_host() or current_portal() is None:
        return response
    method = method_key(request.path[len("/rest/") :].strip("/"))
    commands = batch_commands() if method == "batch" else ""
    key = (request.host.lower(), method, commands, response.status_code)
    sandbox = current_sandbox()
    with sandbox.lock:
        sandbox.requests[key] = sandbox.requests.get(key, 0) + 1
    return response


def batch_commands() -> str:
    """The distinct methods inside a batch request, sorted and joined by "+" (for the request counts)."""
    try:
        cmd = request_params().get("cmd")
    except RestError:
        return ""
    items = cmd.values() if isinstance(cmd, dict) else cmd if isinstance(cmd, list) else []
    names = {method_key(str(c).split("?", 1)[0]) for c in items if isinstance(c, str)}
    return "+".join(sorted(names))


@bp.route("/rest/<path:method>", methods=["GET", "POST"])
# The official JS SDK joins client_endpoint (".../rest/") and "/method": the platform's router
# (bitrix/services/rest/index.php, a rewrite of ^/rest/(.*)) serves "/rest//method" as the method itself,
# where werkzeug would merge the slashes with a 308 redirect.
@bp.route("/rest//<path:method>", methods=["GET", "POST"], merge_slashes=False)
def rest(method: str) -> Response:
    """Serve a REST call on a portal host, or app.info on the OAuth host (notes §7)."""
    sandbox = current_sandbox()
    if is_oauth_host():
        return oauth_app_info(method)
    # Requests to different portals run at the same time; one portal serves one at a time (sandbox/locks.py).
    with sandbox.world.shared():
        portal = current_portal()
        if portal is None:
            status = int(sandbox.setting("portal_deleted_status"))
            return error_response(RestError("PORTAL_DELETED", "Portal was deleted", status))
        with portal.lock:
            return _serve(sandbox, portal, method)


def _serve(sandbox: Sandbox, portal: Portal, method: str) -> Response:
    started = time.time()
    headers: dict[str, str] = {}
    try:
        if sandbox.setting("require_https") and request.scheme != "https":
            raise RestError(
                "INVALID_REQUEST", "Https required", 400
            )  # vendor pages: system error codes table
        take_request(sandbox, portal)
        params = request_params()
        ctx = _context(sandbox, portal, pop_auth(params))
        ctx.auth_connector = pop_connector(sandbox, portal, params)
        headers["X-Bitrix-Rest-Application"] = ctx.app.client_id if ctx.app else ""
        try:
            result = invoke(ctx, method, params)
        finally:
            deliver_emitted(ctx)
    except RestError as error:
        return error_response(error, headers)
    return _success(ctx, method, result, started, headers)


def pop_connector(sandbox: Sandbox, portal: Portal, params: dict[str, Any]) -> str:
    """Take `auth_connector` out of the params, an auth key (oauth/auth.php authQueryAdditional)."""
    value = params.pop("auth_connector", "")
    return effective_connector(sandbox, portal, value.strip() if isinstance(value, str) else "")


def _context(sandbox: Sandbox, portal: Portal, access_token: str) -> CallContext:
    """Authenticate the call and build its CallContext (notes §4.5)."""
    token = lookup(sandbox, access_token)
    app = portal.apps.get(token.client_id)
    if token.member_id != portal.member_id or app is None:
        raise RestError("invalid_token", "Unable to get application by token", 401)
    user = portal.users.get(token.user_id)
    if user is None or not user.active:
        raise RestError("authorization_error", "Unable to authorize user", 401)
    return CallContext(sandbox=sandbox, portal=portal, user=user, app=app, token=token)


def _success(ctx: CallContext, method: str, result: Any, started: float, headers: dict[str, str]) -> Response:
    """Wrap a result in the success envelope with `time` and the cloud headers (notes §5.2)."""
    value, extra = unpack(result)
    timing = time_block(ctx, method, started, time.time() - started)
    body = {"result": value, **extra, "time": timing}
    headers.update(
        {
            "X-Bitrix-Rest-Time": f"{timing['duration']:.4f}",
            "X-Bitrix-Rest-User-Time": f"{timing['processing']:.4f}",
            "X-Bitrix-Rest-System-Time": "0",
        }
    )
    return json_response(body, 200, headers)
