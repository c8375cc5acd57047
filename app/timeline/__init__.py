"""The timeline UI: an activity opened from CRM_ACTIVITY_LIST_MENU or view_activity, and its actions."""

from flask import Blueprint

bp = Blueprint("timeline", __name__)

from app.timeline import views  # noqa: E402, F401  (registers the routes on bp)
