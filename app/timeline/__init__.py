"""The timeline UI: an activity opened from CRM_ACTIVITY_LIST_MENU or view_activity, and its actions."""

from app.timeline import configurable_views, create_views, views  # noqa: F401  (registers the routes on bp)
from app.timeline.blueprint import bp

__all__ = ["bp"]
