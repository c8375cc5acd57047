"""JSON control endpoints under /_sandbox/ for tests, the demo and the portal UI (not part of Bitrix24)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from sandbox import apps
from sandbox.core import RestError
from sandbox.dispatch import run_as_robot, unpack
from sandbox.events import deliver_timeline_action
from sandbox.limits import add_fault, block_method
from sandbox.seed import reset_and_seed, seed_demo
from sandbox.settings import DEFAULTS
from sandbox.state import Portal, Sandbox
from sandbox.tokens import expire_tokens, issue_token, token_response
from sandbox.web import current_portal, current_sandbox, json_response

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True) if request.data else None
    return {**request.args.to_dict(), **(data if isinstance(data, dict) else request.form.to_dict())}


def _portal(sandbox: Sandbox, payload: dict[str, Any]) -> Portal:
    """Pick the portal: member_id or domain in the payload, else the one hit, else the demo portal."""
    if payload.get("member_id"):
        return sandbox.portals[payload["member_id"]]
    if payload.get("domain"):
        portal = sandbox.portal_by_domain(payload["domain"])
        if portal is None:
            raise KeyError(payload["domain"])
        return portal
    return current_portal() or sandbox.portal()


def _acting_user(portal: Portal, payload: dict[str, Any]) -> int:
    """The payload's user_id (default the portal's administrator), which must be one of the portal's users."""
    user_id = int(payload.get("user_id") or portal.admin.id)
    if user_id not in portal.users:
        raise KeyError(f"user {user_id}")
    return user_id


@bp.errorhandler(KeyError)
def _unknown(error: KeyError) -> Response:
    return json_response({"error": "NOT_FOUND", "error_description": f"unknown {error}"}, 404)


@bp.errorhandler(apps.LifecycleError)
def _lifecycle(error: apps.LifecycleError) -> Response:
    return json_response({"error": "LIFECYCLE_ERROR", "error_description": str(error)}, 400)


@bp.errorhandler(RestError)
def _rest(error: RestError) -> Response:
    return json_response(error.body(), error.status)


@bp.errorhandler(ValueError)
def _value(error: ValueError) -> Response:
    return json_response({"error": "ERROR_ARGUMENT", "error_description": str(error)}, 400)


@bp.route("/state", methods=["GET"])
def state() -> Response:
    """Describe portals, users, owners and apps."""
    sandbox = current_sandbox()
    with sandbox.lock:
        return json_response({"oauth_base_url": sandbox.oauth_base_url, "portals": describe(sandbox)})


