"""One scrape: every process's counters and histograms summed from the shared directory; the inbox gauges."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from app.metrics.directory import directory, locked
from app.metrics.inbox import InboxCollector, InboxFigures

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def registry(figures: InboxFigures | None = None) -> CollectorRegistry:
    """A registry of the whole directory (and the inbox gauges when given): what a scrape shows."""
    scrape = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(scrape, path=str(directory()))
    if figures is not None:
        scrape.register(InboxCollector(figures))
    return scrape


def render(figures: InboxFigures) -> bytes:
    """The Prometheus text exposition format, version 0.0.4, of every process of this host."""
    with locked(directory(), exclusive=False):  # a compaction never runs halfway through this read
        return generate_latest(registry(figures))


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """One sample's value summed over every process (0 if never counted): for tests and benches."""
    with locked(directory(), exclusive=False):
        value = registry().get_sample_value(name, labels or {})
    return float(value or 0.0)


def total(name: str) -> float:
    """A sample's value summed over all its label sets and every process."""
    with locked(directory(), exclusive=False):
        families = list(registry().collect())
    return sum(s.value for family in families for s in family.samples if s.name == name)
