"""Writing what the claim settles about outbox entries, the send log and suppressions.

The claim's own writes (decisions, throttled entries, interrupted hand-overs) run inside its
transaction on rows it has just leased. Hand-overs and outcomes go through
:class:`app.delivery.recorder.Recorder`, fenced by the claim's lease token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from app.models_base import UTCDateTime, dialect_name, pg_array
from app.outbox.models import OutboxEntry, SendLog, Suppression
from app.policy import Decision

INTERRUPTED_NOTE = "worker stopped after handing the message to the relay; recorded as delivered"
LEASE_CLEARED = {"leased_by": None, "lease_until": None, "lease_token": None}


def settled_values(entry, decision) -> dict:
    """The columns that close a denied entry or return a deferred one to pending (lease
    cleared, the claim's attempt not counted), with the deciding rule and policy hash."""
    values = {
        "decision_rule": decision.rule_id,
        "policy_hash": decision.policy_hash,
        "message_id": None,
        **LEASE_CLEARED,
    }
    if decision.deferred and decision.defer_until is not None:
        values.update(
            status="pending", not_before=decision.defer_until, attempts=entry.attempts - 1
        )
    else:
        values["status"] = "denied"
    return values


def settle_decisions(session: Session, entries: Sequence, decisions: Mapping[int, Decision]):
    """Close denied entries, return deferred ones to pending; returns (ready, denied, deferred)."""
    ready: list = []
    closed: list[dict] = []
    later: list[dict] = []
    for entry in entries:
        decision = decisions[entry.id]
        if decision.allowed:
            ready.append(replace(entry, decision=decision))
            continue
        row = {"id": entry.id, **settled_values(entry, decision)}
        (later if row["status"] == "pending" else closed).append(row)
    for rows in (closed, later):
        if rows:
            session.execute(update(OutboxEntry), rows)
    return ready, len(closed), len(later)


def release_throttled(session: Session, held: Mapping[int, datetime], now: datetime) -> int:
    """Put entries over their campaign's throttle back to pending until their slot."""
    for entry_id, at in held.items():
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id)
            .values(
                status="pending", not_before=at, attempts=OutboxEntry.attempts - 1, **LEASE_CLEARED
            )
        )
    return len(held)


def record_interrupted(session: Session, rows: Sequence, now: datetime) -> int:
    """Entries a dead worker handed to the relay (Message-ID set): recorded as sent, once."""
    if not rows:
        return 0
    session.execute(
        update(OutboxEntry),
        [
            {
                "id": r.id,
                "status": "sent",
                "sent_at": now,
                "last_error": INTERRUPTED_NOTE,
                **LEASE_CLEARED,
            }
            for r in rows
        ],
    )
    log_sends(session, rows, now)
    return len(rows)


# PostgreSQL: whole waves as arrays (in their text form) in one short statement each. psycopg
# parses any statement with more than 50 parameters again on every execution, which cost more
# than running it.
_LOG_SENDS_PG = text(
    "INSERT INTO send_log (customer_id, channel, purpose, transactional, sent_at, outbox_id) "
    "SELECT v.customer_id, v.channel, v.purpose, v.transactional, :now, v.outbox_id "
    "FROM unnest(CAST(:customers AS BIGINT[]), CAST(:channels AS TEXT[]), "
    "CAST(:purposes AS TEXT[]), CAST(:transactional AS BOOLEAN[]), CAST(:outbox AS BIGINT[])) "
    "AS v(customer_id, channel, purpose, transactional, outbox_id)"
).bindparams(bindparam("now", type_=UTCDateTime()))


def log_sends(target, entries: Sequence, now: datetime) -> None:
    """One send-log row per entry (what frequency caps and histories count)."""
    if dialect_name(target) == "postgresql":
        target.execute(
            _LOG_SENDS_PG,
            {
                "now": now,
                "customers": pg_array([e.customer_id for e in entries]),
                "channels": pg_array([e.channel for e in entries]),
                "purposes": pg_array([e.purpose for e in entries]),
                "transactional": pg_array([e.kind == "transactional" for e in entries]),
                "outbox": pg_array([e.id for e in entries]),
            },
        )
        return
    target.execute(
        insert(SendLog),
        [
            {
                "customer_id": e.customer_id,
                "channel": e.channel,
                "purpose": e.purpose,
                "transactional": e.kind == "transactional",
                "sent_at": now,
                "outbox_id": e.id,
            }
            for e in entries
        ],
    )


def suppress(
    target, customer_id: int, channel: str, reason: str, source: str, detail: str | None = None
) -> bool:
    """Add a suppression unless one exists for (customer, channel); True when added."""
    exists = target.execute(
        select(Suppression.reason).where(
            Suppression.customer_id == customer_id, Suppression.channel == channel
        )
    ).first()
    if exists is not None:
        return False
    target.execute(
        insert(Suppression).values(
            customer_id=customer_id, channel=channel, reason=reason, source=source, detail=detail
        )
    )
    return True
