"""The inbound JSON API for external systems: /api/v1/…, authenticated by a per-portal API key."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import views  # noqa: E402, F401  (registers the routes on bp)
