"""Benchmark: next-best offers for a 100,000-recipient run against the pipeline's time.

Builds the delivery pipeline's customers (``bench/pipeline.py``: encrypted profiles, consent
to offers by e-mail, one earlier send each) and gives every customer a year of purchases in
their encrypted purchase history with its sealed summary (as recording purchases writes
them), consent to recommendations and the history shared for it.
Then, in the same run:

* the pipeline without offers: a campaign run of a plain template (audience, policy
  decisions, outbox entries for every recipient), then its delivery (``--workers`` worker
  processes against the SMTP sink, as ``bench/pipeline.py`` measures it);
* the offer choice as a campaign run makes it when a template shows ``{{ offer }}``: one
  ``OfferBook`` (opening every customer's purchase summary once), then per batch of the run's size
  the profiling check, the variety rule, Thompson sampling over each customer's Beta
  posteriors, the offer history written and the payloads with the offer in the customer's
  language.

    python bench/offers.py [--quick] [--workers 2]

Uses ``BENCH_DATABASE_URL`` (PostgreSQL recommended), else a SQLite file. Prints
``RESULT offers_choice_s``, ``RESULT offers_per_s``, ``RESULT offers_run_s``,
``RESULT offers_delivery_s``, ``RESULT offers_overhead_ratio`` (offer choice over the
pipeline's time, campaign run plus delivery; target ≤ 0.10) and
``RESULT offers_vs_delivery_ratio`` (over the delivery alone).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import pipeline  # noqa: E402  (bench/pipeline.py: the pipeline as it is measured)

CATEGORIES = ("wine", "books", "coffee", "tea", "cheese", "garden", "kitchen", "toys")
CHUNK = 5000


def history(rng: random.Random, now: datetime) -> str:
    """A year of 1-8 purchases in 1-3 favourite categories."""
    favourites = rng.sample(CATEGORIES, rng.randint(1, 3))
    items = []
    for n in range(rng.randint(1, 8)):
        at = now - timedelta(days=rng.randint(1, 365), hours=n)
        items.append({"sku": f"SKU-{n}", "category": rng.choice(favourites),
                      "amount_cents": rng.randint(500, 9000),
                      "at": at.strftime("%Y-%m-%dT%H:%M:%SZ")})  # fmt: skip
    return json.dumps(items, separators=(",", ":"))


def add_profiling(app, customers: int) -> None:
    """Purchase histories, recommendations consent and sharing for every customer."""
    from sqlalchemy import insert, select

    from app.customers.models import Customer
    from app.extensions import db
    from app.ledger.models import ConsentState
    from app.marketing.purchase_summaries import seal_purchase_summary
    from app.models_base import utcnow
    from app.runtime import runtime
    from app.vault.derived import store_summaries
    from app.vault.envelope import FieldCipher, WrappedKey
    from app.vault.models import CustomerKey, ProfileField, SharingChoice

    rng, now = random.Random(11), utcnow()
    with app.app_context():
        ring, session = runtime().vault_keys, db.session()
        for start in range(1, customers + 1, CHUNK):
            ids = list(range(start, min(start + CHUNK, customers + 1)))
            refs = dict(
                session.execute(select(Customer.id, Customer.ref).where(Customer.id.in_(ids))).all()
            )
            keys = {
                k.customer_id: WrappedKey(k.kek_version, k.wrapped_key)
                for k in session.scalars(
                    select(CustomerKey).where(CustomerKey.customer_id.in_(ids))
                )
            }
            fields, shares, states, summaries = [], [], [], []
            for cid in ids:
                cipher = FieldCipher.open(ring, refs[cid], keys[cid])
                raw = history(rng, now)
                sealed = cipher.encrypt("purchase_history", raw)
                fields.append(
                    {"customer_id": cid, "field": "purchase_history", "ciphertext": sealed}
                )
                # The summary recording the purchases writes with the history.
                summaries.append(seal_purchase_summary(cipher, cid, sealed, raw)[1])
                shares.append(
                    {
                        "customer_id": cid,
                        "field": "purchase_history",
                        "purpose": "recommendations",
                        "shared": True,
                    }
                )
                states.append({"customer_id": cid, "purpose": "recommendations", "channel": "email",
                               "status": "granted", "lawful_basis": "consent", "confirmed": True,
                               "granted_at": now, "last_seq": 0})  # fmt: skip
            for model, rows in (
                (ProfileField, fields),
                (SharingChoice, shares),
                (ConsentState, states),
            ):
                session.execute(insert(model), rows)
            store_summaries(session, "purchase_history", summaries)
            session.commit()
        if db.engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum keeps them
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")


def choose_offers(app, customers: int, batch: int) -> tuple[float, int]:
    """Seconds to choose (and record) every recipient's offer as a run does; offers made."""
    from sqlalchemy import select

    from app.campaigns.models import Campaign
    from app.extensions import db
    from app.marketing.offer_service import OfferBook, offer_payloads
    from app.transaction import transaction

    with app.app_context():
        session = db.session()
        campaign_id = session.scalar(select(Campaign.id))
        at = datetime.now(UTC)
        started = time.perf_counter()
        book = OfferBook.load(session, at, reason="benchmark")
        made = 0
        ids = list(range(1, customers + 1))
        for start in range(0, customers, batch):
            with transaction(session):
                made += len(offer_payloads(session, ids[start : start + batch], at,
                                           campaign_id=campaign_id, book=book))  # fmt: skip
        return time.perf_counter() - started, made


