"""The activity mirror: idempotent writes of what the portal said about its activities."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from app.bitrix24.activities import Activity as PortalActivity
from app.bitrix24.activities import parse_activity
from app.bitrix24.client import Client
from app.extensions import AnySession
from app.models import Activity, MirrorEffect

ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]
EFFECTS: Table = MirrorEffect.__table__  # type: ignore[assignment]
DELETED = "deleted"  # the effect version of a deletion
PAGE = 50


def dialect_insert(session: AnySession, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT, for the session's backend (SQLite or PostgreSQL)."""
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


def upsert(session: AnySession, member_id: str, activity: PortalActivity, *, seen_at: datetime) -> bool:
    """Insert or update the mirror row from a fresh read; True (and an effect logged) if it changed the row.

    `updated_at` is when the portal was read, so two workers that read one activity at different times
    leave the later read; a read the portal says is older (LAST_UPDATED) never overwrites a newer one; a
    read whose fields equal the row's (its `version`) writes nothing, so one change brought by both the
    online event and the offline queue is applied once. `deleted` is never cleared: Bitrix24 does not
    reuse activity ids.
    """
    values = _row(member_id, activity, seen_at)
    statement = dialect_insert(session, ACTIVITIES).values(**values, deleted=False)
    changed = {key: statement.excluded[key] for key in values if key not in ("member_id", "activity_id")}
    new = statement.excluded
    written = session.execute(
        statement.on_conflict_do_update(
            index_elements=["member_id", "activity_id"],
            set_=changed,
            where=and_(
                ACTIVITIES.c.updated_at <= new.updated_at,
                or_(ACTIVITIES.c.version.is_(None), ACTIVITIES.c.version != new.version),
                or_(
                    ACTIVITIES.c.last_updated.is_(None),
                    new.last_updated.is_(None),
                    ACTIVITIES.c.last_updated <= new.last_updated,
                ),
            ),
        ).returning(ACTIVITIES.c.activity_id)
    ).first()
    if written is not None:
        _log_effects(session, member_id, [activity.id], values["version"], seen_at)
    return written is not None


def version_of(fields: dict[str, Any]) -> str:
    """sha256 of the fields as the portal sent them (keys sorted): equal reads, equal versions."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _log_effects(
    session: AnySession, member_id: str, activity_ids: list[int], version: str, applied_at: datetime
) -> None:
    """Record changes the mirror took (models.MirrorEffect: no unique key, so repeats would show)."""
    rows = [
        {"member_id": member_id, "activity_id": i, "version": version, "applied_at": applied_at}
        for i in activity_ids
    ]
    if rows:
        session.execute(insert(EFFECTS), rows)


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
        "version": version_of(activity.fields),
        "last_updated": activity.last_updated,
        "updated_at": seen_at,
    }


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    """The raw fields as the portal sent them (JSON already, but keep the column safe)."""
    return {str(key): value for key, value in fields.items()}


def mark_deleted(
    session: AnySession, member_id: str, activity_ids: Iterable[int], *, seen_at: datetime
) -> None:
    """Mark activities deleted, leaving a tombstone for one never mirrored; each new deletion is an effect.

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
    marked = session.execute(
        statement.on_conflict_do_update(
            index_elements=["member_id", "activity_id"],
            set_={"deleted": True, "updated_at": statement.excluded.updated_at},
            where=ACTIVITIES.c.deleted.is_(False),  # a deletion already taken is not taken again
        ).returning(ACTIVITIES.c.activity_id)
    )
    _log_effects(session, member_id, sorted(int(row[0]) for row in marked), DELETED, seen_at)


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
