"""The group commit's two statements as driver SQL: made from the tables, bound by SQLAlchemy's own types.

POST /events runs them for every group of rows, so they skip SQLAlchemy's statement compilation: its cache
key and parameter processing cost more than the database read on SQLite, and half of it on PostgreSQL. They
keep table and column names from the models, quoting from the dialect, and each column's bind processor, so
a value is sent exactly as an ORM insert sends it (JSON text or psycopg's Json, naive UTC datetimes, enum
values). They run through `Connection.exec_driver_sql`, so errors are still SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, Table

MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}  # positional markers of the drivers we support


class GroupStatements:
    """SQL text for reading senders' digests and inserting a group's rows; one per writer."""

    def __init__(self, dialect: Dialect, table: Table, senders: Table, *, key: str = "dedup_key") -> None:
        if dialect.paramstyle not in MARKERS:
            raise ValueError(f"no positional parameters for the {dialect.paramstyle!r} style")
        self._marker = MARKERS[dialect.paramstyle]
        quote = dialect.identifier_preparer.quote
        self._table = dialect.identifier_preparer.format_table(table)
        self._key = quote(key)
        self._quote = quote
        self._processors: dict[str, Callable[[Any], Any] | None] = {
            column.name: column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.c
        }
        member_id, digest = quote(senders.c.member_id.name), quote(senders.c.application_token_sha256.name)
        portals = dialect.identifier_preparer.format_table(senders)
        # Every name comes from the models, quoted by the dialect; the values are bound parameters.
        self._digests_head = f"SELECT {member_id}, {digest} FROM {portals} WHERE {member_id} IN "  # noqa: S608
        self.insert_sql = lru_cache(maxsize=64)(self._insert_sql)

    def digests_sql(self, count: int) -> str:
        """SELECT member_id, application_token_sha256 of `count` portals named by positional parameters."""
        return f"{self._digests_head}({', '.join([self._marker] * count)})"

    def _insert_sql(self, names: tuple[str, ...], rows: int) -> str:
        """One INSERT of `rows` rows of these columns that skips known keys and returns the new ones."""
        one = "(" + ", ".join([self._marker] * len(names)) + ")"
        columns = ", ".join(self._quote(name) for name in names)
        return (
            f"INSERT INTO {self._table} ({columns}) VALUES {', '.join([one] * rows)} "  # noqa: S608 (names only)
            f"ON CONFLICT ({self._key}) DO NOTHING RETURNING {self._key}"
        )

    def insert_params(self, names: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
        """The rows' values in column order, each through its column's bind processor."""
        processors = [self._processors[name] for name in names]
        return tuple(
            value if process is None else process(value)
            for row in rows
            for process, value in zip(processors, (row[name] for name in names), strict=True)
        )
