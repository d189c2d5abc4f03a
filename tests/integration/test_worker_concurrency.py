"""Many workers and crashes: every outbox entry reaches the SMTP sink exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.delivery.settings import worker_settings
from app.delivery.worker import DeliveryWorker
from app.models_base import utcnow
from app.outbox.models import OutboxEntry
from app.settings import current_settings
from config import generate_secrets
from tests.integration.test_delivery_helpers import (
    Sink,
    audience,
    campaign_outbox,
    relaxed_policies,
)

ROOT = Path(__file__).resolve().parents[2]


def _counts(app) -> dict[str, int]:
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(
            select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status)
        )
        result = dict(rows.all())
        db.session.remove()
        return result


@pytest.mark.slow
def test_three_workers_deliver_ten_thousand_exactly_once(app_factory, tmp_path, engine_name):
    if engine_name != "postgresql":
        pytest.skip("concurrent workers need PostgreSQL (FOR UPDATE SKIP LOCKED)")
    from app.extensions import db

    with Sink() as sink:
        app = app_factory(POLICY_DIR=relaxed_policies(tmp_path / "p"), SMTP_PORT=sink.port)
        with app.app_context():
            people = audience(db.session(), 50)
            campaign_outbox(db.session(), [p.id for p in people], copies=200)

        def work() -> None:
            with app.app_context():
                DeliveryWorker(app, worker_settings(app, batch_size=250)).run(
                    threading.Event(), once=True
                )

        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ids = Counter(sink.message_ids())
    assert len(ids) == 10_000
    assert max(ids.values()) == 1
    assert _counts(app) == {"sent": 10_000}


def _worker_env(
    app, url: str, secrets: dict[str, str], policies: str, port: int, **settings: str
) -> dict[str, str]:
    env = dict(os.environ, ASSENSO_ENV="production", DATABASE_URL=url, ASSENSO_POLICY_DIR=policies,
               ASSENSO_SMTP_PORT=str(port), ASSENSO_WORKER_BATCH_SIZE="40",
               ASSENSO_WORKER_IDLE_SECONDS="0.2", ASSENSO_DEV_MAILBOX="false")  # fmt: skip
    env.update(secrets)
    env.update({f"ASSENSO_{name}": value for name, value in settings.items()})
    env["ASSENSO_KEYSTORE_URL"] = current_settings(app).keystore_url
    return env


def _start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "flask", "--app", "worker", "worker", "run"]  # as the Procfile
    command += ["--lease-seconds", "5", *args]
    with open(log, "ab") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)


@pytest.fixture
def spawn():
    """``spawn(env, log, *args)`` starts a worker process; any still running (or frozen) when
    the test ends is killed."""
    started: list[subprocess.Popen] = []

    def start(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
        started.append(_start_worker(env, log, *args))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_kill_9_mid_batch_loses_and_duplicates_nothing(app_factory, database_url, tmp_path):
    secrets = generate_secrets()
    overrides = {name.removeprefix("ASSENSO_"): value for name, value in secrets.items()}
    policies = relaxed_policies(tmp_path / "p")
    from app.extensions import db

    with Sink(delay=0.02) as sink:
        app = app_factory(POLICY_DIR=policies, SMTP_PORT=sink.port, **overrides)
        with app.app_context():
            people = audience(db.session(), 20)
            campaign_outbox(db.session(), [p.id for p in people], copies=6)
            db.session.remove()
        env = _worker_env(app, database_url, secrets, policies, sink.port)
        log = tmp_path / "worker.log"
        first = _start_worker(env, log)
        deadline = time.monotonic() + 30
        while len(sink.messages) < 25 and time.monotonic() < deadline:
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert 0 < len(sink.messages) < 120, log.read_text()[-3000:]
        time.sleep(5.2)  # let the dead worker's lease expire
        second = _start_worker(env, log, "--once")
        assert second.wait(60) == 0, log.read_text()[-3000:]
        ids = Counter(sink.message_ids())
    assert len(ids) == 120, f"lost {120 - len(ids)}"
    assert max(ids.values()) == 1, "a message was sent twice"
    assert _counts(app) == {"sent": 120}


def _prepare(app_factory, tmp_path, sink: Sink, customers: int):
    """An app with ``customers`` messages queued, and the environment of worker processes."""
    from app.extensions import db

    secrets = generate_secrets()
    overrides = {name.removeprefix("ASSENSO_"): value for name, value in secrets.items()}
    policies = relaxed_policies(tmp_path / "p")
    app = app_factory(POLICY_DIR=policies, SMTP_PORT=sink.port, **overrides)
    with app.app_context():
        people = audience(db.session(), customers)
        campaign_outbox(db.session(), [p.id for p in people])
        db.session.remove()
    url = current_settings(app).database_url
    env = _worker_env(app, url, secrets, policies, sink.port, WORKER_SMTP_CONNECTIONS="3")
    return app, env


def _wait_for(condition, seconds: float, what: str) -> float:
    """Poll ``condition`` until true; the time it became true (monotonic)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic()


