"""The OAuth authorization-code flow, for an administrator who opens the app outside the portal."""

from flask import Blueprint

bp = Blueprint("oauth", __name__)

from app.oauth import views  # noqa: E402, F401  (registers the routes on bp)
