"""A connection the database ends under a request (a restart) is discarded: no bare 500, no stale session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from app.config import engine_options
from app.extensions import db
from tests.conftest import POSTGRES_URL, make_config, running_app

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL not set"),
]


@pytest.fixture
def pg_app(database_url: str) -> Iterator[Flask]:
    """The app with the pool a production process gets for this URL (pre-ping included)."""
    options = engine_options({"DATABASE_URL": database_url})
    with running_app(make_config(database_url, SQLALCHEMY_ENGINE_OPTIONS=options)) as app:
        yield app


def backend_pid() -> int:
    return int(db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(pid: int) -> None:
    """What `pg_ctl restart -m fast` does to every connection: the server ends it."""
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_session_whose_connection_was_ended_is_dropped_at_teardown(pg_app) -> None:
    with pg_app.app_context():
        pid = backend_pid()
        terminate(pid)
    with pg_app.app_context():  # the teardown above did not raise, and this session is a new one
        assert backend_pid() != pid


def test_requests_after_the_pools_connections_were_ended_are_served(pg_app) -> None:
    with pg_app.app_context():
        pid = backend_pid()
    terminate(pid)
    client = pg_app.test_client()
    assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
