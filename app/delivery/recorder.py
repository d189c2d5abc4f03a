"""Hand-over markers and outcomes of a claimed batch, fenced by the claim's lease token.

:class:`Recorder` uses its own connection and commits once per *wave* of messages: the commit
that marks wave N as handed over (Message-ID set) also records the outcomes of wave N-1.
Every write names the claim's lease token, never the worker's id: a worker whose entries were
taken over (it froze past its lease, or its lease ran out) changes nothing, even when its
replacement runs under the same id.

Just before and, on PostgreSQL, just after the hand-over commit, the wave's customers are
re-checked (:class:`app.delivery.recheck.HandOverCheck`): an entry whose customer withdrew,
objected, paused or was suppressed since the claim is recorded as denied (or deferred) and
never reaches the relay.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, case, func, select, text, update

from app.delivery.claim import ClaimedEntry
from app.delivery.recheck import HandOverCheck
from app.delivery.recording import LEASE_CLEARED, log_sends, settled_values, suppress
from app.models_base import UTCDateTime, among, dialect_name, pg_array
from app.outbox.models import OutboxEntry

# PostgreSQL: a whole wave as arrays (in their text form) in one short statement; psycopg
# parses any statement with more than 50 parameters again on every execution.
_HAND_OVER_PG = text(
    "UPDATE outbox AS o SET message_id = v.message_id, decision_rule = v.decision_rule, "
    "policy_hash = v.policy_hash "
    "FROM unnest(CAST(:ids AS BIGINT[]), CAST(:message_ids AS TEXT[]), CAST(:rules AS TEXT[]), "
    "CAST(:hashes AS TEXT[])) AS v(id, message_id, decision_rule, policy_hash) "
    "WHERE o.id = ANY(CAST(:ids AS BIGINT[])) AND o.id = v.id "  # index lookups, not a scan
    "AND o.status = 'leased' AND o.lease_token = :token "
    "AND o.lease_until > :now RETURNING o.id"
).bindparams(bindparam("now", type_=UTCDateTime()))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one handed-over or failed entry."""

    entry: ClaimedEntry
    status: str  # sent | retry | failed
    error: str | None = None
    not_before: datetime | None = None
    bounced: bool = False


def _leased_by(token: str, ids: Iterable[int], bind):
    """The entries among ``ids`` still leased under ``token``."""
    return (
        among(bind, OutboxEntry.id, list(ids)),
        OutboxEntry.status == "leased",
        OutboxEntry.lease_token == token,
    )


def renew_leases(connection: Connection, token: str, ids: Sequence[int], until: datetime) -> int:
    """Extend to ``until`` the leases of ``ids`` still held under ``token``; how many are held.

    On PostgreSQL the renewal skips rows that the worker's own hand-over transaction has locked
    at that moment (they are renewed at the next beat): waiting for them, with the rows locked
    in another order, could deadlock the two.
    """
    if not ids:
        return 0
    held = _leased_by(token, ids, connection)
    if dialect_name(connection) != "postgresql":
        renew = update(OutboxEntry).where(*held)
        return connection.execute(renew.values(lease_until=until)).rowcount
    free = select(OutboxEntry.id).where(*held).with_for_update(skip_locked=True)
    renew = update(OutboxEntry).where(OutboxEntry.id.in_(free.scalar_subquery()))
    renewed = connection.execute(renew.values(lease_until=until)).rowcount
    if renewed:
        return renewed
    return connection.scalar(select(func.count()).select_from(OutboxEntry).where(*held)) or 0


