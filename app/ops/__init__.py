"""Operations endpoints: health and Prometheus metrics, and the latency histograms' request hooks."""

from app.ops import timing, views  # noqa: F401  (registers the routes on bp)
from app.ops.blueprint import bp

__all__ = ["bp"]
