"""A withdrawal stops what is already in flight: several workers, a slow relay, withdrawals
committed while the batches they had claimed (and checked) are still being sent."""

from __future__ import annotations

import threading
import time
from collections import Counter

from sqlalchemy import select

from app.delivery.models import OutboxEntry
from app.delivery.settings import worker_settings
from app.delivery.worker import DeliveryWorker
from app.ledger import consent
from app.vault.models import Customer
from tests.integration.test_delivery_helpers import (
    Sink,
    audience,
    campaign_outbox,
    relaxed_policies,
)

CUSTOMERS = 90
#: The issue's bound: nothing reaches the relay more than this long after its withdrawal.
BOUND_SECONDS = 1.0


def _withdraw_during_run(app, sink: Sink, ids: list[int], committed: dict[str, float]) -> None:
    """Once sending has begun, withdraw each of ``ids`` in turn, noting when each committed."""
    from app.extensions import db

    deadline = time.monotonic() + 30
    while not sink.arrivals and time.monotonic() < deadline:
        time.sleep(0.01)
    with app.app_context():
        for customer_id in ids:
            customer = db.session.get(Customer, customer_id)
            consent.withdraw(
                db.session(),
                customer,
                purpose="offers",
                channel="email",
                source="portal",
                method="web_form",
                actor="customer",
            )
            committed[f"person{customer_id - 1}@example.org"] = time.monotonic()
            db.session.remove()
            time.sleep(0.02)


def test_no_message_reaches_the_relay_after_its_withdrawal_committed(app_factory, tmp_path):
    from app.extensions import db

    with Sink(reply_delay=0.25) as sink:
        app = app_factory(POLICY_DIR=relaxed_policies(tmp_path / "p"), SMTP_PORT=sink.port)
        with app.app_context():
            ids = [p.id for p in audience(db.session(), CUSTOMERS)]
            assert ids == list(range(1, CUSTOMERS + 1))  # personN has id N + 1
            campaign_outbox(db.session(), ids)
            db.session.remove()
        # Each of three workers claims (and checks) 30 messages at once, then needs about
        # 2.5 s to send them three at a time through the slow relay.
        settings = worker_settings(app, batch_size=30, smtp_connections=3)

        def work() -> None:
            with app.app_context():
                DeliveryWorker(app, settings).run(threading.Event(), once=True)

        committed: dict[str, float] = {}
        withdrawn = ids[::2]
        threads = [threading.Thread(target=work) for _ in range(3)]
        threads.append(
            threading.Thread(target=_withdraw_during_run, args=(app, sink, withdrawn, committed))
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len(committed) == len(withdrawn)
    received = Counter(recipient for _, recipient in sink.arrivals)
    assert max(received.values()) == 1
    late = {
        recipient: round(at - committed[recipient], 3)
        for at, recipient in sink.arrivals
        if recipient in committed and at > committed[recipient]
    }
    assert all(delay <= BOUND_SECONDS for delay in late.values()), late
    with app.app_context():
        rows = db.session.execute(
            select(OutboxEntry.customer_id, OutboxEntry.status, OutboxEntry.decision_rule)
        ).all()
    by_customer = {cid: (status, rule) for cid, status, rule in rows}
    stopped = [cid for cid in withdrawn if f"person{cid - 1}@example.org" not in received]
    assert stopped, "every withdrawal came too late to matter: the test proves nothing"
    assert {by_customer[cid] for cid in stopped} == {("denied", "lawful_basis")}
    kept = set(by_customer) - set(withdrawn)
    assert {by_customer[cid][0] for cid in kept} == {"sent"}
    assert {f"person{cid - 1}@example.org" for cid in kept} <= set(received)
