"""Operations endpoints: health and Prometheus metrics."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from app.ops import views  # noqa: E402, F401  (registers the routes on bp)