def campaign_run(app) -> tuple[float, int]:
    """Seconds of a campaign run of a plain template for every customer; entries made."""
    from app.campaigns import service
    from app.campaigns.run import start_run
    from app.extensions import db

    with app.app_context():
        session = db.session()
        campaign = service.create_campaign(
            session, actor="bench", name="Plain", purpose="offers", channel="email",
            templates=[{"subject": "Hello {{ first_name }}", "body_text": "Dear {{ first_name }}"}],
        )  # fmt: skip
        service.schedule_campaign(session, campaign.id, actor="bench")
        started = time.perf_counter()
        run = start_run(session, campaign.id, datetime.now(UTC))
        return time.perf_counter() - started, run.allowed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 recipients")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500, help="delivery batch")
    parser.add_argument("--run-batch", type=int, default=5000, help="campaign run batch")
    parser.add_argument("--connections", type=int, default=96)
    options = parser.parse_args()
    size = 5_000 if options.quick else 100_000
    work = Path(tempfile.mkdtemp(prefix="bench-offers-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
    keystore = f"sqlite:///{work / 'keystore.sqlite3'}"
    policies = pipeline.relaxed(work / "policies")
    port = pipeline.free_port()
    sink, stop_sink = pipeline.start_sink(port)
    print(f"sink: {sink}; database: {url.split('@')[-1]}; {size:,} recipients")
    try:
        app = pipeline.make_app(url, keystore, policies, port)
        pipeline.reset_database(app)
        t0 = time.perf_counter()
        pipeline.seed(app, size, 0)
        add_profiling(app, size)
        print(f"seeded in {time.perf_counter() - t0:.1f} s")
        run_s, entries = campaign_run(app)
        print(f"campaign run: {entries:,} outbox entries in {run_s:.1f} s")
        choice_s, made = choose_offers(app, size, options.run_batch)
        print(f"offers: {made:,} chosen and recorded in {choice_s:.2f} s")
        started = time.perf_counter()
        with mp.get_context("spawn").Pool(options.workers) as pool:
            results = pool.map(
                pipeline.worker_process,
                [(url, keystore, policies, port, options.batch, options.connections)]
                * options.workers,
            )
        delivery_s = time.perf_counter() - started
        sent = sum(count for count, _, _ in results)
        print(f"delivery: sent {sent:,} in {delivery_s:.1f} s = {sent / delivery_s:,.0f} msg/s")
        print(f"RESULT offers_choice_s {choice_s:.2f} s")
        print(f"RESULT offers_per_s {made / choice_s:.0f} offers/s")
        print(f"RESULT offers_run_s {run_s:.1f} s")
        print(f"RESULT offers_delivery_s {delivery_s:.1f} s")
        print(f"RESULT offers_overhead_ratio {choice_s / (run_s + delivery_s):.3f} ratio")
        print(f"RESULT offers_vs_delivery_ratio {choice_s / delivery_s:.3f} ratio")
    finally:
        stop_sink()


if __name__ == "__main__":
    main()
