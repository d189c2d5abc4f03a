"""One active scheduler: the second waits and takes over when the first stops or dies."""

from __future__ import annotations

import threading
import time

import pytest

from app.campaigns.lock import AdvisoryLock, RowLock, lock_for
from app.campaigns.scheduler import SchedulerService
from app.extensions import db

FAST = {
    "SCHEDULER_LOCK_POLL_SECONDS": 0.05,
    "SCHEDULER_LOCK_TTL_SECONDS": 0.6,
    "SCHEDULER_HEARTBEAT_SECONDS": 0.1,
    "SCHEDULER_SYNC_SECONDS": 3600,
}


@pytest.fixture
def fast_app(app_factory):
    """An application with a quick lock poll, heartbeat and time-to-live."""
    application = app_factory(**FAST)
    with application.app_context():
        yield application
    with application.app_context():
        _empty_job_table()


def _empty_job_table() -> None:
    from sqlalchemy import text

    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM apscheduler_jobs"))


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_the_lock_matches_the_database(fast_app, engine_name):
    lock = lock_for(db.engine)
    assert isinstance(lock, AdvisoryLock if engine_name == "postgresql" else RowLock)


def test_a_second_holder_waits_until_the_first_releases(fast_app):
    first, second = lock_for(db.engine, ttl_seconds=60), lock_for(db.engine, ttl_seconds=60)
    try:
        assert first.try_acquire()
        assert first.try_acquire()  # re-entrant for the holder
        assert not second.try_acquire()
        assert first.still_held()
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


def test_a_dead_holder_is_taken_over(fast_app, engine_name):
    first, second = lock_for(db.engine, ttl_seconds=0.3), lock_for(db.engine, ttl_seconds=0.3)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        if engine_name == "postgresql":
            first._connection.invalidate()  # the process died: its connection is gone
        # On SQLite the dead holder simply stops refreshing its heartbeat.
        assert wait_until(second.try_acquire, timeout=5)
        assert not first.still_held()
    finally:
        second.release()
        first.release()


def test_a_second_scheduler_waits_and_takes_over(fast_app):
    one, two = SchedulerService(fast_app), SchedulerService(fast_app)
    stop_one, stop_two = threading.Event(), threading.Event()
    waited = threading.Event()
    first = threading.Thread(target=one.run, args=(stop_one,), daemon=True)
    second = threading.Thread(target=two.run, args=(stop_two, waited.set), daemon=True)
    first.start()
    try:
        assert one.active.wait(10)
        second.start()
        assert waited.wait(10)
        time.sleep(0.3)
        assert not two.active.is_set()
        stop_one.set()
        first.join(10)
        assert two.active.wait(10), "the standby scheduler did not take over"
    finally:
        stop_one.set()
        stop_two.set()
        first.join(10)
        second.join(10)
    assert not one.active.is_set() and not two.active.is_set()
