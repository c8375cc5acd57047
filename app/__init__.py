"""Timeline Bridge: a Bitrix24 app that lives in the CRM timeline."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from app.config import load_config
from app.errors import register_errorhandlers
from app.extensions import db, migrate, release_session
from app.i18n.selector import init_babel
from app.logs import configure_logging
from app.manifest import load_manifest
from app.portals.vault import TokenVault
from app.web import csp
from app.web.limits import install_limits
from app.web.proxies import trust_proxies
from app.web.sessions import CookieOnlySessions

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with `config` (tests) overriding it."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    overrides = config or {}
    environ = {**os.environ, **({"APP_ENV": overrides["APP_ENV"]} if "APP_ENV" in overrides else {})}
    app.config.update(load_config(environ, Path(app.instance_path)))
    app.config.update(overrides)
    manifest = app.extensions["manifest"] = load_manifest(
        ROOT / "manifest.json", Path(app.static_folder or "")
    )
    app.jinja_env.globals["app_title"] = manifest.name  # the slider's one title (static/bx24-fit.js)
    app.extensions["vault"] = TokenVault(app.config["TOKEN_KEYS"])
    configure_logging(app)
    trust_proxies(app)
    install_limits(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    app.session_interface = CookieOnlySessions()
    db.init_app(app)
    app.teardown_appcontext(release_session)  # runs before Flask-SQLAlchemy's own (teardowns run in reverse)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    init_babel(app)


def register_blueprints(app: Flask) -> None:
    from app.api import bp as api_bp
    from app.events import bp as events_bp
    from app.install import bp as install_bp
    from app.main import bp as main_bp
    from app.oauth import bp as oauth_bp
    from app.ops import bp as ops_bp
    from app.timeline import bp as timeline_bp

    for blueprint in (ops_bp, install_bp, events_bp, main_bp, oauth_bp, timeline_bp, api_bp):
        app.register_blueprint(blueprint)
    csp.register(app)
    from app.events.lean import install_lean_events

    install_lean_events(app)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
