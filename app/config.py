"""Configuration from the environment only; dev and test secrets are generated once into instance/."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from app.bitrix24.hosts import connect_target, split_netloc, valid_pattern
from app.web.limits import DEFAULTS as BODY_LIMITS

ENVIRONMENTS = ("production", "development", "testing")
DEFAULT_OAUTH_URL = "https://oauth.bitrix.info"
DEFAULT_JS_URL = "//api.bitrix24.com/api/v1/"
# The Bitrix24 cloud zones. An on-premise portal needs no entry: the OAuth server vouches for its https name,
# called at checked public addresses only (app.bitrix24.pinning); list it here to call it as it resolves.
DEFAULT_ALLOWED_HOSTS = (
    "*.bitrix24.com,*.bitrix24.de,*.bitrix24.eu,*.bitrix24.es,*.bitrix24.fr,*.bitrix24.it,*.bitrix24.pl,"
    "*.bitrix24.uk,*.bitrix24.in,*.bitrix24.com.br,*.bitrix24.net,*.bitrix24.ru,*.bitrix24.by,*.bitrix24.kz,"
    "*.bitrix24.ua,*.bitrix24.tech,oauth.bitrix.info,oauth.bitrix24.tech"
)
LOG_FORMATS = ("json", "text")
SQL_DRIVERS = {"sqlite": "sqlite", "postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}


class ConfigError(SystemExit):
    """A start-up configuration problem.

    A SystemExit, because every entry point (gunicorn --preload, the flask CLI, the worker) then prints
    the one-line message and exits non-zero instead of showing a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"timeline-bridge: configuration error: {message}")
        self.message = message


def load_config(environ: Mapping[str, str], instance_path: Path) -> dict[str, Any]:
    """Build the Flask config from environment variables, failing with one line on a bad value."""
    env = environ.get("APP_ENV", "production").strip().lower()
    if env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    generated = env != "production"
    return {
        "APP_ENV": env,
        "TESTING": env == "testing",
        "SECRET_KEY": _secret(environ, "SECRET_KEY", instance_path, generated, secrets.token_urlsafe(48)),
        "TOKEN_KEYS": parse_token_keys(
            _secret(environ, "TOKEN_KEYS", instance_path, generated, Fernet.generate_key().decode())
        ),
        "SQLALCHEMY_DATABASE_URI": parse_database_url(
            environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'timeline_bridge.sqlite3'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(environ),
        "B24_CLIENT_ID": environ.get("B24_CLIENT_ID", ""),
        "B24_CLIENT_SECRET": environ.get("B24_CLIENT_SECRET", ""),
        "B24_OAUTH_URL": parse_base_url("B24_OAUTH_URL", environ.get("B24_OAUTH_URL", DEFAULT_OAUTH_URL)),
        "APP_BASE_URL": parse_base_url("APP_BASE_URL", environ.get("APP_BASE_URL", "http://127.0.0.1:5000")),
        "B24_ALLOWED_HOSTS": parse_host_patterns(environ.get("B24_ALLOWED_HOSTS", DEFAULT_ALLOWED_HOSTS)),
        "B24_JS_URL": parse_js_url(environ.get("B24_JS_URL", DEFAULT_JS_URL)),
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO").upper(),
        "LOG_FORMAT": parse_log_format(environ.get("LOG_FORMAT", "json")),
        # The session cookie only carries administrators signed in by /oauth/callback: first-party, unframed.
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": environ.get("APP_BASE_URL", "").strip().lower().startswith("https://"),
        # The bearer token Prometheus sends for /metrics; unset, only loopback and private addresses scrape.
        "METRICS_TOKEN": environ.get("METRICS_TOKEN", "").strip(),
        "TRUSTED_PROXY_COUNT": parse_count("TRUSTED_PROXY_COUNT", environ.get("TRUSTED_PROXY_COUNT", "0")),
        "JSON_DEPTH_LIMIT": parse_count("JSON_DEPTH_LIMIT", environ.get("JSON_DEPTH_LIMIT", "32"), low=1),
        # Inbox retention (app.inbox.retention), whole days; at least one, so no dedup key a late delivery
        # could still need is forgotten.
        "INBOX_KEEP_DONE_DAYS": parse_count(
            "INBOX_KEEP_DONE_DAYS", environ.get("INBOX_KEEP_DONE_DAYS", "7"), low=1
        ),
        "INBOX_KEEP_FAILED_DAYS": parse_count(
            "INBOX_KEEP_FAILED_DAYS", environ.get("INBOX_KEEP_FAILED_DAYS", "30"), low=1
        ),
        **load_limits(environ),
    }


def _secret(environ: Mapping[str, str], name: str, instance_path: Path, generated: bool, fresh: str) -> str:
    """Return a secret from the environment, or outside production one generated once into instance/."""
    value = environ.get(name, "").strip()
    if value:
        return value
    if not generated:
        raise ConfigError(f"{name} is not set; production refuses to start without it (see .env.example)")
    path = instance_path / name.lower()
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # Written with 0600 so the generated secret is readable by its owner only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(fresh)
    return path.read_text().strip()


def parse_log_format(raw: str) -> str:
    """`json` (one object per line, the production default) or `text` (short lines for a terminal)."""
    value = raw.strip().lower() or "json"
    if value not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be json or text, not {raw!r}")
    return value


def parse_token_keys(raw: str) -> list[str]:
    """Split TOKEN_KEYS and check each entry is a Fernet key (32 url-safe base64 bytes)."""
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys:
        raise ConfigError("TOKEN_KEYS is empty; give at least one Fernet key")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                f"TOKEN_KEYS entry {position} is not a Fernet key (make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from None
    return keys


def parse_database_url(raw: str) -> str:
    """Normalise DATABASE_URL to a SQLAlchemy URL with the psycopg driver for PostgreSQL."""
    try:
        url: URL = make_url(raw.strip())
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL is not a database URL (expected sqlite:///path or postgresql://…)"
        ) from None
    backend = url.drivername.split("+")[0]
    if backend not in SQL_DRIVERS:
        raise ConfigError(f"DATABASE_URL uses {backend!r}; only sqlite and postgresql are supported")
    if backend != "sqlite" and not url.host:
        raise ConfigError("DATABASE_URL has no host")
    return url.set(drivername=SQL_DRIVERS[backend]).render_as_string(hide_password=False)


def engine_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """A PostgreSQL pool that holds a connection per web thread (and the inbox flusher), never churning.

    SQLAlchemy's default (5 kept, overflow closed on return) would open a new server connection for most
    requests once more than 5 threads are busy. Each checkout pings first, so after a database restart
    the pool replaces its dead connections instead of handing them to a request (which would fail once).
    """
    if not environ.get("DATABASE_URL", "").strip().startswith("postgres"):
        return {}
    threads = int(environ.get("WEB_THREADS", "") or 4)
    return {"pool_size": threads + 4, "max_overflow": 10, "pool_pre_ping": True}


def load_limits(environ: Mapping[str, str]) -> dict[str, int]:
    """The body and form-field limits (app.web.limits), positive whole numbers, with their defaults."""
    limits = {}
    for name, default in BODY_LIMITS.items():
        raw = environ.get(name, "").strip()
        limits[name] = parse_count(name, raw, low=1) if raw else default
    return limits


def parse_count(name: str, raw: str, *, low: int = 0) -> int:
    """A small whole number (a count of proxies, a depth) of at least `low`."""
    value = raw.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and int(value) >= low):
        raise ConfigError(f"{name} must be a whole number of at least {low}, not {raw!r}")
    return int(value)


