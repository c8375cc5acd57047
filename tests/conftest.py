"""Fixtures for the app's tests: the app on a real database, its test client and CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db as _db

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


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app(make_config(database_url))
    with app.app_context():
        _db.create_all()
        yield app
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def db(app: Flask):
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
