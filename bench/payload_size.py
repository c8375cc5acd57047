"""Bytes the inbox takes per million events, before 0007_retention (plain JSON) and after (compact payloads).

Stores --rows activity events as the receiver stores them (`inbox_row`: the dedup key, the kept payload),
done, in two fresh databases built by the app's own migrations: one at 0006_metrics13 with the payload as it
was kept then (JSON text, the auth block's member_id, domain and endpoints included), one at head with the
app's CompactJSON. The events are an ONCRMACTIVITYADD/UPDATE mix as a portal posts them (notes §2.1),
distinct activities and timestamps. It prints the size of the inbox (table and indexes) scaled to a million.

Run: .venv/bin/python -m bench.payload_size [--rows 200000] [--database-url URL (an EMPTY PostgreSQL one)]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask_migrate import upgrade
from sqlalchemy import insert, inspect, text

from app import create_app
from app.extensions import db
from app.inbox.queue import INBOX, inbox_row
from app.models import InboxStatus, utcnow

MEMBER_ID = "9c1d7e5b3a2f4e6d8b0a1c3e5f7a9b2d"
OLD_KEPT_AUTH = ("domain", "member_id", "user_id", "client_endpoint", "server_endpoint", "status", "scope")
CHUNK = 10_000
OLD_INSERT = (
    "INSERT INTO inbox (dedup_key, event, member_id, payload, status, attempts, next_attempt_at, "
    "received_at, processed_at) VALUES (:dedup_key, :event, :member_id, :payload, 'done', 1, "
    ":next_attempt_at, :received_at, :processed_at)"
)
OLD_INSERT_PG = OLD_INSERT.replace(":payload,", "CAST(:payload AS json),")


def event(i: int) -> dict[str, Any]:
    """One activity event as the receiver parses a portal's POST (tokens included: they are not kept)."""
    return {
        "event": "ONCRMACTIVITYUPDATE" if i % 3 else "ONCRMACTIVITYADD",
        "event_handler_id": str(40 + i % 3),
        "data": {"FIELDS": {"ID": str(100_000 + i)}},
        "ts": str(1_764_000_000 + i),
        "auth": {
            "access_token": "a" * 70,
            "expires": "1764003600",
            "expires_in": "3600",
            "scope": "crm,placement,user_brief",
            "domain": "example.bitrix24.com",
            "server_endpoint": "https://oauth.bitrix.info/rest/",
            "status": "L",
            "client_endpoint": "https://example.bitrix24.com/rest/",
            "member_id": MEMBER_ID,
            "user_id": str(1 + i % 20),
            "application_token": "f" * 32,
        },
    }


def done_row(i: int, *, old: bool) -> dict[str, Any]:
    """The row the receiver stores for event i, settled; `old`: its payload as kept before 0007."""
    now = utcnow()
    row = {
        **inbox_row(event(i), MEMBER_ID, now),
        "status": InboxStatus.DONE,
        "processed_at": now,
        "attempts": 1,
    }
    if old:
        auth = event(i)["auth"]
        row["payload"] = {**row["payload"], "auth": {key: auth[key] for key in OLD_KEPT_AUTH}}
    return row


def measure(url: str, rows: int, *, old: bool) -> int:
    """Bytes of the inbox (table and indexes) after storing `rows` events in a fresh database at url."""
    config = {"APP_ENV": "testing", "SECRET_KEY": "b" * 48, "TOKEN_KEYS": [Fernet.generate_key().decode()]}
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="0006_metrics13" if old else "head")
        postgres = db.engine.dialect.name == "postgresql"
        for start in range(0, rows, CHUNK):
            batch = [done_row(i, old=old) for i in range(start, min(start + CHUNK, rows))]
            if old:  # the 0006 column is JSON: the text as the JSON type wrote it
                statement = text(OLD_INSERT_PG if postgres else OLD_INSERT)
                for row in batch:
                    row["payload"] = json.dumps(row["payload"])
                    for key in ("next_attempt_at", "received_at", "processed_at"):
                        row[key] = row[key].replace(tzinfo=None)
                db.session.execute(statement, batch)
            else:
                db.session.execute(insert(INBOX), batch)
            db.session.commit()
        size = _size(postgres)
        db.session.remove()
        if postgres:  # leave the database empty for the other run
            for table in inspect(db.engine).get_table_names():
                db.session.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
            db.session.commit()
        db.engine.dispose()
        return size


SQLITE_PARTS = (
    "SELECT name, sum(pgsize) FROM dbstat WHERE name = 'inbox' OR name LIKE 'ix_inbox%' "
    "OR name LIKE 'sqlite_autoindex_inbox%' GROUP BY name ORDER BY 2 DESC"
)


def _size(postgres: bool) -> int:
    """The inbox's bytes, its indexes included (SQLite: each part printed)."""
    if postgres:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE inbox"))
            return int(connection.scalar(text("SELECT pg_total_relation_size('inbox')")) or 0)
    parts = dict(db.session.execute(text(SQLITE_PARTS)).all())
    print("  " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in parts.items()))
    return sum(parts.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database (default: SQLite files)")
    args = parser.parse_args()
    for old in (True, False):
        with tempfile.TemporaryDirectory() as folder:
            url = args.database_url or f"sqlite:///{Path(folder) / 'inbox.sqlite3'}"
            size = measure(url, args.rows, old=old)
        label = "before (0006, JSON)" if old else "after (0007, compact)"
        per_million = size * 1_000_000 / args.rows / 1e6
        print(f"{label}: {per_million:.0f} MB per million events ({size} bytes for {args.rows} rows)")


if __name__ == "__main__":
    main()
