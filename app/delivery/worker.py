"""The delivery worker: claim → re-check → decrypt → render → deliver → record, in batches.

``DeliveryWorker.run_once`` handles one batch; ``run`` loops until stopped. Many workers may
run at once on PostgreSQL (``FOR UPDATE SKIP LOCKED``); see ``app/delivery/__init__.py`` for
the exactly-once argument. While a batch is in hand its lease is renewed by a heartbeat; when
``stop`` is set the worker hands nothing more over, gives its unsent entries back and returns.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlalchemy import Connection, text

from app import logs
from app.channels.email import mail_domain, message_id_for
from app.channels.sms import SmsGateway
from app.channels.smtp import SmtpSender
from app.delivery.claim import ClaimedBatch, claim_batch
from app.delivery.compose import CannotCompose, Links, compose_email, compose_sms
from app.delivery.dispatch import EmailDispatch, SmsDispatch, failure_outcome
from app.delivery.heartbeat import Heartbeat
from app.delivery.recheck import HandOverCheck
from app.delivery.recipients import load_recipients, personalised_fields
from app.delivery.recorder import Outcome, Recorder
from app.delivery.settings import WorkerSettings, dkim_key, smtp_settings
from app.extensions import db
from app.integrations.subscriptions import run_webhooks
from app.models_base import utcnow
from app.settings import current_settings

log = logging.getLogger("assenso.delivery")

#: While the delivery queue is busy, a webhook round that found nothing to do is not repeated
#: for this long (each round is two transactions and a write of the ledger cursor).
WEBHOOK_IDLE_ROUND_SECONDS = 1.0


def new_worker_id() -> str:
    """A worker id unique across machines and restarts: host, process id and a random tag."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(slots=True)
