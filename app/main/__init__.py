"""The main page (PLACEMENT=DEFAULT): the install's health for administrators, a sentence for others."""

from app.main import key_views, layout_views, placement_names, plan_names, template_views, views  # noqa: F401  (registers routes on bp)
from app.main.blueprint import bp

__all__ = ["bp"]
