"""Keeping a batch's lease while it is being sent, so a short lease only ever runs out on a
worker that stopped.

Leases are short (``WORKER_LEASE_SECONDS``, 15 s by default) so the entries of a worker that
died move on to another within seconds; a live worker renews them from a thread of its own
every third of the lease, however long its relay takes. A frozen process renews nothing (its
threads are frozen too); once its lease ran out, its entries may be claimed again under a new
token, and every write it makes after it resumes is refused by the fence.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.delivery.recorder import renew_leases

log = logging.getLogger("assenso.delivery")


class Heartbeat:
    """A context manager renewing the leases of ``ids`` under ``token`` until it exits."""

    def __init__(
        self,
        engine: Engine,
        token: str,
        ids: Sequence[int],
        lease_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        """Renew on ``engine`` every third of ``lease_seconds``, measured by ``clock``."""
        self.engine = engine
        self.token = token
        self.ids = list(ids)
        self.lease = timedelta(seconds=lease_seconds)
        self.interval = lease_seconds / 3
        self.clock = clock
        self.beats = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
        self._thread.join()

    def beat(self) -> int:
        """Renew once, now; how many entries are still held.

        One statement in autocommit: a process frozen while it runs holds no row lock
        afterwards, so its entries can still be taken over once its lease ran out.
        """
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            held = renew_leases(connection, self.token, self.ids, self.clock() + self.lease)
        self.beats += 1
        return held

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                if self.beat() == 0:
                    return  # nothing left to hold: sent, recorded, or taken over
            except SQLAlchemyError as exc:  # the next beat tries again; the fence stays
                log.warning("lease renewal failed (%s)", exc.__class__.__name__)
