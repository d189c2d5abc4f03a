"""Consent events for webhooks, read from the ledger: no hook in the ledger's write path.

The ledger is append-only and its leaves are committed in order (each append reserves the next
index and holds it until its transaction ends), so reading from a cursor misses nothing and
keeps each customer's order. :func:`fan_out_ledger` advances the cursor under a row lock that
lets one worker at a time do it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.ledger.models import ConsentEvent
from app.ledger.records import ALL
from app.models_base import utcnow
from app.transaction import transaction
from app.webhooks.models import WebhookCursor
from app.webhooks.outbox import LEDGER_EVENTS, LEDGER_SOURCE, enqueue


def _ledger_cursor(session: Session) -> WebhookCursor:
    cursor = session.get(WebhookCursor, LEDGER_SOURCE, with_for_update=True)
    if cursor is None:  # start at the ledger's end: subscriptions get events from now on
        top = session.scalar(select(func.max(ConsentEvent.seq)))
        cursor = WebhookCursor(source=LEDGER_SOURCE, position=0 if top is None else int(top) + 1)
        session.add(cursor)
        session.flush()
        cursor = session.get_one(WebhookCursor, LEDGER_SOURCE, with_for_update=True)
    return cursor


def fan_out_ledger(session: Session, limit: int = 1000) -> int:
    """Turn consent events appended since the cursor into messages; the events read.

    Commits. Safe from any number of workers: the cursor's row lock orders them.
    """
    with transaction(session):
        cursor = _ledger_cursor(session)
        cursor.scanned_at = utcnow()
        events = session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.seq >= cursor.position)
            .order_by(ConsentEvent.seq)
            .limit(limit)
        ).all()
        for event in events:
            event_type = LEDGER_EVENTS.get(event.action)
            if event_type is None:
                continue
            data = {"record_id": event.record_id, "action": event.action}
            if event.purpose != ALL:
                data |= {"purpose": event.purpose, "channel": event.channel}
            enqueue(session, event_type, event.customer_ref, data, at=event.event_time)
        if events:
            cursor.position = events[-1].seq + 1
    return len(events)
