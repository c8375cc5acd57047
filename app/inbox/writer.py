"""Group commit for POST /events: the rows of concurrent requests written in one statement.

A request hands its row and the sender it claims to `InboxWriter.write`. If no group is being written, the
request's own thread leads: it takes everything queued (at most `max_batch` rows, its own first) and writes
them with ONE statement that inserts only the rows whose claimed application_token digest is their portal's,
skips known dedup keys and returns the new ones (atomic, committed on its own: autocommit saves the BEGIN and
COMMIT round trips). Rows it did not insert are duplicates or forgeries: one read of their portals' digests,
compared in constant time, tells which. Only then is each follower woken with its outcome (new, duplicate or
refused). Rows that arrived meanwhile wait; the leader writes them as the next group itself (up to
GROUPS_LED groups in all), then hands the lead to the first row still waiting. A failed insert wakes its
rows with the error, so no request is answered 200 for a row that is not committed.

Leading from a request thread, rather than from a flusher thread, saves two thread hand-offs per group:
under the GIL each hand-off is a wake-up and a wait for the interpreter, which the old events bench showed
to dominate the latency of a busy /events.
"""

from __future__ import annotations

import enum
import fcntl
import hmac
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import IO, Any

from flask import Flask
from sqlalchemy import Connection, Engine, Table, event
from sqlalchemy.exc import DBAPIError

from app.inbox.statements import GroupStatements

log = logging.getLogger(__name__)


# A leader writes the groups that queued while it wrote its own, up to this many, before it hands the lead
# to a waiting row: a hand-off is a thread woken that must win the GIL from the followers just answered,
# and the database idles meanwhile; each group more delays the leader's own answer by one commit.
GROUPS_LED = 4


class WriteFailed(Exception):
    """The transaction holding the row did not commit (or did not finish in time)."""


class Outcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REFUSED = "refused"  # unknown portal, or an application_token that is not the portal's


def _held_lock() -> threading.Lock:
    """A lock already acquired: the row's wake-up signal, not yet given."""
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)  # a row is itself: `in` and `remove` on the queue compare identity
class PendingRow:
    """One request's row and the sender it claims, waiting for the transaction that holds it."""

    values: dict[str, Any]
    token_sha256: str  # digest of the presented application_token; checked in the group's transaction
    # Held from the start; released once per signal (written, or promoted to lead), and a follower's
    # acquire takes the signal. A bare lock, not an Event: Event.set and wait run a Condition in Python
    # (a waiter lock allocated, a deque, notify_all), which py-spy showed at 8 % of a worker's GIL time.
    wake: threading.Lock = field(default_factory=_held_lock)
    written: bool = False
    leads: bool = False
    outcome: Outcome = Outcome.REFUSED
    error: BaseException | None = None


