"""Prometheus metrics: what each process counts, and the scrape that gathers them.

Under gunicorn every web worker is its own process; prometheus-client's multiprocess mode keeps
each process's counters in files under ``PROMETHEUS_MULTIPROC_DIR`` (set, and emptied at start,
by ``gunicorn.conf.py``) and a scrape adds them up. Without that variable (``make run``, one
process) the counters live in the process. What the database holds (decisions, outbox, ledger)
is read at each scrape (:mod:`app.observability.state`, gathered by
:mod:`app.observability.exposition`), so every web process answers alike and nothing is lost
when one restarts.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Histogram, values
from sqlalchemy.orm import Session

SIGN_IN_FAILURES = Counter(
    "assenso_sign_in_failures",
    "Sign-in attempts that did not sign anyone in, by audience (customer, staff) and reason "
    "(refused: wrong address or password or an invalid form; rate_limited; unavailable: the "
    "rate-limit store could not be reached).",
    ["audience", "reason"],
)
REQUEST_SECONDS = Histogram(
    "assenso_http_request_duration_seconds",
    "Time to answer a web request, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

#: A webhook backlog's source: a name and the count of deliveries waiting in ``session``.
BacklogSource = Callable[[Session], int]
_WEBHOOK_BACKLOGS: dict[str, BacklogSource] = {}


def register_webhook_backlog(name: str, waiting: BacklogSource) -> None:
    """Report ``waiting(session)`` as ``assenso_webhook_backlog{source=name}`` at each scrape.

    The API's webhook outbox is registered by :mod:`app.observability.exposition`; a source
    not registered has no samples.
    """
    _WEBHOOK_BACKLOGS[name] = waiting


def webhook_backlogs() -> dict[str, BacklogSource]:
    """The registered webhook backlogs by name."""
    return dict(_WEBHOOK_BACKLOGS)


def multiprocess() -> bool:
    """Whether this process shares its counters through ``PROMETHEUS_MULTIPROC_DIR`` (as
    prometheus-client decided when it was first imported)."""
    return values.ValueClass is not values.MutexValue
