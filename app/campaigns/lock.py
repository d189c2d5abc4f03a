"""Exactly one active scheduler: a database lock, waited for by every other scheduler.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) taken on a dedicated,
  unpooled connection held for the scheduler's lifetime. If the process dies, PostgreSQL
  closes the connection and releases the lock; a waiting scheduler takes over at its next poll.
- SQLite (one machine): the ``scheduler_locks`` row with a holder and a heartbeat. The holder
  refreshes the heartbeat; a row whose heartbeat is older than the time-to-live is taken over.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, delete, or_, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from app.campaigns.models import SchedulerLock
from app.campaigns.sql import insert_ignoring
from app.models_base import utcnow

log = logging.getLogger("assenso.scheduler")

LOCK_NAME = "campaign-scheduler"
#: The advisory lock key: "ASSENSO" + 0x01, a constant shared by every scheduler process.
ADVISORY_KEY = 0x4153_5345_4E53_4F01


def new_holder() -> str:
    """A name for this scheduler process: host, process id and a random suffix."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderLock(Protocol):
    """What the scheduler needs from a lock."""

    holder: str

    def try_acquire(self) -> bool:
        """Take the lock if free; True when this process holds it (again)."""

    def still_held(self) -> bool:
        """Refresh the hold (heartbeat or ping); False when the lock was lost."""

    def release(self) -> None:
        """Give the lock up (idempotent)."""


#: How the lock's connection shows in ``pg_stat_activity.application_name``.
APPLICATION_NAME = "assenso-scheduler"
#: TCP keepalives of the lock's connection, both ways: the server drops (and so unlocks) a
#: connection whose peer stopped answering, the client notices a server that did.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "options": "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3",
}
#: Seconds after which the server has dropped a silent peer: idle + interval * count.
KEEPALIVE_BOUND = 5 + 2 * 3

#: Whether this session holds the advisory lock on the bigint key split as (hi, lo).
_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid::bigint = :hi AND objid::bigint = :lo"
    " AND objsubid = 1)"
)


class AdvisoryLock:
    """The PostgreSQL advisory lock, held by a dedicated connection."""

    def __init__(self, engine: Engine, holder: str | None = None, key: int = ADVISORY_KEY) -> None:
        """Use a private, unpooled engine to ``engine``'s database.

        The connection is named after the holder (``pg_stat_activity.application_name``
        shows which scheduler is active), and the server probes it with TCP keepalives, so
        a scheduler whose machine vanished loses the lock within :data:`KEEPALIVE_BOUND`
        seconds; one whose process died loses it at once (its socket closes).
        """
        self.holder = holder or new_holder()
        self._engine = create_engine(
            engine.url,
            poolclass=NullPool,
            connect_args={"application_name": f"{APPLICATION_NAME} {self.holder}"[:63]}
            | KEEPALIVES,
        )
        self.key = key
        self._connection: Connection | None = None
        self._held = False

    def try_acquire(self) -> bool:
        """Try ``pg_try_advisory_lock`` once (never blocks)."""
        if self._held:
            return self.still_held()
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
            got = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar_one()
            self._connection.commit()  # the lock is session-level: it outlives the transaction
        except SQLAlchemyError:
            self._drop_connection()
            return False
        self._held = bool(got)
        return self._held

    def still_held(self) -> bool:
        """Ask PostgreSQL whether this connection's session still holds the lock.

        A broken or silently re-opened connection answers no (or fails): the lock is lost.
        """
        if not self._held or self._connection is None:
            return False
        try:
            answer = self._connection.execute(
                _HELD, {"hi": self.key >> 32, "lo": self.key & 0xFFFFFFFF}
            )
            held = bool(answer.scalar_one())
            self._connection.commit()
        except SQLAlchemyError:
            held = False
        if not held:
            log.warning("scheduler lock lost (its connection was closed or replaced)")
            self._drop_connection()
        return held

    def release(self) -> None:
        """Unlock and close the dedicated connection."""
        if self._connection is not None and self._held:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._connection.commit()
            except SQLAlchemyError:
                log.warning("scheduler lock could not be released cleanly")
        self._drop_connection()
        self._engine.dispose()

    def _drop_connection(self) -> None:
        self._held = False
        if self._connection is not None:
            try:
                self._connection.close()
            except SQLAlchemyError:
                log.debug("closing a broken lock connection failed")
            self._connection = None


class RowLock:
    """The SQLite lock row with a heartbeat; taken over when the heartbeat is stale."""

    def __init__(
        self,
        engine: Engine,
        holder: str | None = None,
        ttl_seconds: float = 30,
        name: str = LOCK_NAME,
    ) -> None:
        """Lock ``name`` in ``engine``'s ``scheduler_locks`` table."""
        self._engine = engine
        self.holder = holder or new_holder()
        self.ttl = timedelta(seconds=ttl_seconds)
        self.name = name

    def try_acquire(self) -> bool:
        """Take the row if absent, ours, or stale."""
        now = utcnow()
        with self._engine.begin() as connection:
            taken = connection.execute(
                update(SchedulerLock)
                .where(
                    SchedulerLock.name == self.name,
                    or_(
                        SchedulerLock.holder == self.holder,
                        SchedulerLock.heartbeat_at < now - self.ttl,
                    ),
                )
                .values(holder=self.holder, heartbeat_at=now)
            ).rowcount
            if not taken:
                row = {"name": self.name, "holder": self.holder, "heartbeat_at": now}
                taken = connection.execute(
                    insert_ignoring(connection, SchedulerLock).values(row)
                ).rowcount
        return bool(taken)

    def still_held(self) -> bool:
        """Refresh the heartbeat; False when another scheduler took the row over."""
        with self._engine.begin() as connection:
            return bool(
                connection.execute(
                    update(SchedulerLock)
                    .where(SchedulerLock.name == self.name, SchedulerLock.holder == self.holder)
                    .values(heartbeat_at=utcnow())
                ).rowcount
            )

    def release(self) -> None:
        """Delete our row so a waiting scheduler takes over at once."""
        with self._engine.begin() as connection:
            connection.execute(
                delete(SchedulerLock).where(
                    SchedulerLock.name == self.name, SchedulerLock.holder == self.holder
                )
            )


def lock_for(engine: Engine, *, ttl_seconds: float = 30, holder: str | None = None) -> LeaderLock:
    """The right lock for ``engine``'s database."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, holder)
    return RowLock(engine, holder, ttl_seconds)
