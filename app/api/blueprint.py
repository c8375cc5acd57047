"""The api blueprint, alone in its module so its views import it without importing the package."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
