"""Operations endpoints: health and Prometheus metrics, and the latency histograms' request hooks."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from app.ops import timing, views  # noqa: E402, F401  (registers the routes and hooks on bp)
