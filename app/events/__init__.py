"""POST /events: every event the portal sends, verified before anything is stored."""

from flask import Blueprint

bp = Blueprint("events", __name__)

from app.events import views  # noqa: E402, F401  (registers the routes on bp)
