"""Test-only sandbox methods; the sandbox fixtures themselves live in tests/conftest.py."""

from __future__ import annotations

import threading
from typing import Any

from sandbox import register_methods
from sandbox.core import CallContext, ListResult, method

register_methods()  # fill core.METHODS now, so skipif checks on crm.activity.* see them at collection


@method("sandboxtest.emit", scope="basic")
def _emit(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Test-only method: emit params["event"] with params["data"] (to check delivery and merging)."""
    ctx.emit(str(params["event"]), dict(params.get("data") or {}))
    return True


@method("sandboxtest.explode", scope="basic")
def _explode(ctx: CallContext, params: dict[str, Any]) -> None:
    """Test-only method: fail with a plain Python exception."""
    raise ZeroDivisionError("boom")


@method("sandboxtest.page", scope="basic")
def _page(ctx: CallContext, params: dict[str, Any]) -> ListResult:
    """Test-only list method: 120 numbers, pages of 50 (notes §5.4)."""
    start = int(params.get("start") or 0)
    items = list(range(120))[start : start + 50]
    return ListResult(items, total=120, next=start + 50 if start + 50 < 120 else None)


@method("sandboxtest.crm", scope="crm")
def _crm_only(ctx: CallContext, params: dict[str, Any]) -> str:
    """Test-only method in the crm scope."""
    return "ok"


@method("sandboxtest.task", scope="task")
def _task_only(ctx: CallContext, params: dict[str, Any]) -> str:
    """Test-only method in a scope the app does not have."""
    return "ok"


@method("sandboxtest.echo", scope="basic")
def _echo(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Test-only method: return the params it received."""
    return params


HOLD_ENTERED = threading.Event()
HOLD_RELEASE = threading.Event()


@method("sandboxtest.hold", scope="basic")
def _hold(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Test-only method: stay inside the handler until HOLD_RELEASE is set (at most `seconds`)."""
    HOLD_ENTERED.set()
    return HOLD_RELEASE.wait(float(params.get("seconds") or 10))
