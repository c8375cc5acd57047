"""The sandbox portal: a Flask app that behaves like Bitrix24 cloud portals plus their OAuth server."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

from flask import Flask

from sandbox.locks import hold_world_for_changes
from sandbox.state import Sandbox


def create_sandbox(settings: dict[str, Any] | None = None) -> Flask:
    """Build the sandbox app; serve it on the OAuth host and on every portal host."""
    app = Flask(__name__)
    state = Sandbox(settings=dict(settings or {}))
    state.oauth_base_url = state.setting("oauth_base_url") or ""
    app.extensions["sandbox"] = state
    register_methods()
    register_blueprints(app)
    hold_world_for_changes(app)  # after the fault switches' hook: a delay fault sleeps holding nothing
    configure_logging()
    if state.setting("portal_domains"):
        from sandbox.seed import seed_demo

        seed_demo(state)
    return app


def register_methods() -> None:
    """Import the method modules so their @method decorators fill core.METHODS (sandbox/crm: every module)."""
    importlib.import_module("sandbox.methods")
    crm = importlib.import_module("sandbox.crm")
    for module in pkgutil.iter_modules(crm.__path__, prefix="sandbox.crm."):
        try:
            importlib.import_module(module.name)
        except Exception:  # a broken CRM module must not take the platform down; it is logged
            logging.getLogger("sandbox").exception("could not import %s", module.name)


def register_blueprints(app: Flask) -> None:
    """Mount the OAuth server, portal REST and the control endpoints."""
    from sandbox import control, oauth, rest

    app.register_blueprint(oauth.bp)
    app.register_blueprint(rest.bp)
    app.register_blueprint(control.bp)
    try:
        ui = importlib.import_module("sandbox.ui")
    except ModuleNotFoundError as exc:
        if exc.name != "sandbox.ui":
            raise
        return
    register = getattr(ui, "register", None)
    if callable(register):
        try:
            register(app)
        except ImportError:  # the portal UI is optional for REST tests; say so loudly
            logging.getLogger("sandbox").exception(
                "sandbox.ui failed to register; serving without the portal UI"
            )


def configure_logging() -> None:
    """Keep the werkzeug request log quiet; sandbox loggers speak at INFO."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
