"""Group commit for POST /events: the rows of concurrent requests written in one transaction.

Each web process has one flusher thread. A request hands its row and the sender it claims to
`InboxWriter.write` and waits; the flusher takes everything queued (at most `max_batch` rows), checks every
claimed sender with ONE read of the portals' application_token digests, inserts the verified rows with
`ON CONFLICT DO NOTHING RETURNING dedup_key` in the same transaction, commits, and only then wakes each
request with its own outcome (new, duplicate or refused). A failed transaction wakes them with the
error, so no request is answered 200 for a row that is not committed. The flusher never waits for
company: when it is idle a lone row is written at once, and rows that arrive during a flush form the
next batch.

The thread starts on the first write in each process (gunicorn --preload forks after create_app, and a
thread does not survive a fork) and exits after `idle_exit` seconds without rows, to start again later.
"""

from __future__ import annotations

import enum
import fcntl
import hmac
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite

log = logging.getLogger(__name__)


class WriteFailed(Exception):
    """The transaction holding the row did not commit (or did not finish in time)."""


class Outcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REFUSED = "refused"  # unknown portal, or an application_token that is not the portal's


@dataclass
class PendingRow:
    """One request's row and the sender it claims, waiting for the transaction that holds it."""

    values: dict[str, Any]
    token_sha256: str  # digest of the presented application_token; checked in the group's transaction
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome = Outcome.REFUSED
    error: BaseException | None = None


class InboxWriter:
    """Collects rows from request threads and commits them in groups; one per process and engine."""

    def __init__(
        self, engine: Engine, table: Table, senders: Table, *, max_batch: int = 200, idle_exit: float = 5.0
    ) -> None:
        self.engine = engine
        self.table = table
        self.senders = senders
        self.max_batch = max_batch
        self.idle_exit = idle_exit
        self.pid = os.getpid()
        insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(table)
        self.statement = insert.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(
            table.c.dedup_key
        )
        self._queue: list[PendingRow] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def write(self, values: dict[str, Any], token_sha256: str, *, timeout: float = 30.0) -> Outcome:
        """Store a row once its group commits, if its sender checks out; WriteFailed if nothing committed."""
        row = PendingRow(values, token_sha256)
        with self._ready:
            self._queue.append(row)
            self._ensure_thread()
            self._ready.notify()
        if not row.done.wait(timeout):
            raise WriteFailed(f"no commit within {timeout:g} s")
        if row.error is not None:
            raise WriteFailed(type(row.error).__name__) from row.error
        return row.outcome

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._ready:
                if not self._queue and not self._ready.wait_for(lambda: self._queue, self.idle_exit):
                    self._thread = None  # under the lock: the next write starts a new thread
                    return
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            self._flush(batch)

    def _flush(self, batch: list[PendingRow]) -> None:
        try:
            self._commit(batch)
        except Exception as error:  # every row of the group fails with it: none was committed
            log.error(
                "inbox: a group of %d events was not committed (%s); answered 503, and the portal "
                "does not resend events, so they are lost unless reconciled",
                len(batch),
                type(error).__name__,
            )
            for row in batch:
                row.error = error
        for row in batch:
            row.done.set()

    def _commit(self, batch: list[PendingRow]) -> None:
        """Verify the group's senders, insert the verified rows, commit; set each row's outcome."""
        with self._writers_queue(), self.engine.begin() as connection:
            digests = self._digests(connection, {row.values["member_id"] for row in batch})
            first: dict[str, PendingRow] = {}
            for row in batch:
                stored = digests.get(row.values["member_id"])
                row.outcome = Outcome.DUPLICATE
                if not stored or not hmac.compare_digest(stored, row.token_sha256):
                    row.outcome = Outcome.REFUSED
                else:  # a key twice in one group: the first is the delivery, the rest duplicates
                    first.setdefault(row.values["dedup_key"], row)
            if not first:
                return
            # executemany (insertmanyvalues): compiled once and cached, unlike one VALUES per group size
            new = set(connection.execute(self.statement, [row.values for row in first.values()]).scalars())
        for key, row in first.items():
            if key in new:
                row.outcome = Outcome.STORED

    def _digests(self, connection: Connection, member_ids: set[str]) -> dict[str, str]:
        """The stored application_token digests of these portals, in one read."""
        columns = self.senders.c
        query = select(columns.member_id, columns.application_token_sha256).where(
            columns.member_id.in_(sorted(member_ids))
        )
        return {member_id: digest for member_id, digest in connection.execute(query) if digest}

    @contextmanager
    def _writers_queue(self) -> Iterator[None]:
        """On a SQLite file, queue the processes' flushers on a kernel lock beside the database.

        SQLite's own busy handler sleeps and polls (1, 2, 5 … 100 ms), so two processes' flushers
        colliding cost a group tens of milliseconds; a blocked flock wakes as soon as the other commits.
        """
        path = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.inbox-lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


_created = threading.Lock()


def writer_for(app: Flask, engine: Engine, table: Table, senders: Table) -> InboxWriter:
    """This process's writer for `app`, made on first use (never in the factory: threads die in a fork)."""
    with _created:
        writer = app.extensions.get("inbox_writer")
        if not isinstance(writer, InboxWriter) or writer.pid != os.getpid() or writer.engine is not engine:
            writer = InboxWriter(engine, table, senders)
            app.extensions["inbox_writer"] = writer
        return writer
