"""Background services of ``flask serve``: a delivery worker and the development mailbox."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from app import background
from app.delivery.settings import mailbox_folder, worker_settings
from app.settings import current_settings

log = logging.getLogger("assenso.delivery")


def start_worker(app: Flask):
    """Run one delivery worker in a daemon thread; returns its stop function."""
    from app.delivery.worker import DeliveryWorker

    stop = threading.Event()
    worker = DeliveryWorker(app, worker_settings(app))

    def loop() -> None:
        with app.app_context():
            while not stop.is_set():
                try:
                    worker.run(stop)
                except Exception:  # keep serving; the entries stay leased and are retried
                    log.exception("delivery worker batch failed; retrying shortly")
                    stop.wait(5)

    thread = threading.Thread(target=loop, name="delivery-worker", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=10)

    return halt


def start_mailbox(app: Flask):
    """Start the development SMTP mailbox when ``ASSENSO_DEV_MAILBOX`` is on; returns its stop."""
    settings = current_settings(app)
    if not settings.dev_mailbox:
        return lambda: None
    from app.channels.devmailbox import MailboxStore, start_mailbox_server

    controller = start_mailbox_server(
        MailboxStore(mailbox_folder(app)), "127.0.0.1", settings.smtp_port
    )
    log.info("development mailbox listening on 127.0.0.1:%s", settings.smtp_port)
    return controller.stop


def register() -> None:
    """Register the mailbox (first, so the worker finds it) and the worker."""
    background.register("mailbox", start_mailbox)
    background.register("worker", start_worker)
