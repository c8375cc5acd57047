"""event.bind / event.unbind / event.get / events / event.test (notes §2.4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sandbox.core import CallContext, RestError, method
from sandbox.dispatch import scope_granted
from sandbox.events import KNOWN_EVENTS, bind_handler, fire
from sandbox.offline import NOTIFY_EVENT
from sandbox.state import InstalledApp


def lower_keys(params: dict[str, Any]) -> dict[str, Any]:
    """Param keys are case-insensitive here (notes §2.4: the server upper-cases them)."""
    return {str(k).lower(): v for k, v in params.items()}


def require_app_auth(ctx: CallContext) -> InstalledApp:
    """Only OAuth app auth may bind events (notes §2.4: webhooks get WRONG_AUTH_TYPE)."""
    if ctx.app is None:
        raise RestError("WRONG_AUTH_TYPE", "Current authorization type is denied for this method", 403)
    return ctx.app


def argument(params: dict[str, Any], name: str) -> str:
    """Return a required string argument or raise ERROR_ARGUMENT with `argument` (notes §2.4)."""
    value = params.get(name.lower())
    if not isinstance(value, str | int) or str(value).strip() == "":
        raise RestError("ERROR_ARGUMENT", f"Argument '{name}' is null or empty", 400, argument=name)
    return str(value).strip()


def check_handler_url(handler: str) -> None:
    """HandlerHelper::checkCallback: host with a dot, http(s) only (notes §2.3)."""
    parts = urlsplit(handler)
    if not parts.hostname or "." not in parts.hostname:
        raise RestError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL", 400)
    if parts.scheme.lower() not in ("http", "https"):
        raise RestError("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported event handler protocol", 400)


def event_type(params: dict[str, Any]) -> str:
    """Read event_type: online (default) or offline (notes §2.4)."""
    value = str(params.get("event_type") or "online").lower()
    if value not in ("online", "offline"):
        raise RestError(
            "ERROR_ARGUMENT", "Argument 'EVENT_TYPE' has an invalid value", 400, argument="EVENT_TYPE"
        )
    return value


def auth_type(params: dict[str, Any]) -> int:
    """Read auth_type, a user id (0 = the user who caused the event)."""
    try:
        return int(params.get("auth_type") or 0)
    except (TypeError, ValueError) as exc:
        raise RestError(
            "ERROR_ARGUMENT", "Argument 'AUTH_TYPE' must be a user id", 400, argument="AUTH_TYPE"
        ) from exc


def known_event(ctx: CallContext, app: InstalledApp, name: str) -> str:
    """Upper-case the name and check it exists for the app's scopes (notes §2.4: ERROR_EVENT_NOT_FOUND)."""
    name = name.upper()
    if name not in KNOWN_EVENTS or not scope_granted(app.scope, KNOWN_EVENTS[name]):
        raise RestError("ERROR_EVENT_NOT_FOUND", "Event not found", 400)
    return name