def describe(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Summarise every portal for /_sandbox/state."""
    return [
        {
            "member_id": p.member_id,
            "domain": p.domain,
            "license": p.license,
            "users": [vars(u) for u in p.users.values()],
            "owners": [{"type_id": o.type_id, "id": o.id, "title": o.title} for o in p.owners.values()],
            "apps": [apps.app_summary(a) for a in p.apps.values()],
        }
        for p in sandbox.portals.values()
    ]


@bp.route("/reset", methods=["POST"])
def reset() -> Response:
    """Forget everything and seed the demo portals again."""
    portal = reset_and_seed(current_sandbox())
    return json_response({"member_id": portal.member_id, "domain": portal.domain})


@bp.route("/seed", methods=["POST"])
def seed() -> Response:
    """Seed the configured portals (after a reset without seed)."""
    portal = seed_demo(current_sandbox())
    return json_response({"member_id": portal.member_id, "domain": portal.domain})


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response:
    """Read or merge settings (limits, disputed-behaviour switches)."""
    sandbox = current_sandbox()
    if request.method == "POST":
        with sandbox.lock:
            sandbox.settings.update(_payload())
    return json_response({**DEFAULTS, **sandbox.settings})


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Response:
    """Arm (POST {kind,count,status,seconds,method,error}), list or clear fault switches."""
    sandbox = current_sandbox()
    if request.method == "POST":
        p = _payload()
        count = p.get("count", 1)
        add_fault(
            sandbox,
            str(p.get("kind", "")),
            count=None if count is None else int(count),
            status=int(p.get("status", 500)),
            seconds=float(p.get("seconds", 0)),
            method=p.get("method"),
            error=p.get("error"),
            domain=p.get("domain"),
            reset_in=float(p.get("reset_in", 10)),
        )
    elif request.method == "DELETE":
        sandbox.faults.clear()
    return json_response({"faults": sandbox.faults})


@bp.route("/operating/block", methods=["POST"])
def operating_block() -> Response:
    """Block one method of the app on a portal for `seconds` (its operating time used up): 429 until then."""
    sandbox = current_sandbox()
    p = _payload()
    with sandbox.lock:
        portal = _portal(sandbox, p)
        app = apps.find_app(sandbox, portal, p.get("client_id"))
        reset_at = block_method(sandbox, portal, app.client_id, str(p["method"]), float(p.get("seconds", 10)))
    return json_response({"operating_reset_at": reset_at})


@bp.route("/apps/<step>", methods=["POST"])
def lifecycle(step: str) -> Response:
    """Run an app lifecycle step: add, install, finish, update, uninstall."""
    sandbox = current_sandbox()
    p = _payload()
    user_id = int(p["user_id"]) if p.get("user_id") else None
    with sandbox.lock:
        portal = _portal(sandbox, p)
        client_id = p.get("client_id")
        if step == "add":
            app = apps.add_app(sandbox, portal, client_id)
        elif step == "install":
            app = apps.install_app(sandbox, portal, client_id, user_id=user_id)
        elif step == "finish":
            app = apps.finish_install(sandbox, portal, client_id, user_id=user_id)
        elif step == "update":
            version = int(p["version"]) if p.get("version") else None
            app = apps.update_app(sandbox, portal, client_id, version=version, user_id=user_id)
        elif step == "uninstall":
            clean = str(p.get("clean", "0")).lower() in ("1", "y", "true")
            app = apps.uninstall_app(sandbox, portal, client_id, clean=clean)
        else:
            raise KeyError(step)
        return json_response(apps.app_summary(app))


@bp.route("/deliveries", methods=["GET", "DELETE"])
def deliveries() -> Response:
    """List event deliveries (optionally ?event=NAME, ?after=ID for the newer ones only), or clear the log."""
    sandbox = current_sandbox()
    if request.method == "DELETE":
        sandbox.deliveries.clear()
    event = request.args.get("event", "").upper()
    after = request.args.get("after", "0")
    after_id = int(after) if after.isdigit() else 0
    items = [
        d.as_dict() for d in list(sandbox.deliveries) if (not event or d.event == event) and d.id > after_id
    ]
    return json_response({"deliveries": items})


@bp.route("/errors", methods=["GET"])
def errors() -> Response:
    """List tracebacks of unexpected errors inside REST methods."""
    return json_response({"errors": current_sandbox().errors})


@bp.route("/token", methods=["POST"])
def token() -> Response:
    """Issue a token pair for a user of the app (as the frame POST would carry), in the §4.3 shape."""
    sandbox = current_sandbox()
    p = _payload()
    with sandbox.lock:
        portal = _portal(sandbox, p)
        app = apps.find_app(sandbox, portal, p.get("client_id"))
        issued = issue_token(sandbox, portal, app, _acting_user(portal, p))
        return json_response({**token_response(sandbox, issued), "application_token": app.application_token})


@bp.route("/tokens/expire", methods=["POST"])
def tokens_expire() -> Response:
    """Expire every live access token of the app (on one portal, or all with `all`): an expiry storm."""
    sandbox = current_sandbox()
    p = _payload()
    every = str(p.get("all", "")).lower() in ("1", "true", "y")
    member_id = None if every else _portal(sandbox, p).member_id
    expired = expire_tokens(sandbox, member_id=member_id, client_id=p.get("client_id"))
    return json_response({"expired": expired})


@bp.route("/grants", methods=["GET", "DELETE"])
def grants() -> Response:
    """The OAuth token endpoint's log (grant_type, member_id, client_id, ok, error, at), or clear it."""
    sandbox = current_sandbox()
    if request.method == "DELETE":
        with sandbox.lock:
            sandbox.grants.clear()
    return json_response({"grants": list(sandbox.grants)})


@bp.route("/requests", methods=["GET", "DELETE"])
def requests_made() -> Response:
    """Counts of REST requests that reached each portal, by method, batch commands and status; or clear."""
    sandbox = current_sandbox()
    with sandbox.lock:
        if request.method == "DELETE":
            sandbox.requests.clear()
        rows = [
            {"domain": d, "method": m, "commands": c, "status": s, "count": n}
            for (d, m, c, s), n in sorted(sandbox.requests.items())
        ]
    return json_response({"requests": rows})


@bp.route("/robot", methods=["POST"])
def robot() -> Response:
    """Run a REST method as a robot (no user behind the change: tokenless events, notes §2.2)."""
    sandbox = current_sandbox()
    p = _payload()
    portal = _portal(sandbox, p)
    params = p.get("params") or {}
    result = run_as_robot(sandbox, portal, str(p.get("method", "")), params, client_id=p.get("client_id"))
    value, extra = unpack(result)
    return json_response({"result": value, **extra})


@bp.route("/timeline-action", methods=["POST"])
def timeline_action() -> Response:
    """Fire ONCRMTIMELINEITEMACTION to the creating app (notes §3.6); body: client_id?, user_id?, data."""
    sandbox = current_sandbox()
    p = _payload()
    with sandbox.lock:
        portal = _portal(sandbox, p)
        app = apps.find_app(sandbox, portal, p.get("client_id"))
        data = dict(p.get("data") or {})
        sent = deliver_timeline_action(sandbox, portal, app.client_id, data, user_id=_acting_user(portal, p))
    return json_response({"deliveries": [d.id for d in sent]})
