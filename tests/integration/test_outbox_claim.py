"""The claim's order: expired leases first (a dead worker's entries), then pending by due time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.delivery.claim import _lease
from app.models_base import utcnow
from app.outbox.models import OutboxEntry
from app.transaction import transaction
from tests.integration.test_delivery_helpers import audience, campaign_outbox


def test_claim_takes_expired_leases_then_pending_in_due_order(app, session):
    people = audience(session, 6)
    campaign_outbox(session, [p.id for p in people])
    ids = sorted(session.scalars(select(OutboxEntry.id)))
    now = utcnow()
    with transaction(session):
        # Due times out of id order; one entry not due yet; one lease expired, one still held.
        for offset, entry_id in zip((5, 1, 3, 2), ids[:4], strict=True):
            session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == entry_id)
                .values(not_before=now - timedelta(minutes=offset))
            )
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == ids[4])
            .values(status="leased", leased_by="dead", lease_until=now - timedelta(seconds=1))
        )
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == ids[5])
            .values(status="leased", leased_by="alive", lease_until=now + timedelta(minutes=5))
        )
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == ids[3])
            .values(not_before=now + timedelta(hours=1))
        )
    picked = []
    for _ in range(6):  # one at a time: the order in which entries are chosen
        with transaction(session):
            picked += [
                row.id for row in _lease(session, ("me", "t"), 1, now + timedelta(minutes=5), now)
            ]
    # The expired lease, then pending entries due 5, 3 and 1 minutes ago; the entry not due
    # yet and the one another worker still holds are left alone.
    assert picked == [ids[4], ids[0], ids[2], ids[1]]
    with transaction(session):
        assert _lease(session, ("me", "t"), 10, now + timedelta(minutes=5), now) == []
