"""The inbound JSON API for external systems: /api/v1/…, authenticated by a per-portal API key."""

from app.api import views  # noqa: F401  (registers the routes on bp)
from app.api.blueprint import bp

__all__ = ["bp"]
