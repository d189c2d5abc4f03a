"""Consent ledger benchmark: single appends, bulk import, full verification, inclusion proofs.

Run from the repository root: ``python bench/ledger.py [--quick] [--events N]``. It builds its
own SQLite databases in a temporary folder and prints, at the end::

    RESULT ledger_floor_tx_per_s <v> tx/s          (bare sqlite3: one change's statements)
    RESULT ledger_appends_per_s <v> appends/s      (service layer, one transaction each)
    RESULT ledger_appends_vs_floor <v> ratio       (target >= 0.33)
    RESULT ledger_appends_with_request_reads_per_s <v> appends/s (same, plus a request's reads)
    RESULT ledger_import_events_per_s <v> events/s (bulk import, state projection included)
    RESULT ledger_import_vs_floor <v> ratio        (target >= 2)
    RESULT ledger_verify_1m_s <v> s                (flask ledger verify's code over N events)
    RESULT ledger_verify_1m_cpu_s <v> s            (the same, CPU time of this process)
    RESULT ledger_verify_peak_rss_growth_mb <v> MB (peak while verifying, above the size before)
    RESULT ledger_inclusion_proof_ms <v> ms        (worst of 200 random proofs in a N-event tree)

The floor is the database's own ceiling for single changes on this machine: the statements of
one change (head, customer read, event row, tree nodes, state read and upsert, commit) through
the bare ``sqlite3`` module on the application's schema and connection settings, with prepared
values. It is measured in rounds between the appends and around the import, so both ratios
divide figures taken under the same load.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from app.bootstrap import _sqlite_pragmas
from app.customers.models import Customer
from app.extensions import db
from app.ledger import appender, consent, proofs, verify
from app.ledger.drafts import EventDraft, new_record_id
from app.ledger.models import Notice
from app.ledger.notices import publish_notice
from app.vault.service import register_customer

logging.disable(logging.WARNING)


def memory_mb(field: str) -> float:
    """This process's ``VmRSS`` (resident now) or ``VmHWM`` (peak) in MB, from Linux."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")


