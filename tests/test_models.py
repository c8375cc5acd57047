"""The models and the Alembic revisions describe the same schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError, StatementError

from app import create_app
from app.extensions import db
from app.models import InboxEvent, Portal, PortalState, RateLimitBucket
from tests.conftest import database_urls, make_config, sqlite_url, wipe

TABLES = {"portals", "inbox", "activities", "rate_limits", "oauth_states", "enrichment_rules"}


def empty_app(backend: str, tmp_path: Path) -> Flask:
    """The app on an empty database: a SQLite file in tmp_path, or the test PostgreSQL wiped."""
    url = sqlite_url(tmp_path) if backend == "sqlite" else backend
    if backend != "sqlite":
        wipe(url)
    return create_app(make_config(url))


@pytest.mark.parametrize("backend", database_urls())
def test_migrations_create_exactly_the_models_and_downgrade_removes_them(
    backend: str, tmp_path: Path
) -> None:
    app = empty_app(backend, tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}), db.metadata
            )
            assert diff == []
            assert set(inspect(connection).get_table_names()) >= TABLES
        flask_migrate.downgrade(revision="base")
        with db.engine.connect() as connection:
            assert not TABLES & set(inspect(connection).get_table_names())
        db.engine.dispose()


def test_member_id_is_unique(app, db) -> None:
    for _ in range(2):
        db.session.add(Portal(member_id="m" * 32, domain="x.bitrix24.com", client_endpoint="https://x/rest/"))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_defaults_and_aware_utc_timestamps(app, db) -> None:
    portal = Portal(
        member_id="n" * 32, domain="x.bitrix24.com", client_endpoint="https://x.bitrix24.com/rest/"
    )
    portal.rate_limit = RateLimitBucket()
    db.session.add(portal)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Portal, portal.id)
    assert stored.state is PortalState.INSTALLING and stored.token_version == 0
    assert stored.created_at.tzinfo is UTC
    assert abs(stored.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert stored.rate_limit.level == 0.0


def test_inbox_dedup_key_is_unique(app, db) -> None:
    for _ in range(2):
        db.session.add(InboxEvent(dedup_key="k" * 64, event="ONCRMACTIVITYADD", member_id="m", payload={}))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_naive_datetimes_are_refused(app, db) -> None:
    db.session.add(
        InboxEvent(dedup_key="z", event="E", member_id="m", payload={}, received_at=datetime(2026, 1, 1))
    )
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.commit()
    db.session.rollback()


def test_0006_upgrades_a_0005_database_keeping_its_portals(tmp_path: Path) -> None:
    """Rows stored before 0006_sec_trust get generation 1 and no pending uninstall; clicks no sealed token."""
    from sqlalchemy import text

    app = create_app(make_config(sqlite_url(tmp_path)))
    with app.app_context():
        flask_migrate.upgrade(revision="0005_sec_throttle")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO portals (member_id, domain, client_endpoint, scope, state, token_version, "
                    "created_at, updated_at) VALUES ('m', 'x.bitrix24.com', "
                    "'https://x.bitrix24.com/rest/', '', "
                    "'active', 0, '2026-12-01 00:00:00', '2026-12-01 00:00:00')"
                )
            )
        flask_migrate.upgrade()
        portal = db.session.query(Portal).one()
        assert (portal.member_id, portal.state, portal.generation) == ("m", PortalState.ACTIVE, 1)
        assert portal.uninstall_clean is None and portal.uninstall_requested_at is None
        assert "user_token_enc" in {c["name"] for c in inspect(db.engine).get_columns("inbox")}
        db.session.remove()
        flask_migrate.downgrade(revision="0005_sec_throttle")
        assert "generation" not in {c["name"] for c in inspect(db.engine).get_columns("portals")}
        db.engine.dispose()


OLD_PAYLOAD = {"event": "ONCRMACTIVITYADD", "data": {"FIELDS": {"ID": "7"}}, "auth": {"member_id": "m"}}
OLD_ROW = (
    "INSERT INTO inbox (dedup_key, event, member_id, payload, status, attempts, next_attempt_at, "
    "received_at) VALUES ('old', 'ONCRMACTIVITYADD', 'm', :payload, 'done', 1, '2026-12-01 00:00:00', "
    "'2026-12-01 00:00:00')"
)


@pytest.mark.parametrize("backend", database_urls())
def test_0007_keeps_old_payloads_readable_and_stores_new_ones_compactly(backend: str, tmp_path: Path) -> None:
    """Rows written before 0007_retention read as before; new ones are deflated; a downgrade inflates them."""
    import json

    from sqlalchemy import text

    app = empty_app(backend, tmp_path)
    with app.app_context():
        flask_migrate.upgrade(revision="0006_metrics13")
        with db.engine.begin() as connection:
            connection.execute(text(OLD_ROW), {"payload": json.dumps(OLD_PAYLOAD)})
        flask_migrate.upgrade()
        assert db.session.scalar(select_payload("old")) == OLD_PAYLOAD
        new = {"event": "ONCRMACTIVITYUPDATE", "data": {"FIELDS": {"ID": "8"}}, "auth": {"user_id": "1"}}
        db.session.add(InboxEvent(dedup_key="new", event="ONCRMACTIVITYUPDATE", member_id="m", payload=new))
        db.session.commit()
        stored = bytes(
            db.session.execute(text("SELECT payload FROM inbox WHERE dedup_key = 'new'")).scalar_one()
        )
        assert stored[:1] == b"\x01" and len(stored) < len(json.dumps(new, separators=(",", ":")))
        db.session.expire_all()
        assert db.session.scalar(select_payload("new")) == new
        db.session.remove()
        flask_migrate.downgrade(revision="0006_metrics13")
        with db.engine.connect() as connection:
            rows = dict(connection.execute(text("SELECT dedup_key, payload FROM inbox")).all())
        as_objects = {
            key: value if isinstance(value, dict) else json.loads(value) for key, value in rows.items()
        }
        assert as_objects == {"old": OLD_PAYLOAD, "new": new}
        db.engine.dispose()


def select_payload(dedup_key: str):
    from sqlalchemy import select

    return select(InboxEvent.payload).where(InboxEvent.dedup_key == dedup_key)


@pytest.mark.parametrize("backend", database_urls())
def test_0008_counts_a_portals_live_activities_from_their_partial_index(backend: str, tmp_path: Path) -> None:
    """The admin page's activity count reads ix_activities_live_by_portal alone; a downgrade drops it."""
    from sqlalchemy import event, text

    from app.main import service
    from app.models import Activity

    app = empty_app(backend, tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
        for n in range(30):
            db.session.add(Activity(member_id="m" if n < 20 else "other", activity_id=n, deleted=n % 4 == 0))
        db.session.commit()
        seen: list[tuple[str, object]] = []

        def record(conn, cursor, statement, parameters, context, many) -> None:
            if "FROM activities" in statement:
                seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            overview = service.overview_with(Portal(member_id="m"), None, "")
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert overview.activities == 15  # 20 of portal m, 5 of them deleted
        if backend == "sqlite":
            ((statement, parameters),) = seen
            with db.engine.connect() as connection:
                plan = [
                    r[-1] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                ]
            assert len(plan) == 1 and plan[0].startswith(
                "SEARCH activities USING COVERING INDEX ix_activities_live_by_portal (member_id=?"
            ), plan
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("activities")}
        assert "ix_activities_live_by_portal" in indexes
        db.session.remove()
        flask_migrate.downgrade(revision="0007_retention")
        assert "ix_activities_live_by_portal" not in {
            i["name"] for i in inspect(db.engine).get_indexes("activities")
        }
        assert db.session.scalar(text("SELECT count(*) FROM activities")) == 30
        db.session.remove()
        db.engine.dispose()
