"""The portal UI: home, CRM timeline, activity grid, the app slider and the BX24 shim (browser pages)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/_ui/static",
)


def register(app: Flask) -> None:
    """Mount the portal UI; called by sandbox.create_sandbox."""
    from sandbox.ui import api, settings_page, views  # noqa: F401  (routes attach themselves to bp)

    app.register_blueprint(bp)
