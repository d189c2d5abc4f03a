"""A lease renewal never waits for rows the worker's own hand-over holds (PostgreSQL).

The heartbeat renews a batch's leases on a connection of its own while the worker's hand-over
transaction updates some of the same rows. Were the renewal to wait for those row locks, the
two statements, locking rows in different orders, could deadlock each other.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.delivery.claim import claim_batch
from app.delivery.recorder import renew_leases
from app.extensions import db
from app.models_base import utcnow
from app.outbox.models import OutboxEntry
from tests.integration.test_delivery_helpers import audience, campaign_outbox, relaxed_policies


def test_a_renewal_skips_rows_the_hand_over_holds_and_still_counts_them(
    app_factory, engine_name, tmp_path
):
    if engine_name != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing to wait for")
    with app_factory(POLICY_DIR=relaxed_policies(tmp_path / "policies")).app_context():
        _renew_beside_a_hand_over()


def _renew_beside_a_hand_over() -> None:
    people = audience(db.session(), 4)
    campaign_outbox(db.session(), [person.id for person in people])
    batch = claim_batch(db.session(), "worker-a", 10, 15, utcnow())
    ids = [entry.id for entry in batch.ready]
    assert len(ids) == 4
    until = utcnow() + timedelta(minutes=5)
    engine = db.engine
    with db.engine.connect() as hand_over:
        hand_over.begin()
        hand_over.execute(  # the hand-over's update holds two of the batch's rows
            text("UPDATE outbox SET message_id = 'x' WHERE id = ANY(:ids)"), {"ids": ids[:2]}
        )
        outcome: dict[str, int] = {}

        def renew() -> None:
            with engine.connect() as connection:
                connection.execute(text("SET lock_timeout = '5s'"))
                outcome["held"] = renew_leases(connection, batch.token, ids, until)
                connection.commit()

        thread = threading.Thread(target=renew)
        thread.start()
        thread.join(10)
        hand_over.rollback()
    assert outcome == {"held": 2}  # renewed the two free rows at once, without waiting
    db.session.expire_all()
    renewed = db.session.scalars(select(OutboxEntry.id).where(OutboxEntry.lease_until == until))
    assert sorted(renewed) == sorted(ids[2:])
    with db.engine.connect() as connection, db.engine.connect() as locker:
        locker.begin()
        locker.execute(text("SELECT 1 FROM outbox WHERE id = ANY(:ids) FOR UPDATE"), {"ids": ids})
        assert renew_leases(connection, batch.token, ids, until) == 4  # all busy: still held
        locker.rollback()