def parse_base_url(name: str, raw: str) -> str:
    """Check an absolute http(s) base URL whose host follows the host grammar; drop its trailing slash."""
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be an absolute http(s) URL, not {raw!r}")
    target = split_netloc(parts.netloc, scheme=parts.scheme)
    if target is None or connect_target(value) != target:
        raise ConfigError(f"{name} has a malformed host {parts.netloc!r} (letters, digits, dots, hyphens)")
    return value


def parse_js_url(raw: str) -> str:
    """B24_JS_URL: an http(s) or protocol-relative (`//host/path`) URL whose host follows the grammar."""
    value = raw.strip()
    parts = urlsplit(value)
    absolute = "https:" + value if value.startswith("//") else value
    if parts.scheme not in ("", "http", "https") or not value.startswith(("//", "http://", "https://")):
        raise ConfigError(f"B24_JS_URL must be an http(s) or //host/… URL, not {raw!r}")
    target = split_netloc(parts.netloc, scheme=parts.scheme or "https")
    if target is None or connect_target(absolute) != target or parts.query or parts.fragment:
        raise ConfigError(f"B24_JS_URL has a malformed host {parts.netloc!r}")
    return value


def parse_host_patterns(raw: str) -> tuple[str, ...]:
    """Split B24_ALLOWED_HOSTS into lower-case host patterns (`*.bitrix24.com`, `127.0.0.1:*`)."""
    patterns = tuple(p.strip().lower() for p in raw.split(",") if p.strip())
    if not patterns:
        raise ConfigError("B24_ALLOWED_HOSTS is empty; the app could call no portal")
    for pattern in patterns:
        if not valid_pattern(pattern):
            raise ConfigError(
                f"B24_ALLOWED_HOSTS has a malformed pattern {pattern!r} (host, host:port, host:*, *.domain)"
            )
    return patterns
