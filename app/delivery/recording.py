"""Writing what happened to outbox entries: decisions, hand-overs, sends, retries, bounces.

Hand-over and outcome records go through :class:`Recorder`, which uses its own connection and
commits once per *wave* of messages: the commit that marks wave N as handed over (Message-ID
set) also records the outcomes of wave N-1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, bindparam, case, insert, select, text, update
from sqlalchemy.orm import Session

from app.delivery.models import OutboxEntry, SendLog, Suppression
from app.models_base import UTCDateTime, among, dialect_name, pg_array

INTERRUPTED_NOTE = "worker stopped after handing the message to the relay; recorded as delivered"
_LEASE_CLEARED = {"leased_by": None, "lease_until": None}


def settle_decisions(session: Session, entries: Sequence, decisions: Mapping[int, object]):
    """Close denied entries, return deferred ones to pending; returns (ready, denied, deferred)."""
    ready, closed, later = [], [], []
    for entry in entries:
        decision = decisions[entry.id]
        common = {
            "id": entry.id,
            "decision_rule": decision.rule_id,
            "policy_hash": decision.policy_hash,
        }
        if decision.allowed:
            ready.append(replace(entry, decision=decision))
        elif decision.deferred and decision.defer_until is not None:
            later.append(
                {
                    **common,
                    **_LEASE_CLEARED,
                    "status": "pending",
                    "not_before": decision.defer_until,
                    "attempts": entry.attempts - 1,
                }
            )
        else:
            closed.append({**common, **_LEASE_CLEARED, "status": "denied"})
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
                status="pending", not_before=at, attempts=OutboxEntry.attempts - 1, **_LEASE_CLEARED
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
                **_LEASE_CLEARED,
            }
            for r in rows
        ],
    )
    _log_sends(session, rows, now)
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
_HAND_OVER_PG = text(
    "UPDATE outbox AS o SET message_id = v.message_id, decision_rule = v.decision_rule, "
    "policy_hash = v.policy_hash "
    "FROM unnest(CAST(:ids AS BIGINT[]), CAST(:message_ids AS TEXT[]), CAST(:rules AS TEXT[]), "
    "CAST(:hashes AS TEXT[])) AS v(id, message_id, decision_rule, policy_hash) "
    "WHERE o.id = ANY(CAST(:ids AS BIGINT[])) AND o.id = v.id "  # index lookups, not a scan
    "AND o.status = 'leased' AND o.leased_by = :worker "
    "AND o.lease_until > :now RETURNING o.id"
).bindparams(bindparam("now", type_=UTCDateTime()))


def _log_sends(target, entries: Sequence, now: datetime) -> None:
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


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one handed-over or failed entry."""

    entry: object
    status: str  # sent | retry | failed
    error: str | None = None
    not_before: datetime | None = None
    bounced: bool = False


class Recorder:
    """Hand-over markers and outcomes, committed once per wave on a dedicated connection."""

    def __init__(self, connection: Connection, worker_id: str) -> None:
        """Record through ``connection`` (owned by the caller) for ``worker_id``."""
        self.connection = connection
        self.worker_id = worker_id
        self.counts: Counter[str] = Counter()

    def hand_over(
        self, wave: Sequence, message_ids: Mapping[int, str], done: Sequence[Outcome], now: datetime
    ) -> set[int]:
        """Record ``done`` and mark ``wave`` as handed over; returns the ids still ours.

        An entry whose lease expired or was taken over is not marked and must not be sent.
        """
        with self.connection.begin():
            self._outcomes(done, now)
            if not wave:
                return set()
            ids = [entry.id for entry in wave]
            if dialect_name(self.connection) == "postgresql":
                return set(
                    self.connection.execute(
                        _HAND_OVER_PG,
                        {
                            "ids": pg_array(ids),
                            "message_ids": pg_array([message_ids[i] for i in ids]),
                            "rules": pg_array([e.decision.rule_id for e in wave]),
                            "hashes": pg_array([e.decision.policy_hash for e in wave]),
                            "worker": self.worker_id,
                            "now": now,
                        },
                    ).scalars()
                )
            statement = (
                update(OutboxEntry)
                .where(
                    OutboxEntry.id.in_(ids),
                    OutboxEntry.status == "leased",
                    OutboxEntry.leased_by == self.worker_id,
                    OutboxEntry.lease_until > now,
                )
                .values(
                    message_id=case(message_ids, value=OutboxEntry.id),
                    decision_rule=case(
                        {e.id: e.decision.rule_id for e in wave}, value=OutboxEntry.id
                    ),
                    policy_hash=case(
                        {e.id: e.decision.policy_hash for e in wave}, value=OutboxEntry.id
                    ),
                )
                .returning(OutboxEntry.id)
            )
            return set(self.connection.execute(statement).scalars())

    def finish(self, done: Sequence[Outcome], now: datetime) -> None:
        """Record the last outcomes of a batch."""
        if done:
            with self.connection.begin():
                self._outcomes(done, now)

    def _outcomes(self, done: Sequence[Outcome], now: datetime) -> None:
        self.counts.update(o.status for o in done)
        sent = [o.entry for o in done if o.status == "sent"]
        if sent:
            self._mark_sent(sent, now)
            _log_sends(self.connection, sent, now)
        for outcome in done:
            if outcome.status != "sent":
                self._mark_failure(outcome)

    def _mark_sent(self, sent: Sequence, now: datetime) -> None:
        self.connection.execute(
            update(OutboxEntry)
            .where(among(self.connection, OutboxEntry.id, [e.id for e in sent]))
            .values(status="sent", sent_at=now, last_error=None, **_LEASE_CLEARED)
        )

    def _mark_failure(self, outcome: Outcome) -> None:
        entry = outcome.entry
        values = {
            "status": "pending" if outcome.status == "retry" else "failed",
            "last_error": outcome.error,
            "message_id": None,
            **_LEASE_CLEARED,
        }
        if outcome.not_before is not None:
            values["not_before"] = outcome.not_before
        self.connection.execute(
            update(OutboxEntry).where(OutboxEntry.id == entry.id).values(**values)
        )
        if outcome.bounced:
            suppress(
                self.connection,
                entry.customer_id,
                entry.channel,
                "bounce",
                "delivery",
                outcome.error,
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