def _leases(app) -> dict[str, int]:
    """Entries per ``leased_by`` (``None``: not leased) and how many were claimed twice."""
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(select(OutboxEntry.leased_by, OutboxEntry.attempts)).all()
        db.session.remove()
    held = Counter(holder for holder, _ in rows)
    held["claimed twice"] = sum(1 for _, attempts in rows if attempts > 1)
    return held


def _lease_end(app, worker: str) -> datetime:
    """When the last lease ``worker`` holds runs out."""
    from app.extensions import db

    with app.app_context():
        query = select(func.max(OutboxEntry.lease_until)).where(OutboxEntry.leased_by == worker)
        end = db.session.execute(query).scalar_one()
        db.session.remove()
    assert end is not None, f"{worker} holds no lease"
    return end


def test_frozen_worker_resumed_after_takeover_under_the_same_id_sends_nothing_twice(
    app_factory, tmp_path, engine_name, spawn
):
    if engine_name != "postgresql":
        pytest.skip("a frozen SQLite writer would hold the only write lock of the database")
    log = tmp_path / "worker.log"
    with Sink(reply_delay=0.5) as sink:
        # 30 messages, three at a time through a relay answering each dot after 0.5 s.
        app, env = _prepare(app_factory, tmp_path, sink, 30)
        first = spawn(env, log, "--id", "mailer-1")
        _wait_for(lambda: len(sink.messages) >= 4, 30, "the first worker to start sending")
        first.send_signal(signal.SIGSTOP)
        time.sleep(5.5)  # its lease (5 s) runs out: a frozen process renews nothing
        second = spawn(env, log, "--id", "mailer-1", "--once")
        _wait_for(lambda: _leases(app)["claimed twice"] > 0, 30, "the takeover")
        first.send_signal(signal.SIGCONT)  # resumes while the replacement is still sending
        assert second.wait(60) == 0, log.read_text()[-3000:]
        time.sleep(1.0)
        first.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        assert first.wait(30) == 0, log.read_text()[-3000:]
        assert time.monotonic() - stopping < 5, "SIGTERM took too long"
        last = spawn(env, log, "--once")  # anything the first one gave back
        assert last.wait(60) == 0, log.read_text()[-3000:]
        ids = Counter(sink.message_ids())
    assert max(ids.values()) == 1, f"sent twice: {[i for i, n in ids.items() if n > 1]}"
    assert len(ids) == 30
    assert _counts(app) == {"sent": 30}


def test_live_worker_keeps_its_lease_and_a_killed_one_loses_it_within_seconds(
    app_factory, tmp_path, spawn
):
    log = tmp_path / "worker.log"
    with Sink(reply_delay=1.0) as sink:
        # 24 messages, three at a time, 1 s per wave: one batch outlasts the 5 s lease.
        app, env = _prepare(app_factory, tmp_path, sink, 24)
        first = spawn(env, log, "--id", "mailer-1")
        claimed = _wait_for(lambda: _leases(app)["mailer-1"] > 0, 30, "the first claim")
        second = spawn(env, log, "--id", "mailer-2")
        time.sleep(max(claimed + 6.0 - time.monotonic(), 0))
        held = _leases(app)
        assert (held["mailer-2"], held["claimed twice"]) == (0, 0), "a live worker's lease ran out"
        assert held["mailer-1"] > 0, "the batch ended too early to show anything"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        # Its entries are free again within the lease (5 s) of the kill, as the database says:
        # how quickly the live worker then notices depends on the machine's load, not on the
        # lease, so it is given the wait's margin.
        ends = _lease_end(app, "mailer-1") - utcnow()
        assert ends <= timedelta(seconds=5), f"the dead worker's lease runs {ends} after its death"
        _wait_for(lambda: _leases(app)["mailer-1"] == 0, 30, "the takeover")
        _wait_for(lambda: _counts(app) == {"sent": 24}, 60, "every message to be sent")
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text()[-3000:]
        ids = Counter(sink.message_ids())
    assert len(ids) == 24 and max(ids.values()) == 1
