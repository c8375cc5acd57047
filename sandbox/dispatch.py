"""Run one REST method in a CallContext: lookup, scope, operating-time limit, errors (notes §5)."""

from __future__ import annotations

import logging
import time
import traceback
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sandbox.core import METHODS, CallContext, ListResult, MethodSpec, RestError
from sandbox.events import deliver_emitted
from sandbox.limits import check_operating, operating_state, record_operating
from sandbox.state import Portal, Sandbox

log = logging.getLogger("sandbox.rest")

USER_SCOPES = ("user", "user_brief", "user_basic")


def method_key(name: str) -> str:
    """Normalise a method name: case-insensitive, optional .json/.xml suffix (notes §5.1)."""
    name = name.strip().lower()
    for suffix in (".json", ".xml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def find_method(name: str) -> MethodSpec:
    """Return a registered method or raise 404 ERROR_METHOD_NOT_FOUND (notes §5.3)."""
    spec = METHODS.get(method_key(name))
    if spec is None:
        raise RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
    return spec


def scope_granted(scopes: list[str], needed: str) -> bool:
    """Tell whether an app's scope covers a method's scope ("basic" is always there)."""
    if needed == "basic" or needed in scopes:
        return True
    return needed in USER_SCOPES and any(s in scopes for s in USER_SCOPES)


def check_scope(ctx: CallContext, spec: MethodSpec) -> None:
    """Refuse methods outside the app's scope: insufficient_scope (notes §4.5, status disputed §9.4)."""
    if ctx.app is None or scope_granted(ctx.app.scope, spec.scope):
        return
    raise RestError(
        "insufficient_scope",
        "The request requires higher privileges than provided by the access token",
        int(ctx.sandbox.setting("insufficient_scope_status")),
    )


def invoke(ctx: CallContext, name: str, params: dict[str, Any], *, in_batch: bool = False) -> Any:
    """Run a method; unexpected exceptions become 500 INTERNAL_SERVER_ERROR and are logged."""
    spec = find_method(name)
    if in_batch and not spec.batchable:
        raise RestError("ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage", 405)
    check_scope(ctx, spec)
    counted = ctx.app is not None and spec.batchable  # notes §5.5: the outer batch is not limited
    if counted:
        check_operating(ctx.sandbox, ctx.portal, ctx.app.client_id, method_key(spec.name))
    started = time.perf_counter()
    try:
        return spec.handler(ctx, params)
    except RestError as error:
        if isinstance(error.code, int) and ctx.sandbox.setting("required_code_as_string"):
            error.code = str(error.code)  # disputed (notes §5.3): the controller's 100 as "100"
        raise
    except Exception as exc:
        log_internal_error(ctx.sandbox, exc)
        raise RestError("INTERNAL_SERVER_ERROR", "Internal server error", 500) from exc
    finally:
        if counted:
            elapsed = time.perf_counter() - started
            record_operating(ctx.sandbox, ctx.portal, ctx.app.client_id, method_key(spec.name), elapsed)


def log_internal_error(sandbox: Sandbox, exc: BaseException) -> None:
    """Keep the traceback for tests (sandbox.errors) and the log, never for the client."""
    text = "".join(traceback.format_exception(exc))
    sandbox.errors.append(text)
    log.error("unexpected error in a REST method:\n%s", text)


def unpack(result: Any) -> tuple[Any, dict[str, Any]]:
    """Split a method result into `result` and the hoisted `next`/`total` (notes §5.2)."""
    if isinstance(result, ListResult):
        extra: dict[str, Any] = {}
        if result.next is not None:
            extra["next"] = result.next
        if result.total is not None:
            extra["total"] = result.total
        return result.items, extra
    return result, {}


def _iso(ts: float, portal: Portal) -> str:
    sign = -1 if portal.timezone_offset.startswith("-") else 1
    hours, minutes = portal.timezone_offset.lstrip("+-").split(":")
    tz = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    return datetime.fromtimestamp(ts, UTC).astimezone(tz).isoformat(timespec="seconds")


def time_block(ctx: CallContext, method: str, start: float, processing: float) -> dict[str, Any]:
    """Build the envelope's `time` (notes §5.2), with the operating counters of this app+method."""
    finish = time.time()
    operating, reset_at = 0.0, int(finish)
    if ctx.app is not None:
        operating, reset_at = operating_state(ctx.sandbox, ctx.portal, ctx.app.client_id, method_key(method))
    return {
        "start": start,
        "finish": finish,
        "duration": finish - start,
        "processing": processing,
        "date_start": _iso(start, ctx.portal),
        "date_finish": _iso(finish, ctx.portal),
        "operating_reset_at": reset_at,
        "operating": operating,
    }


def run_as_robot(
    sandbox: Sandbox, portal: Portal, method: str, params: dict[str, Any], *, client_id: str | None = None
) -> Any:
    """Run a method as a robot would: no user behind the change, so events carry no tokens (notes §2.2)."""
    with sandbox.world.shared(), portal.lock:
        app = portal.apps.get(client_id) if client_id else None
        ctx = CallContext(sandbox=sandbox, portal=portal, user=portal.admin, app=app, via_robot=True)
        try:
            result, _ = unpack(invoke(ctx, method, params))
        finally:
            deliver_emitted(ctx)
        return result
