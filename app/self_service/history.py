"""What happened to the customer's consents and which messages they were sent, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.ledger.models import ConsentEvent
from app.outbox.models import OutboxEntry, SendLog

GIVING = ("granted", "confirmed", "renewed")
HISTORY_LIMIT = 500


@dataclass(frozen=True)
class SentMessage:
    """One message sent to the customer and the reasons it was permitted."""

    sent_at: datetime
    channel: str
    purpose: str
    transactional: bool
    rule: str | None
    policy_hash: str | None
    consent_at: datetime | None


def consent_events(session: Session, customer: Customer) -> list[ConsentEvent]:
    """The customer's consent events, newest first."""
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_ref == customer.ref)
            .order_by(ConsentEvent.seq.desc())
            .limit(HISTORY_LIMIT)
        )
    )


def sent_messages(
    session: Session, customer: Customer, events: list[ConsentEvent]
) -> list[SentMessage]:
    """Messages sent, newest first, each with its rule, policy hash and consent date."""
    rows = session.execute(
        select(SendLog, OutboxEntry.decision_rule, OutboxEntry.policy_hash)
        .outerjoin(OutboxEntry, OutboxEntry.id == SendLog.outbox_id)
        .where(SendLog.customer_id == customer.id)
        .order_by(SendLog.sent_at.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    return [
        SentMessage(
            log.sent_at,
            log.channel,
            log.purpose,
            log.transactional,
            rule,
            policy_hash,
            None if log.transactional else _consent_before(events, log),
        )
        for log, rule, policy_hash in rows
    ]


def _consent_before(events: list[ConsentEvent], log: SendLog) -> datetime | None:
    for event in events:  # newest first
        if (
            event.purpose == log.purpose
            and event.channel == log.channel
            and event.action in GIVING
            and event.event_time <= log.sent_at
        ):
            return event.event_time
    return None