def reset_peak_memory() -> None:
    """Restart this process's peak (``VmHWM``) from its current size (Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def build_app(folder: Path):
    """A migrated application on a fresh SQLite database in ``folder``."""
    from flask_migrate import upgrade

    app = create_app(
        "testing",
        DATABASE_URL=f"sqlite:///{folder / 'bench.sqlite3'}",
        KEYSTORE_URL=f"sqlite:///{folder / 'keys.sqlite3'}",
    )
    with app.app_context():
        upgrade()
    return app


def make_customers(session, count: int) -> list[Customer]:
    """``count`` customers (real vault registration, so keys and ciphertexts exist)."""
    return [
        register_customer(session, email=f"bench{n}@example.com", jurisdiction="IT")
        for n in range(count)
    ]


class Floor:
    """Single consent changes' statements through bare ``sqlite3``, timed in rounds."""

    def __init__(self, folder: Path) -> None:
        """Migrate a database of its own in ``folder`` with one customer."""
        folder.mkdir()
        app = build_app(folder)
        with app.app_context():
            customer = make_customers(db.session, 1)[0]
            self.cid, self.ref = customer.id, customer.ref
            db.session.remove()
            db.engine.dispose()
        self.con = sqlite3.connect(folder / "bench.sqlite3", isolation_level=None)
        _sqlite_pragmas(self.con, None)  # the application's own connection settings
        self.transactions, self.seconds = 0, 0.0

    def run(self, count: int) -> None:
        """Run ``count`` transactions, adding them and their time to the totals."""
        ids, digest, con, cid = (
            [new_record_id() for _ in range(count)],
            bytes(32),
            self.con,
            self.cid,
        )
        started = time.perf_counter()
        for n in range(count):
            action = "granted" if n % 2 else "withdrawn"
            con.execute("BEGIN IMMEDIATE")
            head = "UPDATE ledger_head SET size = size + 1 WHERE id = 1 RETURNING size"
            seq = con.execute(head).fetchone()[0] - 1
            con.execute(
                "SELECT ref, jurisdiction, language, erased_at, objected_at FROM customers "
                "WHERE id = ?",
                (cid,),
            ).fetchone()
            con.execute(
                "INSERT INTO consent_events (seq, record_id, customer_ref, purpose, channel, "
                "action, lawful_basis, notice_id, notice_version, notice_hash, method, source, "
                "actor, reason, jurisdiction, language, event_time, expires_at, evidence, "
                "leaf_hash) VALUES (?, ?, ?, 'offers', 'sms', ?, 'consent', NULL, NULL, NULL, "
                "'web_form', 'portal', 'customer', NULL, 'IT', 'it', "
                "'2026-11-23 10:00:00.000000', NULL, NULL, ?)",
                (seq, ids[n], self.ref, action, digest),
            )
            nodes = [(0, seq, digest)] + ([(1, seq // 2, digest)] if seq % 2 else [])
            con.executemany("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
            con.execute(
                "SELECT status, last_seq FROM consent_state "
                "WHERE customer_id = ? AND purpose = 'offers' AND channel = 'sms'",
                (cid,),
            ).fetchone()
            con.execute(
                "INSERT INTO consent_state (customer_id, purpose, channel, status, lawful_basis, "
                "confirmed, last_seq, updated_at) VALUES (?, 'offers', 'sms', ?, 'consent', 1, ?, "
                "'2026-11-23 10:00:00.000000') ON CONFLICT (customer_id, purpose, channel) DO "
                "UPDATE SET status = excluded.status, last_seq = excluded.last_seq",
                (cid, action, seq),
            )
            con.execute("COMMIT")
        self.seconds += time.perf_counter() - started
        self.transactions += count

    @property
    def rate(self) -> float:
        """Transactions per second over every round so far."""
        return self.transactions / self.seconds


def bench_appends(session, customers, count: int, *, request_reads: bool = False) -> float:
    """Seconds for ``count`` single consent changes through the service layer.

    The service is called with the customer and the notice already loaded, as a portal
    request has its signed-in customer; each call appends, projects the state and commits.
    With ``request_reads`` each change also runs a request's own reads around it: load the
    customer and the notice by id through the ORM, then end the session.
    """
    notice = session.scalar(db.select(Notice).limit(1))
    notice_id = notice.id
    ids = [customer.id for customer in customers]
    session.remove()
    loaded = [session.get(Customer, id_) for id_ in ids]
    notice = session.get(Notice, notice_id)
    common = {"purpose": "offers", "channel": "sms", "source": "portal", "method": "web_form"}
    started = time.perf_counter()
    for n in range(count):
        if request_reads:
            customer = session.get(Customer, ids[n % len(ids)])
            notice = session.get(Notice, notice_id)
        else:
            customer = loaded[n % len(ids)]
        if n % 2:
            consent.withdraw(session, customer, actor="customer", **common)
        else:
            consent.grant(session, customer, notice=notice, actor="customer", **common)
        if request_reads:
            session.remove()
    seconds = time.perf_counter() - started
    session.remove()
    return seconds


def imported(customers, count: int, first: int = 0) -> Iterator[tuple[int, EventDraft]]:
    """``count`` consent records from a previous platform, spread over the customers (the
    ``first`` record's time one second after record ``first - 1``'s)."""
    rng = random.Random(7 + first)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    purposes, channels = ("offers", "surveys", "partners"), ("email", "sms")
    refs = [(c.id, c.ref) for c in customers]
    for n in range(first, first + count):
        cid, ref = refs[rng.randrange(len(refs))]
        yield (
            cid,
            EventDraft(
                customer_ref=ref,
                purpose=purposes[n % 3],
                channel=channels[n % 2],
                action="granted" if rng.random() < 0.8 else "withdrawn",
                lawful_basis="consent",
                method="import",
                source="import",
                actor="import",
                jurisdiction="IT",
                language="it",
                event_time=start + timedelta(seconds=n),
            ),
        )


def bench_import(session, customers, count: int, batch: int = 5000) -> float:
    """Seconds to import ``count`` records through the appender, ``batch`` per transaction."""
    records = imported(customers, count)
    started = time.perf_counter()
    while events := list(islice(records, batch)):
        appender.record_batch(session, events)
    return time.perf_counter() - started


def main() -> None:
    """Run every measurement and print the RESULT lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--events", type=int, default=None, help="ledger size to verify")
    args = parser.parse_args()
    events = args.events or (50_000 if args.quick else 1_000_000)
    appends = 1_000 if args.quick else 5_000
    floor_round = appends  # four rounds: twice beside the appends, before and after the import
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        floor = Floor(Path(tmp) / "floor")
        app = build_app(Path(tmp))
        with app.app_context():
            session = db.session
            customers = make_customers(session, 200)
            publish_notice(session, purpose="offers", language="en", title="Offers", text="x")
            print(f"appending {appends} single changes…", flush=True)
            seconds = 0.0
            for _ in range(2):
                floor.run(floor_round)
                seconds += bench_appends(session, customers, appends // 2)
            appends_per_s = appends / seconds
            print(f"  {appends_per_s:,.0f} appends/s (floor so far {floor.rate:,.0f} tx/s)")
            reads = appends / bench_appends(session, customers, appends, request_reads=True)
            print(f"  {reads:,.0f} appends/s with a request's reads", flush=True)
            customers = [session.get(Customer, customer.id) for customer in customers]

            imports = events - 2 * appends
            print(f"importing {imports:,} events…", flush=True)
            floor.run(floor_round)
            import_rate = imports / bench_import(session, customers, imports)
            floor.run(floor_round)
            print(f"  {import_rate:,.0f} events/s (floor {floor.rate:,.0f} tx/s)", flush=True)
            proofs.make_checkpoint(session)
            session.remove()
            db.engine.dispose()  # the import's connections go, and their page caches with them
            reset_peak_memory()
            rss_before = memory_mb("VmRSS")
            print("verifying…", flush=True)
            started, cpu = time.perf_counter(), time.process_time()
            result = verify.verify_ledger(session)
            verify_s, verify_cpu = time.perf_counter() - started, time.process_time() - cpu
            assert result.ok, result.problems
            print(f"  {result.checked:,} events verified in {verify_s:.1f} s", flush=True)
            growth = memory_mb("VmHWM") - rss_before

            size = proofs.latest_checkpoint(session).tree_size
            worst = 0.0
            rng = random.Random(3)
            for _ in range(200):
                started = time.perf_counter()
                proofs.inclusion_proof(session, rng.randrange(size), size)
                worst = max(worst, time.perf_counter() - started)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    scale = 1_000_000 / result.checked
    print(f"RESULT ledger_floor_tx_per_s {floor.rate:.0f} tx/s")
    print(f"RESULT ledger_appends_per_s {appends_per_s:.0f} appends/s")
    print(f"RESULT ledger_appends_vs_floor {appends_per_s / floor.rate:.2f} ratio")
    print(f"RESULT ledger_appends_with_request_reads_per_s {reads:.0f} appends/s")
    print(f"RESULT ledger_import_events_per_s {import_rate:.0f} events/s")
    print(f"RESULT ledger_import_vs_floor {import_rate / floor.rate:.2f} ratio")
    print(f"RESULT ledger_verify_1m_s {verify_s * scale:.2f} s")
    print(f"RESULT ledger_verify_1m_cpu_s {verify_cpu * scale:.2f} s")
    print(f"RESULT ledger_verify_peak_rss_growth_mb {growth:.1f} MB")
    print(f"RESULT ledger_inclusion_proof_ms {worst * 1000:.2f} ms")


if __name__ == "__main__":
    main()