class BatchReport:
    """What one batch did (counts only)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    denied: int = 0
    deferred: int = 0
    recovered: int = 0
    throttled: int = 0
    released: int = 0


class DeliveryWorker:
    """One worker: its id, settings and channel connections (reused across batches)."""

    def __init__(
        self,
        app: Flask,
        settings: WorkerSettings,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Prepare a worker for ``app``; connections open on first use."""
        self.app = app
        self.settings = settings
        self.worker_id = worker_id or new_worker_id()
        self.clock = clock
        self.config = current_settings(app)
        self.domain = mail_domain(self.config.mail_from)
        self.links = Links(self.config.public_base_url, self.domain)
        self._dispatch: dict[str, EmailDispatch | SmsDispatch] = {}

    def _dispatcher(self, channel: str):
        if channel not in self._dispatch:
            if channel == "email":
                smtp = smtp_settings(self.app)
                senders = [
                    SmtpSender(smtp, self.config.mail_from)
                    for _ in range(self.settings.smtp_connections)
                ]
                self._dispatch[channel] = EmailDispatch(
                    senders, self.config.mail_from, dkim_key(self.app)
                )
            elif channel == "sms" and self.config.sms_webhook_url:
                gateway = SmsGateway(self.config.sms_webhook_url, self.config.sms_timeout_seconds)
                self._dispatch[channel] = SmsDispatch(gateway)
            else:
                return None
        return self._dispatch[channel]

    def run_once(self, stop: threading.Event | None = None) -> BatchReport:
        """Claim and deliver one batch (stopping early once ``stop`` is set); its counts."""
        stop = stop or threading.Event()
        session = db.session()
        s = self.settings
        batch = claim_batch(session, self.worker_id, s.batch_size, s.lease_seconds, self.clock())
        report = BatchReport(
            batch.claimed,
            denied=batch.denied,
            deferred=batch.deferred,
            recovered=batch.recovered,
            throttled=batch.throttled,
        )
        if batch.ready:
            with Heartbeat(
                db.engine, batch.token, [e.id for e in batch.ready], s.lease_seconds, self.clock
            ):
                self._deliver(batch, report, stop)
        db.session.remove()
        return report

    def _fail(self, entry, exc) -> Outcome:
        return failure_outcome(
            entry, exc, self.clock(), self.settings.max_attempts, self.settings.retry_base_seconds
        )

    def _deliver(self, batch: ClaimedBatch, report: BatchReport, stop: threading.Event) -> None:
        recipients = load_recipients(
            db.session(), batch.ready, batch.templates, f"delivery-worker:{self.worker_id}"
        )
        outcomes: list[Outcome] = []
        by_channel: dict[str, list] = {}
        for entry in batch.ready:
            item = self._compose(entry, recipients.get(entry.id), batch)
            if isinstance(item, Outcome):
                outcomes.append(item)
            else:
                by_channel.setdefault(entry.channel, []).append(item)
        with self._recording_connection() as connection:
            check = HandOverCheck(
                batch.stamps,
                batch.templates,
                personalised_fields(batch.ready, batch.templates, recipients),
            )
            recorder = Recorder(connection, batch.token, check)
            for channel, items in by_channel.items():
                dispatch = self._dispatcher(channel)
                outcomes += dispatch.send(items, recorder, self._fail, self.clock, stop)
            recorder.finish(outcomes, self.clock())
        report.sent = recorder.counts["sent"]
        report.retried = recorder.counts["retry"]
        report.failed = recorder.counts["failed"]
        report.denied += recorder.counts["denied"]
        report.deferred += recorder.counts["deferred"]
        report.released = recorder.counts["released"]

    @contextmanager
    def _recording_connection(self) -> Iterator[Connection]:
        """The recorder's own connection. With ``WORKER_ASYNC_COMMIT`` on PostgreSQL its
        commits do not wait for the disk; the setting is undone before the connection goes
        back to the pool, where other work (a web request under ``flask serve``) may use it."""
        with db.engine.connect() as connection:
            asynchronous = connection.dialect.name == "postgresql" and self.settings.async_commit
            if asynchronous:
                connection.execute(text("SET synchronous_commit TO off"))
                connection.commit()
            try:
                yield connection
            finally:
                if asynchronous and not connection.invalidated:
                    connection.rollback()
                    connection.execute(text("RESET synchronous_commit"))
                    connection.commit()

    def _compose(self, entry, recipient, batch: ClaimedBatch):
        if recipient is None:
            return Outcome(entry, "failed", "customer erased or data key unreadable")
        if self._dispatcher(entry.channel) is None:
            return Outcome(entry, "failed", f"channel {entry.channel} is not configured")
        message_id = message_id_for(entry.idempotency_key, self.domain)
        compose = compose_email if entry.channel == "email" else compose_sms
        try:
            return entry, compose(entry, recipient, batch.templates, self.links, message_id)
        except CannotCompose as exc:
            return Outcome(entry, "failed", str(exc))

    def close(self) -> None:
        """Close channel connections."""
        for dispatch in self._dispatch.values():
            dispatch.close()
        self._dispatch.clear()

    def run(self, stop: threading.Event, once: bool = False) -> BatchReport:
        """Deliver batches until ``stop`` is set (or the queue is empty, with ``once``).

        A webhook round follows every batch, except that a round which found nothing waits
        :data:`WEBHOOK_IDLE_ROUND_SECONDS` before the next one while batches keep coming; an
        empty queue always runs one (so ``once`` returns with both queues empty).
        """
        total = BatchReport()
        next_round = 0.0
        try:
            while not stop.is_set():
                with logs.job("delivery"):
                    report = self.run_once(stop)
                for name in BatchReport.__slots__:
                    setattr(total, name, getattr(total, name) + getattr(report, name))
                webhooks = 0
                if report.claimed == 0 or time.monotonic() >= next_round:
                    webhooks = run_webhooks(db.session(), self.config)
                    db.session.remove()
                    if webhooks == 0:
                        next_round = time.monotonic() + WEBHOOK_IDLE_ROUND_SECONDS
                if report.claimed == 0 and webhooks == 0:
                    if once:
                        break
                    stop.wait(self.settings.idle_seconds)
        finally:
            self.close()
        return total
