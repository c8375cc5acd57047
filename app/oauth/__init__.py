"""The OAuth authorization-code flow, for an administrator who opens the app outside the portal."""

from app.oauth import views  # noqa: F401  (registers the routes on bp)
from app.oauth.blueprint import bp

__all__ = ["bp"]
