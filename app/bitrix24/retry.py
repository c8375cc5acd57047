"""When to try a portal call again, and after how long (style.md: bolt's http_retry handlers)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.bitrix24.errors import (
    Bitrix24Error,
    OperationTimeLimit,
    QueryLimitExceeded,
    ServerError,
    TransportError,
)
from app.bitrix24.transport import ConnectNotSent

READ_ONLY_SUFFIXES = (".get", ".list", ".fields", ".current", ".info")
READ_ONLY_METHODS = frozenset({"profile", "user.admin", "server.time", "methods", "scope", "batch"})
# Writes that set a value rather than add one: repeating them leaves the same state.
OVERWRITE_METHODS = frozenset(
    {
        "crm.activity.layout.blocks.set",
        "crm.activity.todo.updatecolor",
        "crm.activity.todo.updatedeadline",
        "crm.activity.todo.updatedescription",
        "crm.activity.todo.updateresponsibleuser",
    }
)


def is_idempotent(method: str) -> bool:
    """Tell whether sending `method` twice is harmless (reads, and writes that overwrite)."""
    name = method.lower()
    return (
        name.endswith(READ_ONLY_SUFFIXES)
        or name in READ_ONLY_METHODS
        or name in OVERWRITE_METHODS
        or name.startswith("crm.enum.")
    )


@dataclass
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter; 429 waits for operating_reset_at."""

    attempts: int = 5  # tries in all, the first included
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_reset_wait: float = 600.0  # the longest a background call waits for a 429 to lift
    interactive: bool = False  # a user is waiting: fail fast on 429 instead of waiting minutes
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, error: Bitrix24Error, attempt: int, *, idempotent: bool) -> float | None:
        """Seconds to wait before try number `attempt + 1`, or None to give up and raise."""
        if attempt + 1 >= self.attempts:
            return None
        if isinstance(error, OperationTimeLimit):
            return self._until_reset(error)
        if isinstance(error, QueryLimitExceeded | ConnectNotSent):
            return self.backoff(attempt)  # refused before it ran: safe for any method
        if isinstance(error, ServerError | TransportError) and idempotent:
            return self.backoff(attempt)
        return None

    def backoff(self, attempt: int) -> float:
        """Full jitter: anywhere up to base·2^attempt, capped."""
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))

    def _until_reset(self, error: OperationTimeLimit) -> float | None:
        if self.interactive:
            return None
        wait = (error.reset_at - self.clock()) if error.reset_at else self.max_delay
        if wait > self.max_reset_wait:
            return None
        return max(wait, 0.0) + self.rng.uniform(0, 1)
