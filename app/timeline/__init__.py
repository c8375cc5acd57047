"""The timeline UI: an activity opened from CRM_ACTIVITY_LIST_MENU or view_activity, and its actions."""

# app.main first: its routes import the timeline page, whose access checks import app.main.admin, so
# starting from the timeline would meet app.main half-built (app.main.texts used to load it first).
import app.main  # noqa: F401
from app.timeline import (  # noqa: F401  (registers the routes on bp)
    configurable_views,
    create_views,
    editor,
    picker_views,
    views,
)
from app.timeline.blueprint import bp

__all__ = ["bp"]