@method("event.bind", scope="basic")
def event_bind(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Bind a handler; duplicates are ERROR_CORE "Handler already binded" (notes §2.4).

    event.php eventBind: an offline binding has no handler and no user, and keeps the call's own
    auth_connector as its source key; ONOFFLINEEVENT (disableOffline) cannot be offline and alone takes
    options[minTimeout] (allowOptions, an int) (offline-events.md, on-offline-event.md).
    """
    app = require_app_auth(ctx)
    params = lower_keys(params)
    name = known_event(ctx, app, argument(params, "EVENT"))
    kind, user = event_type(params), auth_type(params)
    if not ctx.user.is_admin and (kind == "offline" or user not in (0, ctx.user.id)):
        raise RestError("ACCESS_DENIED", "Access denied", 403)
    handler = argument(params, "HANDLER") if kind == "online" else ""
    if handler:
        check_handler_url(handler)
    if kind == "offline":
        user = 0
        if name == NOTIFY_EVENT:
            raise RestError("ERROR_ARGUMENT", "Offline event cannot be registered for this event.", 400)
    connector = ctx.auth_connector
    for b in app.events:
        if (b["event"], b["handler"], b["auth_type"], b["connector"], b["event_type"]) == (
            name,
            handler,
            user,
            connector,
            kind,
        ):
            raise RestError("ERROR_CORE", "Unable to set event handler: Handler already binded", 400)
    binding = bind_handler(ctx.portal, app, name, handler, user_id=ctx.user.id, auth_type=user)
    binding.update(event_type=kind, connector=connector, options=bind_options(name, params.get("options")))
    return True


def bind_options(name: str, raw: Any) -> dict[str, int]:
    """event.php allowOptions: only ONOFFLINEEVENT has one, minTimeout, cast to int; others are dropped."""
    if name != NOTIFY_EVENT or not isinstance(raw, dict) or "minTimeout" not in raw:
        return {}
    try:
        return {"minTimeout": int(raw["minTimeout"])}
    except (TypeError, ValueError):
        return {"minTimeout": 0}  # PHP (int) of a non-number


def _matches(
    binding: dict[str, Any], ctx: CallContext, name: str, handler: str, params: dict[str, Any]
) -> bool:
    """Tell whether event.unbind removes this row (notes §2.4 rules for auth_type and non-admins)."""
    if binding["event"] != name or (handler and binding["handler"] != handler):
        return False
    if binding["event_type"] != event_type(params):
        return False
    if binding["event_type"] == "offline" and binding["connector"] != ctx.auth_connector:
        return False  # event.php eventUnbind: offline rows are matched by the call's source key
    if not ctx.user.is_admin:
        return binding["user_id"] == ctx.user.id
    return "auth_type" not in params or binding["auth_type"] == auth_type(params)


@method("event.unbind", scope="basic")
def event_unbind(ctx: CallContext, params: dict[str, Any]) -> dict[str, int]:
    """Remove matching handlers and return {"count": N} (notes §2.4)."""
    app = require_app_auth(ctx)
    params = lower_keys(params)
    name = argument(params, "EVENT").upper()
    handler = argument(params, "HANDLER") if event_type(params) == "online" else ""
    keep = [b for b in app.events if not _matches(b, ctx, name, handler, params)]
    count = len(app.events) - len(keep)
    app.events[:] = keep
    return {"count": count}


@method("event.get", scope="basic")
def event_get(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    """List the app's handlers by id; non-admins see only their own (notes §2.4)."""
    app = require_app_auth(ctx)
    rows = []
    for b in sorted(app.events, key=lambda b: b["id"]):
        if not ctx.user.is_admin and b["user_id"] != ctx.user.id:
            continue
        if b["event_type"] == "offline":
            rows.append({"event": b["event"], "connector_id": b["connector"], "offline": 1})
        else:
            rows.append(
                {"event": b["event"], "handler": b["handler"], "auth_type": str(b["auth_type"]), "offline": 0}
            )
    return rows


@method("events", scope="basic")
def events(ctx: CallContext, params: dict[str, Any]) -> list[str]:
    """List event names available to the app's scopes, or to a SCOPE / FULL (notes §2.4)."""
    params = lower_keys(params)
    if str(params.get("full", "")).lower() in ("1", "true", "y"):
        return list(KNOWN_EVENTS)
    if params.get("scope"):
        return [e for e, s in KNOWN_EVENTS.items() if s == str(params["scope"]).lower()]
    scopes = ctx.app.scope if ctx.app else []
    return [e for e, s in KNOWN_EVENTS.items() if scope_granted(scopes, s)]


@method("event.test", scope="basic")
def event_test(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Fire ONAPPTEST to the calling app's handlers, with the params as data (notes §2.4)."""
    app = require_app_auth(ctx)
    fire(
        ctx.sandbox, ctx.portal, "ONAPPTEST", dict(params), user_id=ctx.user.id, only_client_id=app.client_id
    )
    return True
