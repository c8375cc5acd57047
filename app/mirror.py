"""The activity mirror: idempotent writes of what the portal said about its activities."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from app.bitrix24.activities import Activity as PortalActivity
from app.bitrix24.activities import parse_activity
from app.bitrix24.client import Client
from app.extensions import AnySession
from app.models import Activity

ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]
PAGE = 50


def dialect_insert(session: AnySession, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT, for the session's backend (SQLite or PostgreSQL)."""
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


def upsert(session: AnySession, member_id: str, activity: PortalActivity, *, seen_at: datetime) -> None:
    """Insert or update the mirror row from a fresh read; an older read never overwrites a newer one.

    `updated_at` is when the portal was read, so two workers that read one activity at different times
    leave the later read. `deleted` is never cleared: Bitrix24 does not reuse activity ids.
    """
    values = _row(member_id, activity, seen_at)
    statement = dialect_insert(session, ACTIVITIES).values(**values, deleted=False)
    changed = {key: statement.excluded[key] for key in values if key not in ("member_id", "activity_id")}
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["member_id", "activity_id"],
            set_=changed,
            where=ACTIVITIES.c.updated_at <= statement.excluded.updated_at,
        )
    )


def _row(member_id: str, activity: PortalActivity, seen_at: datetime) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "activity_id": activity.id,
        "owner_type_id": activity.owner_type_id or None,
        "owner_id": activity.owner_id or None,
        "provider_id": activity.provider_id or None,
        "provider_type_id": activity.provider_type_id or None,
        "subject": activity.subject[:512] or None,
        "fields": _jsonable(activity.fields),
        "updated_at": seen_at,
    }


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    """The raw fields as the portal sent them (JSON already, but keep the column safe)."""
    return {str(key): value for key, value in fields.items()}


def mark_deleted(
    session: AnySession, member_id: str, activity_ids: Iterable[int], *, seen_at: datetime
) -> None:
    """Mark activities deleted, leaving a tombstone for one never mirrored.

    The tombstone matters when events race: a read that finished before the deletion and is written after it
    finds the row deleted, and `upsert` never clears `deleted`.
    """
    rows = [
        {"member_id": member_id, "activity_id": i, "fields": {}, "deleted": True, "updated_at": seen_at}
        for i in sorted(set(activity_ids))
    ]
    if not rows:
        return
    statement = dialect_insert(session, ACTIVITIES).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["member_id", "activity_id"],
            set_={"deleted": True, "updated_at": statement.excluded.updated_at},
        )
    )


def existing_ids(session: AnySession, member_id: str, activity_ids: Iterable[int]) -> set[int]:
    """Which of these activities the mirror already holds."""
    ids = sorted(set(activity_ids))
    if not ids:
        return set()
    rows = session.execute(
        select(ACTIVITIES.c.activity_id).where(
            ACTIVITIES.c.member_id == member_id, ACTIVITIES.c.activity_id.in_(ids)
        )
    )
    return {int(row[0]) for row in rows}


@dataclass(frozen=True)
class Repair:
    """What `reconcile` found: activities changed since the given time, and how the mirror took them."""

    changed: int
    added: int
    updated: int


def reconcile(
    session: AnySession, client: Client, member_id: str, *, since: datetime, now: datetime
) -> Repair:
    """Read every activity changed since `since` (`>LAST_UPDATED`) and upsert it; the caller commits."""
    params = {"filter": {">LAST_UPDATED": since.isoformat(timespec="seconds")}, "select": ["*"]}
    changed = added = 0
    page: list[PortalActivity] = []
    for raw in client.iterate("crm.activity.list", params):
        page.append(parse_activity(raw))
        if len(page) == PAGE:
            added += _repair_page(session, member_id, page, now)
            changed, page = changed + len(page), []
    added += _repair_page(session, member_id, page, now)
    changed += len(page)
    return Repair(changed=changed, added=added, updated=changed - added)


def _repair_page(session: AnySession, member_id: str, page: list[PortalActivity], now: datetime) -> int:
    """Upsert one page; return how many rows were new to the mirror."""
    known = existing_ids(session, member_id, (activity.id for activity in page))
    for activity in page:
        upsert(session, member_id, activity, seen_at=now)
    return len({activity.id for activity in page} - known)
