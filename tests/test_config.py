"""Configuration: production demands secrets, development generates them once, bad values stop start-up."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
KEY = Fernet.generate_key().decode()
PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "s" * 48, "TOKEN_KEYS": KEY}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "TOKEN_KEYS"])
def test_production_refuses_to_start_without_a_secret(tmp_path: Path, missing: str) -> None:
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError) as raised:
        load_config(environ, tmp_path)
    assert missing in raised.value.message
    assert not list(tmp_path.iterdir()), "production must never generate a secret"


def test_development_generates_secrets_once_and_reuses_them(tmp_path: Path) -> None:
    first = load_config({"APP_ENV": "development"}, tmp_path)
    second = load_config({"APP_ENV": "development"}, tmp_path)
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 48
    assert first["TOKEN_KEYS"] == second["TOKEN_KEYS"]
    Fernet(first["TOKEN_KEYS"][0])
    for name in ("secret_key", "token_keys"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_environment_values_win_over_generated_ones(tmp_path: Path) -> None:
    config = load_config({"APP_ENV": "development", "TOKEN_KEYS": f"{KEY}, {KEY}"}, tmp_path)
    assert config["TOKEN_KEYS"] == [KEY, KEY]


def test_every_documented_variable_is_read(tmp_path: Path) -> None:
    environ = {
        **PRODUCTION,
        "DATABASE_URL": "postgres://u:p@db.internal:5432/tb",
        "B24_CLIENT_ID": "local.abc",
        "B24_CLIENT_SECRET": "shh",
        "B24_OAUTH_URL": "https://oauth.bitrix24.tech/",
        "APP_BASE_URL": "https://tb.example.com/",
        "B24_ALLOWED_HOSTS": "*.bitrix24.de, 127.0.0.1:*",
        "B24_JS_URL": "http://127.0.0.1:9000/bx24.js",
    }
    config = load_config(environ, tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.internal:5432/tb"
    assert config["B24_OAUTH_URL"] == "https://oauth.bitrix24.tech"
    assert config["APP_BASE_URL"] == "https://tb.example.com"
    assert config["B24_ALLOWED_HOSTS"] == ("*.bitrix24.de", "127.0.0.1:*")
    assert (config["B24_CLIENT_ID"], config["B24_CLIENT_SECRET"]) == ("local.abc", "shh")
    assert config["B24_JS_URL"] == "http://127.0.0.1:9000/bx24.js"


def test_env_example_documents_every_variable() -> None:
    documented = (ROOT / ".env.example").read_text()
    source = (ROOT / "app" / "config.py").read_text()
    for name in (
        "DATABASE_URL",
        "SECRET_KEY",
        "TOKEN_KEYS",
        "B24_CLIENT_ID",
        "B24_CLIENT_SECRET",
        "B24_OAUTH_URL",
        "APP_BASE_URL",
        "B24_ALLOWED_HOSTS",
        "B24_JS_URL",
        "APP_ENV",
        "LOG_LEVEL",
    ):
        assert f"\n{name}=" in documented, name
        assert f'"{name}"' in source, name


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("DATABASE_URL", "not a url", "DATABASE_URL is not a database URL"),
        ("DATABASE_URL", "mysql://u@h/db", "only sqlite and postgresql"),
        ("DATABASE_URL", "postgresql:///nohost", "DATABASE_URL has no host"),
        ("TOKEN_KEYS", f"{KEY},not-a-key", "TOKEN_KEYS entry 2 is not a Fernet key"),
        ("TOKEN_KEYS", " , ", "TOKEN_KEYS is empty"),
        ("APP_BASE_URL", "tb.example.com", "APP_BASE_URL must be an absolute http(s) URL"),
        ("B24_OAUTH_URL", "ftp://oauth.bitrix.info", "B24_OAUTH_URL must be an absolute http(s) URL"),
        ("B24_ALLOWED_HOSTS", ",", "B24_ALLOWED_HOSTS is empty"),
        ("APP_ENV", "staging", "APP_ENV must be one of"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be json or text"),
    ],
)
def test_a_malformed_value_is_named(tmp_path: Path, variable: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({**PRODUCTION, variable: value}, tmp_path)
    assert words in raised.value.message


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"TOKEN_KEYS": "nope"}, "TOKEN_KEYS entry 1 is not a Fernet key"),
        ({"DATABASE_URL": "::::"}, "DATABASE_URL"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
    ],
)
@pytest.mark.parametrize("entry_point", ["factory", "flask-cli", "gunicorn"])
def test_start_up_stops_with_one_line_and_no_traceback(entry_point: str, environ: dict, words: str) -> None:
    commands = {
        "factory": [sys.executable, "-c", "from app import create_app; create_app()"],
        "flask-cli": [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        "gunicorn": [sys.executable, "-m", "gunicorn", "--preload", "-b", "127.0.0.1:0", "app:create_app()"],
    }
    env = {**os.environ, **PRODUCTION, **environ}
    done = subprocess.run(
        commands[entry_point], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(lines) == 1 and words in lines[0], done.stderr
