"""The scrape: this machine's counters and the database's state, in Prometheus's text format."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from app.observability.metrics import multiprocess, register_webhook_backlog, webhook_backlogs
from app.observability.state import DatabaseState
from app.webhooks.outbox import waiting as webhook_messages_waiting

CONTENT_TYPE = CONTENT_TYPE_LATEST

#: The webhook outbox of the API's subscriptions (:mod:`app.webhooks`), reported as
#: ``assenso_webhook_backlog{source="subscriptions"}``.
register_webhook_backlog("subscriptions", webhook_messages_waiting)


class _ThisProcess(Collector):
    """The counters of this process (one process, no multiprocess folder)."""

    def collect(self) -> Iterator[Metric]:
        """Everything the default registry holds."""
        yield from REGISTRY.collect()


def scrape(engine: Engine) -> bytes:
    """The text exposition of every metric: the processes' counters and the database's state."""
    registry = CollectorRegistry()
    if multiprocess():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseState(engine, webhook_backlogs()))
    return generate_latest(registry)
