"""Bulk import of consent records (for example from a previous consent platform).

Records are appended in batches: one ledger reservation, one insert of events and one of tree
nodes per batch, and the state projection updated with one read and one write per batch.
Imported consents keep their original time; they take effect as recorded (no double opt-in).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.ledger.appender import EventDraft, append_events
from app.ledger.state import (
    STATE_TABLE,
    STATE_VALUE_COLUMNS,
    StateValues,
    project,
    upsert_states,
)
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.models import Customer

_OBJECT = (
    update(Customer.__table__)
    .where(Customer.__table__.c.id == bindparam("cid"))
    .values(objected_at=bindparam("at"))
)


_KEY_COLUMNS = (STATE_TABLE.c.customer_id, STATE_TABLE.c.purpose, STATE_TABLE.c.channel)


@dataclass(frozen=True)
class ImportedConsent:
    """One consent record to import, for an existing customer."""

    customer_id: int
    customer_ref: str
    jurisdiction: str
    language: str
    purpose: str
    channel: str
    action: str
    event_time: datetime
    lawful_basis: str = "consent"
    expires_at: datetime | None = None
    notice_id: int | None = None
    notice_version: int | None = None
    notice_hash: str | None = None
    actor: str = "import"


def _batches(items: Iterable[ImportedConsent], size: int) -> Iterator[list[ImportedConsent]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _draft(item: ImportedConsent) -> EventDraft:
    return EventDraft(
        customer_ref=item.customer_ref,
        purpose=item.purpose,
        channel=item.channel,
        action=item.action,
        lawful_basis=item.lawful_basis,
        method="import",
        source="import",
        actor=item.actor,
        jurisdiction=item.jurisdiction,
        language=item.language,
        notice_id=item.notice_id,
        notice_version=item.notice_version,
        notice_hash=item.notice_hash,
        expires_at=item.expires_at,
        event_time=item.event_time,
    )


def _project_batch(
    session: Session, batch: list[ImportedConsent], drafts: list[EventDraft]
) -> None:
    keys = {(i.customer_id, i.purpose, i.channel) for i in batch if i.action != "objected"}
    current: dict[tuple, StateValues] = {}
    customer_ids = sorted({key[0] for key in keys})
    for start in range(0, len(customer_ids), 500):
        rows = session.execute(
            select(*_KEY_COLUMNS, *STATE_VALUE_COLUMNS).where(
                STATE_TABLE.c.customer_id.in_(customer_ids[start : start + 500])
            )
        )
        for customer_id, purpose, channel, *values in rows:
            key = (customer_id, purpose, channel)
            if key in keys:
                current[key] = StateValues(*values)
    for item, draft in zip(batch, drafts, strict=True):
        key = (item.customer_id, item.purpose, item.channel)
        if key in keys:
            current[key] = project(current.get(key), draft)
    now = utcnow()
    upsert_states(session.connection(), [(*key, current[key], now) for key in keys])
    objections = [
        {"cid": i.customer_id, "at": i.event_time} for i in batch if i.action == "objected"
    ]
    if objections:
        session.connection().execute(_OBJECT, objections)


def import_consents(
    session: Session, items: Iterable[ImportedConsent], batch_size: int = 5000
) -> int:
    """Append every record and project it; each batch is one transaction. Returns the count."""
    total = 0
    for batch in _batches(items, batch_size):
        with transaction(session):
            drafts = [_draft(item) for item in batch]
            append_events(session, drafts)
            _project_batch(session, batch, drafts)
        total += len(batch)
    return total