class Recorder:
    """Hand-over markers and outcomes, committed once per wave on a dedicated connection."""

    def __init__(self, connection: Connection, token: str, check: HandOverCheck) -> None:
        """Record through ``connection`` (owned by the caller) for the claim ``token``."""
        self.connection = connection
        self.token = token
        self.check = check
        self.counts: Counter[str] = Counter()
        self.lease_lost = False
        self._after_commit = dialect_name(connection) == "postgresql"

    def hand_over(
        self, wave: Sequence, message_ids: Mapping[int, str], done: Sequence[Outcome], now: datetime
    ) -> set[int]:
        """Record ``done`` and mark ``wave`` as handed over; returns the ids that may be sent.

        An entry no longer leased under this claim is not marked (and ``lease_lost`` is set);
        one whose customer acted since the claim and may no longer be sent is recorded as
        denied or deferred. On SQLite the re-check runs while this transaction holds the
        database's write lock, so no change can commit between it and the marker. On
        PostgreSQL (read committed) a change may commit while the transaction is open, so the
        wave is re-checked once more after the commit, before any final dot is sent: every
        change committed before the hand-over commit is seen.
        """
        with self.connection.begin():
            self._outcomes(done, now)
            if not wave:
                return set()
            kept = self._mark(wave, message_ids, now)
            if len(kept) < len(wave):
                self.lease_lost = True
            kept -= self._refuse(wave, kept, now)
        if kept and self._after_commit:
            with self.connection.begin():
                kept -= self._refuse(wave, kept, now)
        return kept

    def finish(self, done: Sequence[Outcome], now: datetime) -> None:
        """Record the last outcomes of a batch."""
        if done:
            with self.connection.begin():
                self._outcomes(done, now)

    def release(self, entries: Sequence, done: Sequence[Outcome], now: datetime) -> None:
        """Record ``done`` and give ``entries`` (never handed over) back to the queue at once,
        the claim's attempt not counted: a stopping worker leaves them to the others."""
        with self.connection.begin():
            self._outcomes(done, now)
            if entries:
                self.connection.execute(
                    update(OutboxEntry)
                    .where(
                        *_leased_by(self.token, (e.id for e in entries), self.connection),
                        OutboxEntry.message_id.is_(None),
                    )
                    .values(status="pending", attempts=OutboxEntry.attempts - 1, **LEASE_CLEARED)
                    .execution_options(synchronize_session=False)
                )
        self.counts["released"] += len(entries)

    def drop_lost(self, items: list) -> list:
        """``items`` of (entry, message) without the entries this claim no longer holds; asks
        the database only after a hand-over found a lease lost."""
        if not self.lease_lost or not items:
            return items
        self.lease_lost = False
        with self.connection.begin():
            query = select(OutboxEntry.id).where(
                *_leased_by(self.token, (e.id for e, _ in items), self.connection)
            )
            ours = set(self.connection.scalars(query))
        return [item for item in items if item[0].id in ours]

    def _mark(self, wave: Sequence, message_ids: Mapping[int, str], now: datetime) -> set[int]:
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
                        "token": self.token,
                        "now": now,
                    },
                ).scalars()
            )
        statement = (
            update(OutboxEntry)
            .where(*_leased_by(self.token, ids, self.connection), OutboxEntry.lease_until > now)
            .values(
                message_id=case(message_ids, value=OutboxEntry.id),
                decision_rule=case({e.id: e.decision.rule_id for e in wave}, value=OutboxEntry.id),
                policy_hash=case(
                    {e.id: e.decision.policy_hash for e in wave}, value=OutboxEntry.id
                ),
            )
            .returning(OutboxEntry.id)
            .execution_options(synchronize_session=False)
        )
        return set(self.connection.execute(statement).scalars())

    def _refuse(self, wave: Sequence, kept: set[int], now: datetime) -> set[int]:
        """Re-check the kept entries of ``wave``; record those no longer allowed, return ids."""
        entries = [entry for entry in wave if entry.id in kept]
        refused = self.check.refused(self.connection, entries, now)
        for entry in entries:
            decision = refused.get(entry.id)
            if decision is None:
                continue
            values = settled_values(entry, decision)
            self.connection.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == entry.id, OutboxEntry.lease_token == self.token)
                .values(**values)
            )
            self.counts["deferred" if values["status"] == "pending" else "denied"] += 1
        return set(refused)

    def _outcomes(self, done: Sequence[Outcome], now: datetime) -> None:
        self.counts.update(o.status for o in done)
        sent = [o.entry for o in done if o.status == "sent"]
        if sent:
            recorded = self._mark_sent(sent, now)
            log_sends(self.connection, [e for e in sent if e.id in recorded], now)
        for outcome in done:
            if outcome.status != "sent":
                self._mark_failure(outcome)

    def _mark_sent(self, sent: Sequence[ClaimedEntry], now: datetime) -> set[int]:
        """Mark ``sent`` entries still held by this claim as sent; returns their ids."""
        return set(
            self.connection.scalars(
                update(OutboxEntry)
                .where(
                    among(self.connection, OutboxEntry.id, [e.id for e in sent]),
                    OutboxEntry.lease_token == self.token,
                )
                .values(status="sent", sent_at=now, last_error=None, **LEASE_CLEARED)
                .returning(OutboxEntry.id)
                .execution_options(synchronize_session=False)
            )
        )

    def _mark_failure(self, outcome: Outcome) -> None:
        entry = outcome.entry
        values: dict[str, object] = {
            "status": "pending" if outcome.status == "retry" else "failed",
            "last_error": outcome.error,
            "message_id": None,
            **LEASE_CLEARED,
        }
        if outcome.not_before is not None:
            values["not_before"] = outcome.not_before
        self.connection.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry.id, OutboxEntry.lease_token == self.token)
            .values(**values)
        )
        if outcome.bounced:  # the relay refused the address: true whoever holds the entry now
            suppress(
                self.connection,
                entry.customer_id,
                entry.channel,
                "bounce",
                "delivery",
                outcome.error,
            )
