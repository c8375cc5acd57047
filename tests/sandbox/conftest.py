"""Fixtures: the sandbox as real HTTP servers on 127.0.0.1, reset and seeded for every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import register_methods
from sandbox.core import CallContext, ListResult, method
from sandbox.testing import EventReceiver, RunningSandbox, start_sandbox

register_methods()  # fill core.METHODS now, so skipif checks on crm.activity.* see them at collection


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    """One sandbox (OAuth host + two portals) for the whole session."""
    running = start_sandbox(portals=2)
    yield running
    running.stop()


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox) -> RunningSandbox:
    """The session sandbox, reset and seeded: demo portal, users 1-3, owners, app installed."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture(scope="session")
def event_receiver_server() -> Iterator[EventReceiver]:
    receiver = EventReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def event_receiver(event_receiver_server: EventReceiver) -> EventReceiver:
    """A local HTTP listener recording POSTs; bind handlers to `event_receiver.url()`."""
    event_receiver_server.clear()
    return event_receiver_server


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
