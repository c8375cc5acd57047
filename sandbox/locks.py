"""Locks that let REST requests run concurrently (issue 14, item 6).

Order, outermost first: `Sandbox.world` (shared by REST requests, exclusive for control endpoints, portal UI
requests and resets) → `Portal.lock` (one REST request at a time per portal) → `Sandbox.lock` (short: tokens,
counters, deliveries, faults). Take them only in that order, so that two portals, the OAuth host and the
event sender serve at the same time, while a control call still sees no request half-way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from flask import Flask, g, request


class WorldLock:
    """A re-entrant readers-writer lock that prefers writers (a steady REST load cannot starve a reset)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer: int | None = None  # thread id of the writer
        self._depth = 0  # the writer's nesting
        self._waiting_writers = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the lock with other readers; the writer's own thread passes straight through."""
        if self._writer == threading.get_ident():
            yield
            return
        with self._cond:
            while self._writer is not None or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock alone (re-entrant for the same thread)."""
        me = threading.get_ident()
        with self._cond:
            if self._writer != me:
                self._waiting_writers += 1
                while self._writer is not None or self._readers:
                    self._cond.wait()
                self._waiting_writers -= 1
                self._writer = me
            self._depth += 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if not self._depth:
                    self._writer = None
                    self._cond.notify_all()


CONCURRENT_PREFIXES = ("/rest/", "/oauth/")  # REST takes world.shared + Portal.lock itself; OAuth only lock


def hold_world_for_changes(app: Flask) -> None:
    """Run every other request (control endpoints, portal UI) with the world lock held exclusively."""

    @app.before_request
    def _enter() -> None:
        if request.path.startswith(CONCURRENT_PREFIXES):
            return
        stack = ExitStack()
        stack.enter_context(app.extensions["sandbox"].world.exclusive())
        g.sandbox_world = stack

    @app.teardown_request
    def _leave(_error: BaseException | None) -> None:
        stack = g.pop("sandbox_world", None)
        if stack is not None:
            stack.close()
