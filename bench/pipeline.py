"""Benchmark: the delivery pipeline end to end against postfix's ``smtp-sink``.

Builds N customers (encrypted profiles, granted consent, shared first name, one earlier send
a month ago) and N outbox entries directly in the database (bypassing the ledger: this
measures delivery), then runs
``--workers`` worker processes: claim with policy re-check, bulk decrypt, render, SMTP with
the hand-over marker, record. Baseline in the same run: plain smtplib sending pre-built
messages over one connection to the same sink.

    python bench/pipeline.py [--quick] [--million] [--workers 2] [--connections 96]
        [--recipients 100000]

Needs ``smtp-sink`` (Debian: ``apt-get install postfix``; falls back to aiosmtpd, slower) and
uses ``BENCH_DATABASE_URL`` (PostgreSQL recommended), else a SQLite file.
Prints ``RESULT pipeline_msgs_per_s``, ``RESULT pipeline_vs_raw_smtp``,
``RESULT pipeline_worker_cpu_per_msg`` (the workers' own CPU time per message, comparable
between runs on a busy machine) and, with ``--million``, ``RESULT pipeline_1m_peak_rss_mb``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import generate_secrets  # noqa: E402

# Spawned worker processes re-import this module: they must see the same keys.
SECRETS = json.loads(
    os.environ.setdefault("BENCH_PIPELINE_SECRETS", json.dumps(generate_secrets()))
)
CHUNK = 5000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sink(port: int):
    """smtp-sink when installed (preferred), else an aiosmtpd sink in this process."""
    binary = shutil.which("smtp-sink") or (
        "/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None
    )
    if binary:
        proc = subprocess.Popen(
            [binary, "-c", "-u", "nobody", f"127.0.0.1:{port}", "1000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        return "smtp-sink", proc.kill
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    return "aiosmtpd", controller.stop


def make_app(url: str, keystore: str, policies: str, port: int, web: bool = True):
    from app import create_app

    overrides = {name.removeprefix("ASSENSO_"): value for name, value in SECRETS.items()}
    return create_app(
        "testing",
        web=web,
        DATABASE_URL=url,
        KEYSTORE_URL=keystore,
        POLICY_DIR=policies,
        SMTP_PORT=port,
        MAIL_FROM="Shop <news@shop.example>",
        **overrides,
    )


def reset_database(app) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:  # a second run (--million) starts from an empty file as well
            db.drop_all(bind_key=None)
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        db.drop_all(bind_key="keystore")  # data keys of the previous run's customers
        db.create_all(bind_key="keystore")


def seed(app, customers: int, entries: int) -> None:
    """Customers with encrypted profiles and consent, a campaign, and ``entries`` outbox rows."""
    from sqlalchemy import insert

    from app.campaigns.models import Campaign, CampaignRun, CampaignTemplate
    from app.customers.models import Customer
    from app.extensions import db
    from app.ledger.models import ConsentState
    from app.models_base import new_ref, utcnow
    from app.outbox.models import OutboxEntry, SendLog
    from app.runtime import runtime
    from app.vault.envelope import FieldCipher, new_data_key, wrap_data_key
    from app.vault.models import CustomerKey, ProfileField, SharingChoice

    now = utcnow()
    with app.app_context():
        ring = runtime().vault_keys
        session = db.session()
        for start in range(0, customers, CHUNK):
            ids = range(start + 1, min(start + CHUNK, customers) + 1)
            rows, keys, fields, shares, states, history = [], [], [], [], [], []
            for cid in ids:
                ref, dek = new_ref(), new_data_key()
                wrapped = wrap_data_key(ring, ref, dek)
                cipher = FieldCipher(dek, ref)
                rows.append(
                    {
                        "id": cid,
                        "ref": ref,
                        "email_index": f"bench{cid}",
                        "jurisdiction": "IT",
                        "timezone": "UTC",
                        "language": "en",
                        "age_attested": 30,
                        "email_verified": True,
                        "alt_id": f"alt{cid}",
                    }
                )
                keys.append(
                    {
                        "customer_id": cid,
                        "kek_version": wrapped.kek_version,
                        "wrapped_key": wrapped.blob,
                    }
                )
                fields += [
                    {
                        "customer_id": cid,
                        "field": "email",
                        "ciphertext": cipher.encrypt("email", f"p{cid}@example.org"),
                    },
                    {
                        "customer_id": cid,
                        "field": "first_name",
                        "ciphertext": cipher.encrypt("first_name", f"Ann{cid}"),
                    },
                ]
                shares.append(
                    {"customer_id": cid, "field": "first_name", "purpose": "offers", "shared": True}
                )
                # A platform that has been sending for a while: one earlier message, outside
                # the 7-day frequency window (so it changes no decision, only table sizes).
                history.append(
                    {
                        "customer_id": cid,
                        "channel": "email",
                        "purpose": "offers",
                        "transactional": False,
                        "sent_at": now - timedelta(days=30),
                    }
                )
                states.append(
                    {
                        "customer_id": cid,
                        "purpose": "offers",
                        "channel": "email",
                        "status": "granted",
                        "lawful_basis": "consent",
                        "confirmed": True,
                        "granted_at": now,
                        "last_seq": 0,
                    }
                )
            for model, data in (
                (Customer, rows),
                (CustomerKey, keys),
                (ProfileField, fields),
                (SharingChoice, shares),
                (ConsentState, states),
                (SendLog, history),
            ):
                session.execute(insert(model), data)
            session.commit()
        campaign = Campaign(name="Bench", purpose="offers", channel="email", created_by="bench")
        session.add(campaign)
        session.flush()
        session.add(
            CampaignTemplate(
                campaign_id=campaign.id,
                subject="Hello {{ first_name }}",
                body_text="Dear {{ first_name }},\nour offer: {{ offer }}\n",
            )
        )
        run = CampaignRun(campaign_id=campaign.id)
        session.add(run)
        session.commit()
        for start in range(0, entries, CHUNK * 4):
            batch = [
                {
                    "idempotency_key": f"run:{run.id}:n:{n}",
                    "campaign_id": campaign.id,
                    "run_id": run.id,
                    "customer_id": n % customers + 1,
                    "channel": "email",
                    "purpose": "offers",
                    "variant": "A",
                    "payload_json": '{"offer": "20% off"}',
                    "not_before": now,
                }
                for n in range(start, min(start + CHUNK * 4, entries))
            ]
            session.execute(insert(OutboxEntry), batch)
            session.commit()
        if db.engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum keeps them
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")


def raw_smtp(port: int, count: int) -> float:
    """Messages per second of smtplib sending pre-built messages over one connection."""
    from app.channels.email import OutgoingEmail, build_message

    messages = [
        build_message(
            OutgoingEmail(
                f"p{i}@example.org",
                "Hello Ann",
                "Dear Ann,\nour offer\n",
                None,
                f"<{i}@shop.example>",
                "https://x/u/t",
                "mailto:u@x",
            ),
            "Shop <news@shop.example>",
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i, message in enumerate(messages):
            smtp.sendmail("news@shop.example", [f"p{i}@example.org"], message)
    return count / (time.perf_counter() - started)


def peak_rss_mb() -> float:
    """This process's own peak resident memory (``VmHWM``, reset by ``exec``).

    ``getrusage`` is not used: Linux keeps a process's peak across ``exec``, so a worker
    spawned (fork, then exec) from this big parent would report the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def worker_process(args) -> tuple[int, float, float]:
    """One delivery worker until the queue is empty: (messages sent, peak RSS in MB, CPU
    seconds of the delivery itself, all of the process's threads)."""
    url, keystore, policies, port, batch, connections = args
    from app.delivery.settings import worker_settings
    from app.delivery.worker import DeliveryWorker

    app = make_app(url, keystore, policies, port, web=False)  # as `flask --app worker` builds it
    with app.app_context():
        worker = DeliveryWorker(
            app, worker_settings(app, batch_size=batch, smtp_connections=connections)
        )
        started = time.process_time()
        total = worker.run(threading.Event(), once=True)
        cpu = time.process_time() - started
    return total.sent, peak_rss_mb(), cpu


