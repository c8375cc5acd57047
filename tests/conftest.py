"""Fixtures for the app's tests: the app on a real database, its test client and CLI runner."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from cryptography.fernet import Fernet
from flask import Flask, current_app
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, inspect, text

# This test run counts into a registry directory of its own (app.metrics), not the checkout's instance/:
# set before app.metrics (and prometheus_client) is imported. Subprocesses the tests start inherit it.
METRICS_DIR = tempfile.mkdtemp(prefix="tb-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR
atexit.register(shutil.rmtree, METRICS_DIR, ignore_errors=True)

from app import create_app
from app.extensions import db as _db
from app.inbox.queue import INBOX, inbox_row
from app.inbox.writer import Outcome, writer_for
from app.models import Portal, utcnow
from app.portals.store import digest, set_application_token
from bench.loadgen import install_portal
from sandbox.apps import finish_install
from sandbox.seed import reset_and_seed
from sandbox.testing import EventReceiver, RunningSandbox, serve, start_sandbox

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")


def database_urls() -> list:
    """SQLite always; PostgreSQL as well when TEST_DATABASE_URL names one, else a visible skip."""
    postgres = pytest.param(
        POSTGRES_URL,
        id="postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL not set"),
        ],
    )
    return [pytest.param("sqlite", id="sqlite"), postgres]


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


def wipe(url: str) -> None:
    """Drop every table (and Alembic's version table) so a test starts from an empty database."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in inspect(connection).get_table_names():
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    engine.dispose()


def make_config(url: str, **overrides: object) -> dict[str, object]:
    """The config tests pass to create_app."""
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "TOKEN_KEYS": [Fernet.generate_key().decode()],
        "SQLALCHEMY_DATABASE_URI": url,
        **overrides,
    }


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The database the test runs on: PostgreSQL when TEST_DATABASE_URL is set (CI), else SQLite."""
    if POSTGRES_URL:
        wipe(POSTGRES_URL)
        return POSTGRES_URL
    return sqlite_url(tmp_path)


@contextmanager
def running_app(config: dict[str, object]) -> Iterator[Flask]:
    """An app with its tables created, inside its app context; dropped afterwards."""
    app = create_app(config)
    with app.app_context():
        _db.create_all()
        yield app
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    with running_app(make_config(database_url)) as app:
        yield app


@pytest.fixture
def db(app: Flask):
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


# --- the sandbox portal, and the app connected to it ---


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    """One sandbox (OAuth host + two portals) as real HTTP servers on 127.0.0.1, for the whole session."""
    running = start_sandbox(portals=2)
    yield running
    running.stop()


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox) -> RunningSandbox:
    """The session's sandbox, reset and seeded: demo portal, users 1-3, CRM owners, the app installed."""
    sandbox_server.reset()
    return sandbox_server


def sandbox_config(sandbox: RunningSandbox) -> dict[str, object]:
    """What the app must be told to talk to the sandbox (the vendor console's credentials, its hosts)."""
    return {
        "B24_CLIENT_ID": sandbox.state.setting("client_id"),
        "B24_CLIENT_SECRET": sandbox.state.setting("client_secret"),
        "B24_OAUTH_URL": sandbox.oauth_url,
        "B24_ALLOWED_HOSTS": ("127.0.0.1:*",),
        "APP_BASE_URL": "http://127.0.0.1:5000",
    }


@pytest.fixture
def connected_app(database_url: str, sandbox: RunningSandbox) -> Iterator[Flask]:
    """The app on a fresh database, configured against the sandbox."""
    with running_app(make_config(database_url, **sandbox_config(sandbox))) as app:
        yield app


@pytest.fixture
def portal(connected_app: Flask, sandbox: RunningSandbox) -> Portal:
    """The demo portal, installed: its row holds a working token pair."""
    return install_portal(sandbox)


@pytest.fixture
def runner_for():
    """A CLI runner for an app other than the `app` fixture's."""
    return lambda app: app.test_cli_runner()


@pytest.fixture(scope="session")
def event_receiver_server() -> Iterator[EventReceiver]:
    receiver = EventReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def event_receiver(event_receiver_server: EventReceiver) -> EventReceiver:
    """A local HTTP listener recording POSTs; bind handlers to `event_receiver.url()`."""
    event_receiver_server.clear()
    return event_receiver_server


@dataclass
class LiveApp:
    """The connected app served over real HTTP, so the sandbox can post frames and events to it."""

    app: Flask
    url: str


@pytest.fixture
def live_app(connected_app: Flask, sandbox: RunningSandbox) -> Iterator[LiveApp]:
    """Serve the app on 127.0.0.1 and register that address with the sandbox; the app starts NOT installed."""
    server, thread = serve(connected_app)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    connected_app.config["APP_BASE_URL"] = url
    sandbox.configure(app_base_url=url, preinstalled=False)
    reset_and_seed(sandbox.state)
    yield LiveApp(connected_app, url)
    server.shutdown()
    server.server_close()
    thread.join(5)


# --- the app installed through the real flow, and events posted as the portal posts them ---


@pytest.fixture
def installed(live_app: LiveApp, sandbox: RunningSandbox) -> Portal:
    """Installed through the real flow: the installer page, then installFinish and its ONAPPINSTALL."""
    from tests.test_install import open_installer, stored

    assert open_installer(sandbox).status_code == 200
    finish_install(sandbox.state, sandbox.portal, user_id=1)
    assert sandbox.wait_for_deliveries(1)[0].status == 200
    return stored()[0]


def post_event(
    live_app, event: str, auth: dict[str, str], data: dict[str, str] | None = None
) -> requests.Response:
    """Post an event the way the portal does: form-encoded PHP bracket keys (notes §2.1)."""
    pairs = [("event", event), ("event_handler_id", "7"), ("ts", "1762089975")]
    pairs += [(f"data[{k}]", v) for k, v in (data or {}).items()]
    pairs += [(f"auth[{k}]", v) for k, v in auth.items()]
    return requests.post(
        live_app.url + "/events",
        data=urlencode(pairs),
        timeout=30,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


# --- events stored the way POST /events stores them ---

SENDER_TOKEN = "sender-token-of-the-tests"


def store_events(portal: Portal, events: list[dict], *, now: datetime | None = None) -> list[Outcome]:
    """Store events through the group-commit writer, as POST /events does, from a sender of known token."""
    set_application_token(portal, SENDER_TOKEN)
    _db.session.commit()
    writer = writer_for(current_app, _db.engine, INBOX, Portal.__table__)  # type: ignore[arg-type]
    moment = now or utcnow()
    return [
        writer.write(inbox_row(event, portal.member_id, moment), digest(SENDER_TOKEN)) for event in events
    ]


def csp_directives(response) -> dict[str, str]:
    """The response's Content-Security-Policy as {directive: its sources}."""
    policy = response.headers.get("Content-Security-Policy", "")
    pairs = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


def frame_ancestors(response) -> str:
    """Who may frame the response: the portal's origin, or 'none'."""
    return csp_directives(response)["frame-ancestors"]
