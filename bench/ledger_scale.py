"""Ledger verification at scale: ``flask ledger verify``'s code over N events, on PostgreSQL.

Run from the repository root::

    python bench/ledger_scale.py --events 10000000 --database-url postgresql+psycopg://…

(``--events`` defaults to 1,000,000, ``--quick`` to 50,000. With ``--state DIR``, which
keeps the key store and the secrets between runs, the steps can be separate processes:
``--build-only`` builds, ``--build-only --add`` adds ``--events`` more events, and
``--verify-only`` verifies what was built.)
(the database's ``public`` schema is dropped and migrated again; without ``--database-url``
a temporary SQLite file is used). It registers 200 customers through the vault, then builds
N imported consent events with the appender's own code (``appender.append``: the drafts'
checks, canonical records, leaf hashes and the Merkle frontier's nodes), on a writer whose
row insert is replaced by PostgreSQL's ``COPY`` — the same rows, written in bulk. Consent
state is not projected (verification does not read it). A signed checkpoint is made every
1,000,000 events, so that verification also checks ten signatures and nine consistency
proofs. It then times, in the same run:

    RESULT ledger_scale_read_floor_s <v> s   every event row streamed through the driver
                                            (the verifier's own query, no hashing)
    RESULT ledger_scale_verify_s <v> s       verify.verify_ledger over every event
    RESULT ledger_scale_verify_cpu_s <v> s   the same, CPU time of this process
    RESULT ledger_scale_verify_vs_floor <v> ratio
    RESULT ledger_scale_verify_peak_rss_mb <v> MB       peak resident size while verifying
    RESULT ledger_scale_verify_rss_growth_mb <v> MB     that peak above the size before
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
logging.disable(logging.WARNING)

from sqlalchemy import create_engine, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.customers.models import Customer  # noqa: E402
from app.extensions import db  # noqa: E402
from app.ledger import appender, proofs, tree, verify  # noqa: E402
from app.ledger.appender import ledger_size  # noqa: E402
from app.ledger.notices import publish_notice  # noqa: E402
from app.ledger.writer import EVENT_COLUMNS, NODE_COLUMNS, LedgerWriter  # noqa: E402
from bench.ledger import imported, make_customers, memory_mb, reset_peak_memory  # noqa: E402
from bench.ledger_browse import build_app  # noqa: E402
from config import generate_secrets  # noqa: E402

BATCH = 50_000
CHECKPOINT_EVERY = 1_000_000


class CopyWriter(LedgerWriter):
    """The appender's writer, inserting with ``COPY`` on PostgreSQL (``executemany`` on
    SQLite) and keeping its frontier from one batch to the next."""

    def frontier_at(self, size: int) -> Any:
        """This writer's frontier when it is at ``size``, else the stored nodes'."""
        if self.frontier is not None and self.frontier.size == size:
            return self.frontier
        return super().frontier_at(size)

    def insert(self, events: list[tuple[Any, ...]], nodes: list[tree.Node]) -> None:
        """The rows the appender built, in two ``COPY`` statements."""
        if not hasattr(self.cursor, "copy"):
            super().insert(events, nodes)
            return
        for table, columns, rows in (
            ("consent_events", EVENT_COLUMNS, events),
            ("merkle_nodes", NODE_COLUMNS, nodes),
        ):
            with self.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def fill(events: int) -> float:
    """Build ``events`` events through the appender in batches, after those the ledger holds
    (the first build registers the customers); seconds spent."""
    session = db.session
    customers = list(session.scalars(select(Customer).order_by(Customer.id).limit(200)))
    if not customers:
        customers = make_customers(session, 200)
        publish_notice(session, purpose="offers", language="en", title="Offers", text="x")
        session.commit()
    held = ledger_size(session)
    customers = [SimpleNamespace(id=c.id, ref=c.ref) for c in customers]
    session.remove()
    drafts = imported(customers, events, held)
    raw = db.engine.raw_connection()
    writer = CopyWriter(raw.cursor(), db.engine.dialect, "bench")
    started, done = time.perf_counter(), 0
    try:
        while batch := list(islice(drafts, BATCH)):
            start = writer.reserve(len(batch))
            appender.append(writer, start, [draft for _, draft in batch])
            raw.commit()
            done += len(batch)
            if (held + done) % CHECKPOINT_EVERY == 0 or done == events:
                proofs.make_checkpoint(session)
                session.remove()
                rate = done / (time.perf_counter() - started)
                print(f"  {held + done:,} events ({rate:,.0f} events/s)", flush=True)
    finally:
        raw.close()
    return time.perf_counter() - started


def read_floor() -> tuple[float, int]:
    """Seconds to stream every event row of the verifier's query through the driver (a
    server-side cursor on PostgreSQL, as the verifier's), touching nothing."""
    session = db.session
    started, rows = time.perf_counter(), 0
    cursor = verify._cursor(session, "floor")
    for batch in verify._batches(cursor, verify._EVENTS_SQL, 10_000):
        rows += len(batch)
    session.rollback()
    session.remove()
    return time.perf_counter() - started, rows


