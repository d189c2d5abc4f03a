"""``flask worker run``: deliver outbox entries until stopped (Ctrl-C / SIGTERM)."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app

from app.cli import domain_errors
from app.delivery.settings import worker_settings
from app.delivery.worker import DeliveryWorker

log = logging.getLogger("assenso.delivery")


@click.group("worker", help="Delivery workers: send what the outbox holds, exactly once.")
def group() -> None:
    """Command group for delivery workers."""


@group.command("run")
@click.option("--once", is_flag=True, help="Stop when no entry is due instead of waiting.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), help="Entries claimed per batch.")
@click.option(
    "--lease-seconds",
    type=click.IntRange(5, 86_400),
    help="Lease length; renewed every third of it while a batch is sent.",
)
@click.option("--id", "worker_id", help="Worker id (default: host:pid:random).")
@domain_errors
def run_command(
    once: bool, batch_size: int | None, lease_seconds: int | None, worker_id: str | None
) -> None:
    """Claim, re-check, render and deliver batches; log the totals when stopping.

    SIGTERM stops the worker after the wave in hand: nothing more is handed over and the
    entries not yet sent go back to the queue at once.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's own method
    settings = worker_settings(app, batch_size=batch_size, lease_seconds=lease_seconds)
    worker = DeliveryWorker(app, settings, worker_id)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("worker %s started (batch %s)", worker.worker_id, settings.batch_size)
    try:
        total = worker.run(stop, once=once)
    except KeyboardInterrupt:
        stop.set()
        return
    log.info(
        "worker %s stopped: sent %s, denied %s, deferred %s, retried %s, failed %s, "
        "recovered %s, given back %s",
        worker.worker_id,
        total.sent,
        total.denied,
        total.deferred,
        total.retried,
        total.failed,
        total.recovered,
        total.released,
    )


def _register_background() -> None:
    from app.delivery import background

    background.register()


_register_background()
