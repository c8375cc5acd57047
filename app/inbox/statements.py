"""The group commit's two statements as driver SQL: made from the tables, bound by SQLAlchemy's own types.

POST /events runs them for every group of rows, so they skip SQLAlchemy's statement compilation: its cache
key and parameter processing cost more than the database read on SQLite, and half of it on PostgreSQL. They
keep table and column names from the models, quoting from the dialect, and each column's bind processor, so
a value is sent exactly as an ORM insert sends it (JSON text or psycopg's Json, naive UTC datetimes, enum
values). The writer runs the insert on the driver's cursor and raises its errors as SQLAlchemy's.
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
        self._member_id = quote(senders.c.member_id.name)
        self._digest = quote(senders.c.application_token_sha256.name)
        self._portals = dialect.identifier_preparer.format_table(senders)
        # Every name comes from the models, quoted by the dialect; the values are bound parameters.
        self._digests_head = (
            f"SELECT {self._member_id}, {self._digest} FROM {self._portals} WHERE {self._member_id} IN "  # noqa: S608
        )
        self.insert_sql = lru_cache(maxsize=64)(self._insert_sql)

    def digests_sql(self, count: int) -> str:
        """SELECT member_id, application_token_sha256 of `count` portals named by positional parameters."""
        return f"{self._digests_head}({', '.join([self._marker] * count)})"

    def _insert_sql(self, names: tuple[str, ...], rows: int) -> str:
        """One INSERT of `rows` rows whose claimed sender digest is the portal's; new keys returned.

        Each row is its columns plus the digest of the application_token it came with (`claimed`). Only rows
        whose digest equals the stored one are inserted; known keys are skipped. The database compares
        SHA-256 digests, never a token: how long a prefix of the digest of one's own guess matches tells
        nothing about the token, so this equality needs no constant time (tokens are compared in Python).
        """
        one = "(" + ", ".join([self._marker] * (len(names) + 1)) + ")"
        columns = [self._quote(name) for name in names]
        member_id = self._quote("member_id")
        return (
            f"WITH claims ({', '.join(columns)}, claimed) AS (VALUES {', '.join([one] * rows)}) "  # noqa: S608
            f"INSERT INTO {self._table} ({', '.join(columns)}) "
            f"SELECT {', '.join(f'claims.{column}' for column in columns)} FROM claims "
            f"JOIN {self._portals} ON {self._portals}.{self._member_id} = claims.{member_id} "
            f"AND {self._portals}.{self._digest} = claims.claimed "
            f"WHERE true ON CONFLICT ({self._key}) DO NOTHING RETURNING {self._key}"  # SQLite needs the WHERE
        )

    def insert_params(
        self, names: tuple[str, ...], rows: Sequence[tuple[Mapping[str, Any], str]]
    ) -> tuple[Any, ...]:
        """Each row's values in column order, through their columns' bind processors, then its digest."""
        processors = [self._processors[name] for name in names]
        params: list[Any] = []
        for values, claimed in rows:
            params += [
                value if process is None else process(value)
                for process, value in zip(processors, (values[name] for name in names), strict=True)
            ]
            params.append(claimed)
        return tuple(params)
