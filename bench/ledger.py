"""Consent ledger benchmark: single appends, bulk import, full verification, inclusion proofs.

Run from the repository root: ``python bench/ledger.py [--quick] [--events N]``.
It builds its own SQLite database in a temporary folder and prints, at the end::

    RESULT ledger_appends_per_s <v> appends/s      (service layer, one transaction each)
    RESULT ledger_appends_with_request_reads_per_s <v> appends/s (same, plus a request's reads)
    RESULT ledger_import_events_per_s <v> events/s (bulk import, state projection included)
    RESULT ledger_verify_1m_s <v> s                (flask ledger verify's code over N events)
    RESULT ledger_verify_peak_rss_growth_mb <v> MB
    RESULT ledger_inclusion_proof_ms <v> ms        (worst of 200 random proofs in a N-event tree)
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logging

logging.disable(logging.WARNING)


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_app(folder: Path):
    """A migrated application on a fresh SQLite database in ``folder``."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(
        "testing",
        DATABASE_URL=f"sqlite:///{folder / 'bench.sqlite3'}",
        KEYSTORE_URL=f"sqlite:///{folder / 'keys.sqlite3'}",
    )
    with app.app_context():
        upgrade()
    return app


def make_customers(session, count: int):
    """``count`` customers (real vault registration, so keys and ciphertexts exist)."""
    from app.vault.service import register_customer

    return [
        register_customer(session, email=f"bench{n}@example.com", jurisdiction="IT")
        for n in range(count)
    ]


def bench_appends(session, customers, count: int, *, request_reads: bool = False) -> float:
    """Single consent changes through the service layer, each its own transaction.

    The service is called with the customer and the notice already loaded, as a portal
    request has its signed-in customer; each call appends, projects the state and commits.
    With ``request_reads`` each change also runs a request's own reads around it: load the
    customer and the notice by id through the ORM, then end the session.
    """
    from app.ledger import consent
    from app.ledger.models import Notice
    from app.ledger.notices import publish_notice
    from app.vault.models import Customer

    notice_id = publish_notice(
        session, purpose="offers", language="en", title="Offers", text="x"
    ).id
    ids = [customer.id for customer in customers]
    session.remove()
    loaded = [session.get(Customer, id_) for id_ in ids]
    notice = session.get(Notice, notice_id)
    started = time.perf_counter()
    for n in range(count):
        if request_reads:
            customer = session.get(Customer, ids[n % len(ids)])
            notice = session.get(Notice, notice_id)
        else:
            customer = loaded[n % len(ids)]
        if n % 2:
            consent.withdraw(session, customer, purpose="offers", channel="sms",
                             source="portal", method="web_form", actor="customer")  # fmt: skip
        else:
            consent.grant(session, customer, purpose="offers", channel="sms", notice=notice,
                          source="portal", method="web_form", actor="customer")  # fmt: skip
        if request_reads:
            session.remove()
    rate = count / (time.perf_counter() - started)
    session.remove()
    return rate


def imported(customers, count: int):
    """A stream of ``count`` import records spread over the customers."""
    from app.ledger.importer import ImportedConsent

    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    purposes, channels = ("offers", "surveys", "partners"), ("email", "sms")
    refs = [(c.id, c.ref) for c in customers]
    for n in range(count):
        cid, ref = refs[rng.randrange(len(refs))]
        yield ImportedConsent(
            customer_id=cid,
            customer_ref=ref,
            jurisdiction="IT",
            language="it",
            purpose=purposes[n % 3],
            channel=channels[n % 2],
            action="granted" if rng.random() < 0.8 else "withdrawn",
            event_time=start + timedelta(seconds=n),
        )


def main() -> None:
    """Run every measurement and print the RESULT lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--events", type=int, default=None, help="ledger size to verify")
    args = parser.parse_args()
    events = args.events or (50_000 if args.quick else 1_000_000)
    appends = 1_000 if args.quick else 5_000

    from app.extensions import db
    from app.ledger import proofs, verify
    from app.ledger.importer import import_consents
    from app.vault.models import Customer

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        with app.app_context():
            session = db.session
            customers = make_customers(session, 200)
            print(f"appending {appends} single changes…", flush=True)
            appends_per_s = bench_appends(session, customers, appends)
            print(f"  {appends_per_s:,.0f} appends/s", flush=True)
            with_reads_per_s = bench_appends(session, customers, appends, request_reads=True)
            print(f"  {with_reads_per_s:,.0f} appends/s with a request's reads", flush=True)
            customers = [session.get(Customer, customer.id) for customer in customers]

            print(f"importing {events:,} events…", flush=True)
            started = time.perf_counter()
            imports = events - 2 * appends - 2
            import_consents(session, imported(customers, imports))
            import_rate = imports / (time.perf_counter() - started)
            print(f"  {import_rate:,.0f} events/s", flush=True)
            proofs.make_checkpoint(session)
            session.commit()
            session.expunge_all()

            rss_before = rss_mb()
            print("verifying…", flush=True)
            started = time.perf_counter()
            result = verify.verify_ledger(session)
            verify_s = time.perf_counter() - started
            assert result.ok, result.problems
            print(f"  {result.checked:,} events verified in {verify_s:.1f} s", flush=True)
            growth = rss_mb() - rss_before

            size = proofs.latest_checkpoint(session).tree_size
            worst = 0.0
            rng = random.Random(3)
            for _ in range(200):
                started = time.perf_counter()
                proofs.inclusion_proof(session, rng.randrange(size), size)
                worst = max(worst, time.perf_counter() - started)
        scale = 1_000_000 / result.checked
        print(f"RESULT ledger_appends_per_s {appends_per_s:.0f} appends/s")
        print(f"RESULT ledger_appends_with_request_reads_per_s {with_reads_per_s:.0f} appends/s")
        print(f"RESULT ledger_import_events_per_s {import_rate:.0f} events/s")
        print(f"RESULT ledger_verify_1m_s {verify_s * scale:.2f} s")
        print(f"RESULT ledger_verify_peak_rss_growth_mb {growth:.1f} MB")
        print(f"RESULT ledger_inclusion_proof_ms {worst * 1000:.2f} ms")


if __name__ == "__main__":
    main()