def relaxed(folder: Path) -> str:
    sys.path.insert(0, str(ROOT))
    from tests.integration.test_delivery_helpers import relaxed_policies

    return relaxed_policies(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 recipients")
    parser.add_argument(
        "--million", action="store_true", help="also measure peak RSS over 1,000,000 entries"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--connections", type=int, default=96, help="SMTP connections per worker")
    parser.add_argument(
        "--recipients", type=int, default=100_000, help="entries of the main run (default 100,000)"
    )
    options = parser.parse_args()
    if options.workers < 1 or options.recipients < 1:
        parser.error("--workers and --recipients must be at least 1")
    size = 5_000 if options.quick else options.recipients
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
    keystore = f"sqlite:///{work / 'keystore.sqlite3'}"
    policies = relaxed(work / "policies")
    if url.startswith("postgresql"):
        # Emptied before the application starts: it refuses a database whose customers' data
        # keys are not in its key store (a new, empty one on each run of this benchmark).
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    port = free_port()
    sink, stop_sink = start_sink(port)
    print(
        f"sink: {sink} on port {port}; database: {url.split('@')[-1]}; workers: {options.workers}"
    )
    try:
        raw = raw_smtp(port, min(size, 20_000))
        print(f"raw smtplib: {raw:,.0f} msg/s")
        runs = [("pipeline", size)] + ([("million", 1_000_000)] if options.million else [])
        for name, entries in runs:
            app = make_app(url, keystore, policies, port)
            reset_database(app)
            t0 = time.perf_counter()
            seed(app, min(entries, 100_000), entries)
            print(f"{name}: seeded {entries:,} entries in {time.perf_counter() - t0:.1f} s")
            started = time.perf_counter()
            with mp.get_context("spawn").Pool(options.workers) as pool:
                results = pool.map(
                    worker_process,
                    [(url, keystore, policies, port, options.batch, options.connections)]
                    * options.workers,
                )
            sent = sum(count for count, _, _ in results)
            cpu = sum(seconds for _, _, seconds in results)
            elapsed = time.perf_counter() - started
            rate = sent / elapsed
            print(f"{name}: sent {sent:,} of {entries:,} in {elapsed:.1f} s = {rate:,.0f} msg/s")
            peaks = ", ".join(f"{mb:.0f}" for _, mb, _ in results)
            print(f"{name}: peak RSS per worker {peaks} MB")
            if name == "pipeline":
                print(f"RESULT pipeline_msgs_per_s {rate:.0f} msg/s")
                print(f"RESULT pipeline_vs_raw_smtp {rate / raw:.2f} ratio")
                # Worker CPU per message: comparable between runs on a busy machine, where
                # the rates above follow the other load.
                print(f"RESULT pipeline_worker_cpu_per_msg {cpu / sent * 1e6:.0f} us")
            else:
                peak = max(mb for _, mb, _ in results)  # per worker process
                print(f"RESULT pipeline_1m_peak_rss_mb {peak:.0f} MB")
    finally:
        stop_sink()
        print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
