"""The main page (PLACEMENT=DEFAULT): the install's health for administrators, a sentence for others."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from app.main import key_views, template_views, views  # noqa: E402, F401  (registers the routes on bp)
