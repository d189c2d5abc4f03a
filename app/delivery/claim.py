"""Claiming due outbox entries: lease, recover interrupted sends, throttle, re-check policy.

Everything happens in one transaction, so a withdrawal committed before the claim is always
seen by the re-check (DESIGN.md rule 2); what changes later is caught before hand-over (see
:mod:`app.delivery.recheck`). On PostgreSQL the due rows are locked with
``FOR UPDATE SKIP LOCKED`` (many workers never claim the same row); on SQLite the claim is one
``UPDATE … RETURNING`` under SQLite's single writer lock. Each claim leases its entries under a
random token of its own, which every later write about them must name.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from app.delivery.recheck import read_stamps, recheck
from app.delivery.recording import record_interrupted, release_throttled, settle_decisions
from app.delivery.template_book import TemplateBook, load_templates
from app.delivery.throttle import over_throttle
from app.outbox.models import OutboxEntry
from app.policy import Decision
from app.policy_sets.in_force import refresh_policies
from app.transaction import transaction

_COLUMNS = (
    OutboxEntry.id,
    OutboxEntry.idempotency_key,
    OutboxEntry.customer_id,
    OutboxEntry.channel,
    OutboxEntry.purpose,
    OutboxEntry.kind,
    OutboxEntry.campaign_id,
    OutboxEntry.run_id,
    OutboxEntry.variant,
    OutboxEntry.payload_json,
    OutboxEntry.attempts,
    OutboxEntry.message_id,
)


@dataclass(frozen=True, slots=True)
class ClaimedEntry:
    """A leased outbox entry (ids only) with the send-time decision that allowed it."""

    id: int
    idempotency_key: str
    customer_id: int
    channel: str
    purpose: str
    kind: str
    campaign_id: int | None
    run_id: int | None
    variant: str | None
    payload_json: str | None
    attempts: int
    decision: Decision | None = None


@dataclass(slots=True)
class ClaimedBatch:
    """The outcome of one claim: entries to send now, and what was settled without sending."""

    token: str = ""
    ready: list[ClaimedEntry] = field(default_factory=list)
    templates: TemplateBook = field(default_factory=TemplateBook)
    stamps: dict[int, tuple] = field(default_factory=dict)
    lease_until: datetime | None = None
    denied: int = 0
    deferred: int = 0
    recovered: int = 0
    throttled: int = 0

    @property
    def claimed(self) -> int:
        """How many rows this claim took from the queue in total."""
        return len(self.ready) + self.denied + self.deferred + self.recovered + self.throttled


def _expired(now: datetime):
    return and_(OutboxEntry.status == "leased", OutboxEntry.lease_until < now)


def _pending(now: datetime):
    return and_(OutboxEntry.status == "pending", OutboxEntry.not_before <= now)


def new_lease_token() -> str:
    """A token unique to one claim (128 random bits)."""
    return secrets.token_hex(16)


def _lease(session: Session, holder: tuple[str, str], size: int, lease_until: datetime, now):
    """Lease expired leases first (workers that died), then pending entries in due order.

    ``holder`` is (worker id, lease token): the id tells operators who holds an entry, the
    token fences every later write.

    Two statements rather than one ``OR``: each is then a range of the (status, not_before,
    id) index read in order up to the limit, where the disjunction made the database collect
    and sort every due entry for every batch.
    """
    rows = _lease_where(session, _expired(now), None, holder, size, lease_until)
    if len(rows) < size:
        order = (OutboxEntry.not_before, OutboxEntry.id)
        rows += _lease_where(session, _pending(now), order, holder, size - len(rows), lease_until)
    return rows


def _lease_where(session, condition, order, holder, size, lease_until):
    due = select(OutboxEntry.id).where(condition)
    if order is not None:
        due = due.order_by(*order)
    due = due.limit(size).with_for_update(skip_locked=True)
    statement = (
        update(OutboxEntry)
        .where(OutboxEntry.id.in_(due.scalar_subquery()))
        .values(
            status="leased",
            leased_by=holder[0],
            lease_token=holder[1],
            lease_until=lease_until,
            attempts=OutboxEntry.attempts + 1,
        )
        .returning(*_COLUMNS)
    )
    return session.execute(statement, execution_options={"synchronize_session": False}).all()


def claim_batch(
    session: Session, worker_id: str, size: int, lease_seconds: int, now: datetime
) -> ClaimedBatch:
    """Lease up to ``size`` due entries for ``worker_id`` under a new token and re-check each
    one's policy.

    Due means pending with ``not_before <= now``, or leased with an expired lease. A leased
    entry that already carries its Message-ID was handed to the relay by a worker that died
    before recording the outcome: it is recorded as sent, never sent twice (see
    ``app/delivery/__init__.py``). Denied entries are closed with the rule, deferred ones go
    back to pending until ``defer_until``, throttled ones wait for their campaign's next minute.
    The customers' stamps are read before the re-check decides, so any change after the
    decision's reads shows at hand-over.
    """
    lease_until = now + timedelta(seconds=lease_seconds)
    batch = ClaimedBatch(new_lease_token(), lease_until=lease_until)
    refresh_policies()  # the set in force for this batch, checked before the claim writes
    with transaction(session):
        rows = _lease(session, (worker_id, batch.token), size, lease_until, now)
        if not rows:
            return batch
        interrupted = [row for row in rows if row.message_id is not None]
        batch.recovered = record_interrupted(session, interrupted, now)
        fresh = [_entry(row) for row in rows if row.message_id is None]
        batch.templates = load_templates(session, (e.campaign_id for e in fresh))
        held = over_throttle(session, fresh, batch.templates.throttles, batch.token, now)
        batch.throttled = release_throttled(session, held, now)
        waiting = [e for e in fresh if e.id not in held]
        batch.stamps = read_stamps(session.connection(), (e.customer_id for e in waiting))
        decisions = recheck(session, waiting, batch.templates, now)
        batch.ready, batch.denied, batch.deferred = settle_decisions(session, waiting, decisions)
    return batch


def _entry(row) -> ClaimedEntry:
    return ClaimedEntry(
        id=row.id,
        idempotency_key=row.idempotency_key,
        customer_id=row.customer_id,
        channel=row.channel,
        purpose=row.purpose,
        kind=row.kind,
        campaign_id=row.campaign_id,
        run_id=row.run_id,
        variant=row.variant,
        payload_json=row.payload_json,
        attempts=row.attempts,
    )