def state_app(state: Path, database_url: str, fresh: bool):
    """The application on ``database_url`` with the key store and secrets kept in ``state``
    (made anew, and the database migrated from empty, when ``fresh``)."""
    secrets_file = state / "secrets.json"
    if fresh:
        state.mkdir(parents=True, exist_ok=True)
        (state / "keys.sqlite3").unlink(missing_ok=True)
        secrets_file.write_text(json.dumps(generate_secrets()))
    secrets = json.loads(secrets_file.read_text())
    app = create_app(
        "testing",
        DATABASE_URL=database_url,
        KEYSTORE_URL=f"sqlite:///{state / 'keys.sqlite3'}",
        RATELIMIT_ENABLED=False,
        **{name.removeprefix("ASSENSO_"): value for name, value in secrets.items()},
    )
    if fresh:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
    return app


def build(events: int) -> None:
    """Build ``events`` events in the application's database, then ``VACUUM ANALYZE``."""
    kind = db.engine.dialect.name
    print(f"building {events:,} events on {kind}…", flush=True)
    spent = fill(events)
    print(f"  built in {spent:.0f} s", flush=True)
    if kind == "postgresql":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE consent_events, merkle_nodes"
            )


def measure(events: int | None) -> list[str]:
    """Time the floor and the verification; the RESULT lines (``events``: the size to
    expect, or any)."""
    floor, rows = read_floor()
    print(f"  floor: {rows:,} rows streamed in {floor:.1f} s", flush=True)
    db.engine.dispose()
    reset_peak_memory()
    before = memory_mb("VmRSS")
    print("verifying…", flush=True)
    started, cpu = time.perf_counter(), time.process_time()
    result = verify.verify_ledger(db.session)
    verify_s, verify_cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = memory_mb("VmHWM")
    assert result.ok, result.problems
    assert result.checked == (events or rows), (result.checked, events, rows)
    print(
        f"  {result.checked:,} events and {result.checkpoints} checkpoints verified "
        f"in {verify_s:.1f} s",
        flush=True,
    )
    return [
        f"RESULT ledger_scale_read_floor_s {floor:.1f} s",
        f"RESULT ledger_scale_verify_s {verify_s:.1f} s",
        f"RESULT ledger_scale_verify_cpu_s {verify_cpu:.1f} s",
        f"RESULT ledger_scale_verify_vs_floor {verify_s / floor:.1f} ratio",
        f"RESULT ledger_scale_verify_peak_rss_mb {peak:.0f} MB",
        f"RESULT ledger_scale_verify_rss_growth_mb {peak - before:.1f} MB",
    ]


def reset_schema(database_url: str) -> None:
    """Empty the database first: the application refuses customers whose key store it was
    not given."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def arguments() -> argparse.Namespace:
    """The command line, checked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 events (CI)")
    parser.add_argument("--events", type=int, default=1_000_000, help="ledger size (1,000,000)")
    parser.add_argument("--database-url", help="a PostgreSQL URL (its public schema is reset)")
    parser.add_argument("--state", type=Path, help="folder keeping the key store and secrets")
    steps = parser.add_mutually_exclusive_group()
    steps.add_argument("--build-only", action="store_true", help="build, do not verify")
    steps.add_argument("--verify-only", action="store_true", help="verify what was built")
    parser.add_argument(
        "--add", action="store_true", help="add --events events to the ledger already built"
    )
    args = parser.parse_args()
    if args.events < 1:
        parser.error("--events must be at least 1")
    if (args.build_only or args.verify_only or args.add) and not args.state:
        parser.error("--build-only, --verify-only and --add need --state")
    if args.state and not args.database_url:
        parser.error("--state needs --database-url")
    if args.quick:
        args.events = 50_000
    return args


def main() -> None:
    """Build the ledger, time the floor and the verification, print the RESULT lines."""
    args = arguments()
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    results: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = not (args.verify_only or args.add)
        if args.database_url and fresh:
            reset_schema(args.database_url)
        if args.state:
            app = state_app(args.state, args.database_url, fresh=fresh)
        else:
            app = build_app(Path(tmp), args.database_url)
        with app.app_context():
            if not args.verify_only:
                build(args.events)
            if not args.build_only:
                results = measure(args.events if fresh else None)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print("\n".join(results))


if __name__ == "__main__":
    main()
