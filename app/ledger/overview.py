"""Read-only aggregates of the ledger for the consoles (counts, never people)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.ledger.models import Checkpoint, ConsentEvent, ConsentState


@dataclass(frozen=True)
class LedgerOverview:
    """Headline figures of the consent ledger."""

    events: int
    customers: int
    latest_checkpoint: Checkpoint | None


def ledger_overview(session: Session) -> LedgerOverview:
    """Event count, customer count and the latest signed checkpoint."""
    events = session.scalar(select(func.count()).select_from(ConsentEvent)) or 0
    customers = session.scalar(
        select(func.count()).select_from(Customer).where(Customer.erased_at.is_(None))
    )
    latest = session.scalar(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1))
    return LedgerOverview(events=events, customers=customers or 0, latest_checkpoint=latest)


def consent_totals(session: Session) -> list[tuple[str, str, str, int]]:
    """Customers per purpose, channel and consent status, ordered for display."""
    rows = session.execute(
        select(ConsentState.purpose, ConsentState.channel, ConsentState.status, func.count())
        .group_by(ConsentState.purpose, ConsentState.channel, ConsentState.status)
        .order_by(ConsentState.purpose, ConsentState.channel, ConsentState.status)
    )
    return [tuple(row) for row in rows]
