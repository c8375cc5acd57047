"""POST /events: every event the portal sends, verified before anything is stored."""

from app.events import views  # noqa: F401  (registers the routes on bp)
from app.events.blueprint import bp

__all__ = ["bp"]
