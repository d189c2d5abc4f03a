"""Many workers and crashes: every outbox entry reaches the SMTP sink exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.delivery.models import OutboxEntry
from app.delivery.settings import worker_settings
from app.delivery.worker import DeliveryWorker
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


def _worker_env(app, url: str, secrets: dict[str, str], policies: str, port: int) -> dict[str, str]:
    env = dict(os.environ, ASSENSO_ENV="production", DATABASE_URL=url, ASSENSO_POLICY_DIR=policies,
               ASSENSO_SMTP_PORT=str(port), ASSENSO_WORKER_BATCH_SIZE="40",
               ASSENSO_WORKER_IDLE_SECONDS="0.2", ASSENSO_DEV_MAILBOX="false")  # fmt: skip
    env.update(secrets)
    env["ASSENSO_KEYSTORE_URL"] = current_settings(app).keystore_url
    return env


def _start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "run"]
    command += ["--lease-seconds", "5", *args]
    with open(log, "ab") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)


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