class InboxWriter:
    """Collects rows from request threads and commits them in groups; one per process and engine."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        senders: Table,
        *,
        max_batch: int = 200,
        groups_led: int = GROUPS_LED,
    ) -> None:
        self.engine = engine
        self.table = table
        self.senders = senders
        self.max_batch = max_batch
        self.groups_led = groups_led
        self.pid = os.getpid()
        self.statements = GroupStatements(engine.dialect, table, senders)
        self._queue: list[PendingRow] = []
        self._lock = threading.Lock()
        self._writing = False  # a leader is writing a group; while False the queue is empty
        self._connection: Connection | None = None  # used by the leader only
        self._lock_handle: IO[str] | None = None  # SQLite only: the leaders' lock file
        event.listen(engine, "engine_disposed", self._close)  # a disposed engine must leave nothing open

    def write(self, values: dict[str, Any], token_sha256: str, *, timeout: float = 30.0) -> Outcome:
        """Store a row once its group commits, if its sender checks out; WriteFailed if nothing committed."""
        return self._await(self._enqueue(values, token_sha256), timeout)

    def _enqueue(self, values: dict[str, Any], token_sha256: str) -> PendingRow:
        """Queue a row; it leads if no group is being written."""
        row = PendingRow(values, token_sha256)
        with self._lock:
            self._queue.append(row)
            row.leads, self._writing = not self._writing, True
        return row

    def _await(self, row: PendingRow, timeout: float) -> Outcome:
        """Lead or wait until the row's group is written; its outcome, or WriteFailed."""
        deadline = time.monotonic() + timeout
        while not row.written:
            if row.leads:
                # Promoted between _enqueue and the first wait, the row has its signal still to take:
                # taken here, or _flush's release of it would find the lock free (RuntimeError).
                row.wake.acquire(blocking=False)
                self._lead()
            elif not row.wake.acquire(timeout=max(0.0, deadline - time.monotonic())):
                self._give_up(row, timeout)
        if row.error is not None:
            raise WriteFailed(type(row.error).__name__) from row.error
        return row.outcome

    def _give_up(self, row: PendingRow, timeout: float) -> None:
        """Leave the queue after `timeout`; a row promoted meanwhile leads, one being written waits for it."""
        with self._lock:
            if row.leads:  # promoted under this lock, its signal given: take it, or _flush's release fails
                row.wake.acquire(blocking=False)
                return
            if row.written:
                return
            if row in self._queue:
                self._queue.remove(row)
                raise WriteFailed(f"no commit within {timeout:g} s")
        # A leader took it into the group it is writing: only that group's outcome may answer it.
        row.wake.acquire()

    def _lead(self) -> None:
        """Write the queue's first group (the leader's row is its head) and the next ones, `groups_led` in
        all at most; then pass the lead on."""
        try:
            for _ in range(self.groups_led):
                with self._lock:
                    batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                if not batch or not self._flush(batch):
                    break  # nothing queued, or a failing database: answer this thread's own 503 now
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].leads = True
                    self._queue[0].wake.release()
                else:
                    self._writing = False

    def _flush(self, batch: list[PendingRow]) -> bool:
        """Commit the group and wake its rows with their outcomes; whether it committed."""
        committed = True
        try:
            self._commit_once_more_if_disconnected(batch)
        except Exception as error:  # every row of the group fails with it: none was committed
            committed = False
            log.error(
                "inbox: a group of %d events was not committed (%s); answered 503, and the portal "
                "does not resend events, so they are lost unless reconciled",
                len(batch),
                type(error).__name__,
            )
            for row in batch:
                row.error = error
        for row in batch:
            row.written, row.leads = True, False
            row.wake.release()
        return committed

    def _commit_once_more_if_disconnected(self, batch: list[PendingRow]) -> None:
        """Write the group; if the kept connection had died (a database restart), once more on a new one.

        Safe to repeat: the insert does nothing for keys already there, so an insert that did commit before
        the connection broke turns into "duplicate" answers (still 200, still stored), never a second row.
        """
        try:
            self._commit(batch)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            log.warning("inbox: the writer's database connection was lost; writing the group again")
            self._commit(batch)

    def _commit(self, batch: list[PendingRow]) -> None:
        """Insert the rows whose sender checks out, in one statement; then give each row its outcome."""
        with self._writers_queue(), self._group_connection() as connection:
            claims: dict[tuple[str, str], PendingRow] = {}  # per key and claimed sender, the first row
            for row in batch:
                claims.setdefault((row.values["dedup_key"], row.token_sha256), row)
            new = self._insert(connection, list(claims.values()))
            rivals = Counter(key for key, _ in claims)  # a key claimed with two different tokens
            unsure = [
                row
                for row in batch
                if row.values["dedup_key"] not in new or rivals[row.values["dedup_key"]] > 1
            ]
            digests = self._digests(connection, {row.values["member_id"] for row in unsure}) if unsure else {}
        for row in batch:
            key = row.values["dedup_key"]
            first = claims[(key, row.token_sha256)] is row
            if key in new and rivals[key] == 1:  # the database found this token the portal's
                row.outcome = Outcome.STORED if first else Outcome.DUPLICATE
            elif not self._genuine(row, digests):
                row.outcome = Outcome.REFUSED
            else:
                row.outcome = Outcome.STORED if key in new and first else Outcome.DUPLICATE

    @staticmethod
    def _genuine(row: PendingRow, digests: dict[str, str]) -> bool:
        """Whether the row came with its portal's application_token (digests compared in constant time)."""
        stored = digests.get(row.values["member_id"])
        return stored is not None and hmac.compare_digest(stored, row.token_sha256)

    def _close(self, _engine: Engine) -> None:
        handle, self._lock_handle = self._lock_handle, None
        if handle is not None:
            handle.close()
        connection, self._connection = self._connection, None
        if connection is not None:  # the engine's pool is gone already: close the driver's connection itself
            connection.invalidate()
            connection.close()

    @contextmanager
    def _group_connection(self) -> Iterator[Connection]:
        """The writer's own autocommit connection (no pool checkout per group); dropped if it breaks."""
        # Only the leader writes, so one connection serves every group of this process. The digest read
        # needs no transaction around it: under READ COMMITTED it could not hold a portal's row still anyway.
        if self._connection is None or self._connection.closed or self._connection.invalidated:
            self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection = self._connection
        try:
            yield connection
        except BaseException:
            self._connection = None
            connection.close()
            raise

    def _digests(self, connection: Connection, member_ids: set[str]) -> dict[str, str]:
        """The stored application_token digests of these portals, in one read."""
        named = sorted(member_ids)
        found = connection.exec_driver_sql(self.statements.digests_sql(len(named)), tuple(named))
        return {member_id: digest for member_id, digest in found if digest}

    def _insert(self, connection: Connection, rows: list[PendingRow]) -> set[str]:
        """Insert the rows whose claimed sender is their portal's, in one statement; the new keys."""
        names = tuple(rows[0].values)
        sql = self.statements.insert_sql(names, len(rows))
        params = self.statements.insert_params(names, [(row.values, row.token_sha256) for row in rows])
        return {key for (key,) in self._driver_execute(connection, sql, params)}

    def _driver_execute(self, connection: Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """Run `sql` on the driver's cursor; its errors raised as SQLAlchemy's, a lost connection invalidated.

        SQLAlchemy's execution and result layers cost a fifth of the leader's CPU per group (measured in
        process on PostgreSQL: 930-960 us a group of four through exec_driver_sql, 725 us on the cursor).
        """
        dialect = self.engine.dialect
        driver = connection.connection.dbapi_connection
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, driver, cursor)
            if lost:
                connection.invalidate(error)
            raise DBAPIError.instance(
                sql,
                params,
                error,
                dialect.loaded_dbapi.Error,
                hide_parameters=True,
                connection_invalidated=lost,
            ) from error
        finally:
            with suppress(dialect.loaded_dbapi.Error):  # the connection may be gone with its cursor
                cursor.close()

    @contextmanager
    def _writers_queue(self) -> Iterator[None]:
        """On a SQLite file, queue the processes' leaders on a kernel lock beside the database.

        SQLite's own busy handler sleeps and polls (1, 2, 5 … 100 ms), so two processes' leaders
        colliding cost a group tens of milliseconds; a blocked flock wakes as soon as the other commits.
        """
        handle = self._lock_file()
        if handle is None:
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

    def _lock_file(self) -> IO[str] | None:
        """The lock file beside a SQLite database, opened once per writer; None for other databases."""
        path = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if not path or path == ":memory:":
            return None
        if self._lock_handle is None:
            self._lock_handle = open(f"{path}.inbox-lock", "a")  # noqa: SIM115 (kept open: one per process)
        return self._lock_handle


_created = threading.Lock()


def writer_for(app: Flask, engine: Engine, table: Table, senders: Table) -> InboxWriter:
    """This process's writer for `app`, made on first use (never in the factory: threads die in a fork)."""
    with _created:
        writer = app.extensions.get("inbox_writer")
        if not isinstance(writer, InboxWriter) or writer.pid != os.getpid() or writer.engine is not engine:
            writer = InboxWriter(engine, table, senders)
            app.extensions["inbox_writer"] = writer
        return writer
