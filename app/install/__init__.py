"""The installer page a portal opens in its frame the first time an administrator opens the app."""

from app.install import views  # noqa: F401  (registers the routes on bp)
from app.install.blueprint import bp

__all__ = ["bp"]
