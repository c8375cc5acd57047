"""The contract every sandbox REST method is written against: errors, call context, method registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.state import InstalledApp, IssuedToken, Portal, Sandbox, User


class RestError(Exception):
    """A Bitrix24 REST error: rendered as {"error", "error_description", **extra} with `status`."""

    def __init__(self, code: str, description: str, status: int = 400, **extra: Any) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """Return the error envelope (protocol notes §5.3: no `result`, no `time`)."""
        return {"error": self.code, "error_description": self.description, **self.extra}


@dataclass
class ListResult:
    """A page of a list method; `next`/`total` are hoisted into the envelope (protocol notes §5.2)."""

    items: list[Any] | dict[str, Any]  # crm.item.list answers {"items": [...]}
    total: int | None = None
    next: int | None = None


@dataclass
class CallContext:
    """Who is calling, on which portal, in which app's context."""

    sandbox: Sandbox
    portal: Portal
    user: User
    app: InstalledApp | None = None  # None: a webhook-style call, no application context
    token: IssuedToken | None = None
    via_robot: bool = False  # a change with no user behind it: events carry no tokens (notes §2.2)
    auth_connector: str = ""  # the call's source key (offline-events.md); "" where the plan lacks it
    emitted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def emit(self, event: str, data: dict[str, Any]) -> None:
        """Queue an event for every app bound to it; identical events in one call are merged (notes §2.3)."""
        item = (event.upper(), data)
        if item not in self.emitted:
            self.emitted.append(item)

    def require_app(self) -> InstalledApp:
        """Return the calling app or fail as the portal does outside an app context."""
        if self.app is None:
            raise RestError("ACCESS_DENIED", "Access denied! Application context required", 403)
        return self.app


Handler = Callable[[CallContext, dict[str, Any]], Any]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    scope: str
    handler: Handler
    batchable: bool = True


METHODS: dict[str, MethodSpec] = {}


def method(name: str, *, scope: str, batchable: bool = True) -> Callable[[Handler], Handler]:
    """Register a REST method under its lower-cased name (method names are case-insensitive, notes §5.1)."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = MethodSpec(name, scope, handler, batchable)
        return handler

    return register
