"""The installer page a portal opens in its frame the first time an administrator opens the app."""

from flask import Blueprint

bp = Blueprint("install", __name__)

from app.install import views  # noqa: E402, F401  (registers the routes on bp)
