"""What SQLite alone allows for single consent changes on this machine (no Python service).

Run from the repository root: ``python bench/ledger_floor.py [--changes N]``. It migrates a
fresh SQLite file with the application's schema and connection settings (WAL,
``synchronous=NORMAL``, 64 MiB cache, checkpoint every 8,192 log pages, foreign keys,
append-only triggers), then runs ``N`` transactions through the bare ``sqlite3`` module, each
with exactly the statements one consent change needs:

* advance the ledger head (``UPDATE … RETURNING``);
* read the customer's reference, jurisdiction, language, erasure and objection;
* insert the event row (its four indexes and the append-only trigger apply);
* insert its leaf node and, on average, one completed parent node;
* read the customer's current state and upsert it;
* commit.

Values are prepared beforehand and hashes are constant, so the figure is the database's own
ceiling for ``ledger_appends_per_s``; the service adds validation, canonical encoding, hashing
and the connection's checkout from the pool on top. Prints::

    RESULT ledger_floor_tx_per_s <v> tx/s
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger import build_app, make_customers


def main() -> None:
    """Migrate, prepare one customer and a notice, run the transactions, print the rate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20_000)
    options = parser.parse_args()
    from app.bootstrap import _sqlite_pragmas
    from app.extensions import db
    from app.ledger.appender import new_record_id

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        with app.app_context():
            customer = make_customers(db.session, 1)[0]
            cid, ref = customer.id, customer.ref
            db.session.remove()
            db.engine.dispose()
        con = sqlite3.connect(Path(tmp) / "bench.sqlite3", isolation_level=None)
        _sqlite_pragmas(con, None)  # the application's own connection settings
        ids = [new_record_id() for _ in range(options.changes)]
        digest = bytes(32)
        started = time.perf_counter()
        for n in range(options.changes):
            con.execute("BEGIN IMMEDIATE")
            seq = (
                con.execute(
                    "UPDATE ledger_head SET size = size + 1 WHERE id = 1 RETURNING size"
                ).fetchone()[0]
                - 1
            )
            con.execute(
                "INSERT INTO consent_events (seq, record_id, customer_ref, purpose, channel, "
                "action, lawful_basis, notice_id, notice_version, notice_hash, method, source, "
                "actor, reason, jurisdiction, language, event_time, expires_at, evidence, "
                "leaf_hash) VALUES (?, ?, ?, 'offers', 'sms', ?, 'consent', NULL, NULL, NULL, "
                "'web_form', 'portal', 'customer', NULL, 'IT', 'it', "
                "'2026-11-23 10:00:00.000000', NULL, NULL, ?)",
                (seq, ids[n], ref, "granted" if n % 2 else "withdrawn", digest),
            )
            con.execute(
                "SELECT ref, jurisdiction, language, erased_at, objected_at FROM customers "
                "WHERE id = ?",
                (cid,),
            ).fetchone()
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
                (cid, "granted" if n % 2 else "withdrawn", seq),
            )
            con.execute("COMMIT")
        rate = options.changes / (time.perf_counter() - started)
        con.close()
    print(f"RESULT ledger_floor_tx_per_s {rate:.0f} tx/s")


if __name__ == "__main__":
    main()
