"""Failover: ``kill -9`` the active scheduler; the standby takes over and runs every fire once.

Two ``flask scheduler run`` processes (the Procfile's command) share one PostgreSQL database.
The active one is killed 1.5 s before a minute boundary M. Bound under test: the standby holds
the lock within its poll interval (``ASSENSO_SCHEDULER_LOCK_POLL_SECONDS``, 1 s here) plus
3 s; PostgreSQL releases a dead process's advisory lock at once. A campaign recurring every
minute runs exactly once for M (run late by the standby), a one-off campaign due at M + 0.5 s
runs exactly once, and the periodic jobs keep their next run times.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.campaigns import service
from app.extensions import db
from tests.integration.test_delivery_helpers import Sink
from tests.ops.stack import PG_URL, STOP_BOUND_SECONDS, Databases, Settings, Stack, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not PG_URL, reason="scheduler failover runs on PostgreSQL"),
]
TEMPLATE = {"subject": "Picks", "body_text": "Our picks. {{ unsubscribe_url }}"}
TAKEOVER_BOUND_SECONDS = 1 + 3


@pytest.fixture
def databases():
    """Fresh databases and role for this test; dropped afterwards."""
    names = Databases.named("failover")
    names.create()
    yield names
    names.drop()


class Reader:
    """Read-only looks at the database, as an operator's psql would."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def all(self, sql: str, **params) -> list:
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def active_pid(self) -> int | None:
        """The process id of the scheduler holding the lock (its connection is named so)."""
        rows = self.all(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted "
            "AND a.application_name LIKE 'assenso-scheduler %'"
        )
        return int(rows[0][0].split(":")[-2]) if rows else None

    def runs(self, campaign_id: int) -> list[datetime]:
        rows = self.all(
            "SELECT scheduled_for FROM campaign_runs WHERE campaign_id = :c ORDER BY id",
            c=campaign_id,
        )
        return [row[0].astimezone(UTC) for row in rows]

    def next_runs(self) -> dict[str, float]:
        return dict(self.all("SELECT id, next_run_time FROM apscheduler_jobs WHERE id LIKE '%:%'"))


def _next_boundary(margin: float) -> datetime:
    """The first minute boundary at least ``margin`` seconds away."""
    now = datetime.now(UTC)
    boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return (
        boundary if (boundary - now).total_seconds() >= margin else boundary + timedelta(minutes=1)
    )


def _sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def test_a_killed_scheduler_is_replaced_and_no_fire_is_skipped_or_doubled(databases, tmp_path):
    with Sink() as relay:
        settings = Settings(tmp_path, databases, relay.port)
        settings.as_owner("db", "upgrade")
        settings.as_owner("db", "grant-app-role")
        reader = Reader(databases.owner_url)
        stack = Stack(settings)
        app = create_app("testing", **settings.app_overrides())
        try:
            first = stack.start("scheduler")
            assert wait_until(lambda: reader.active_pid() == first.popen.pid, 60), stack.logs()
            second = stack.start("scheduler")
            assert wait_until(lambda: "waiting to take over" in second.output(), 60)

            boundary = _next_boundary(margin=12)
            with app.app_context():
                recurring = service.create_campaign(
                    db.session, actor="marketer", name="Every minute", purpose="offers",
                    channel="email", templates=[TEMPLATE], schedule_kind="cron",
                    cron="* * * * *", cron_timezone="UTC",
                )  # fmt: skip
                service.schedule_campaign(db.session, recurring.id, actor="marketer")
                once = service.create_campaign(
                    db.session, actor="marketer", name="At M", purpose="offers",
                    channel="email", templates=[TEMPLATE], schedule_kind="at",
                    scheduled_at=boundary + timedelta(seconds=0.5),
                )  # fmt: skip
                service.schedule_campaign(db.session, once.id, actor="marketer")
                recurring_id, once_id = recurring.id, once.id
                db.session.remove()
            synced = {f"campaign:{recurring_id}", f"campaign:{once_id}"}
            assert wait_until(lambda: synced <= set(reader.next_runs()), 10), stack.logs()
            periodic = {
                k: v for k, v in reader.next_runs().items() if not k.startswith("campaign:")
            }

            _sleep_until(boundary - timedelta(seconds=1.5))
            stack.kill(first)
            killed = time.monotonic()
            assert wait_until(lambda: reader.active_pid() == second.popen.pid, 30), stack.logs()
            takeover = time.monotonic() - killed
            assert takeover < TAKEOVER_BOUND_SECONDS, f"took over in {takeover:.1f} s"

            assert wait_until(lambda: reader.runs(recurring_id) and reader.runs(once_id), 30)
            _sleep_until(boundary + timedelta(seconds=20))  # time for a double to show
            fires = reader.runs(recurring_id)  # a minute before M may fire too on a slow start
            assert fires.count(boundary) == 1, "the fire at M ran not exactly once"
            assert fires == sorted(set(fires)), "a fire ran twice"
            assert fires[-1] == boundary, "a fire after M before its time"
            assert all(b - a == timedelta(minutes=1) for a, b in pairwise(fires)), "a fire skipped"
            assert len(reader.runs(once_id)) == 1
            after, now = reader.next_runs(), time.time()
            not_due = {k: v for k, v in periodic.items() if v > now and k != "campaigns:sync"}
            assert not_due, "no periodic job to compare"
            assert {k: after[k] for k in not_due} == not_due  # the standby kept their times
            took = stack.terminate([second])
            assert max(took.values()) < STOP_BOUND_SECONDS
        finally:
            stack.close()
            with app.app_context():
                for engine in db.engines.values():
                    engine.dispose()
            reader.engine.dispose()
