"""Compliance ledger browser benchmark: pages of a 1,000,000-event ledger, through HTTP.

Run from the repository root: ``python bench/ledger_browse.py [--quick] [--events N]
[--database-url URL]``. It fills a fresh database (a temporary SQLite file unless a
PostgreSQL URL is given) with N consent events in bulk, signs a compliance officer in, and
times ``GET /compliance/ledger`` on the test client — query, rendering and all — for:

    first        the newest page, no filter
    deep         a page half-way down the ledger (keyset cursor)
    oldest       the last page (cursor near entry 0)
    customer     one customer's events, found by e-mail through the blind index
    filtered     purpose + action + a 30-day date range
    rare         a rare action (objected, ~1 % of events) with no other filter

Each case is the median of 7 requests after one warm-up; it prints
``RESULT ledger_browse_page_ms_<case>_<sqlite|postgresql> <value> ms`` per case.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
logging.disable(logging.WARNING)

ACTIONS = (
    ["granted"] * 55
    + ["withdrawn"] * 20
    + ["confirmed"] * 14
    + ["expired"] * 6
    + ["double_opt_in_pending"] * 4
    + ["objected"]
)
PURPOSES = ("offers", "birthday", "recommendations")
SOURCES = ("portal", "portal", "portal", "one_click_unsubscribe", "import", "staff")
PASSWORD = "Quiet-pages-of-consent-5821"  # nothing of the address (password policy)
OFFICER = "officer@bench.example.com"
CUSTOMER_EMAIL = "browse.target@example.org"


def build_app(folder: Path, database_url: str | None):
    """A migrated application on a fresh database."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db

    url = database_url or f"sqlite:///{folder / 'browse.sqlite3'}"
    app = create_app(
        "testing",
        DATABASE_URL=url,
        KEYSTORE_URL=f"sqlite:///{folder / 'keys.sqlite3'}",
        RATELIMIT_ENABLED=False,
    )
    with app.app_context():
        if database_url:
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    return app


def fill(session, events: int, target_ref: str) -> None:
    """``events`` consent events in bulk (valid shape; one customer gets one in 20,000)."""
    from app.ledger.models import ConsentEvent

    rng = random.Random(7)
    refs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(50_000)]
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / events
    table = ConsentEvent.__table__
    batch = []
    for seq in range(events):
        ref = target_ref if seq % 20_000 == 7 else refs[rng.randrange(len(refs))]
        record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        batch.append({
            "seq": seq, "record_id": record_id, "customer_ref": ref,
            "purpose": PURPOSES[rng.randrange(3)],
            "channel": "email" if rng.random() < 0.8 else "sms",
            "action": ACTIONS[rng.randrange(len(ACTIONS))], "lawful_basis": "consent",
            "notice_id": None, "notice_version": 1, "notice_hash": "0" * 64,
            "method": "web_form", "source": SOURCES[rng.randrange(len(SOURCES))],
            "actor": "customer", "reason": None, "jurisdiction": "IT", "language": "it",
            "event_time": start + step * seq, "expires_at": None, "evidence": None,
            "leaf_hash": hashlib.sha256(record_id.encode()).digest(),
        })  # fmt: skip
        if len(batch) == 20_000:
            session.execute(table.insert(), batch)
            session.commit()
            batch = []
    if batch:
        session.execute(table.insert(), batch)
        session.commit()


def sign_in(client) -> None:
    """Sign the officer in through the real form."""
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/staff/login", data={"csrf_token": token, "email": OFFICER, "password": PASSWORD}
    )
    assert response.status_code in (302, 303), response.status_code


def timed(client, url: str, runs: int = 7) -> float:
    """Median milliseconds of ``runs`` GETs of ``url`` (after one warm-up)."""
    assert client.get(url).status_code == 200, url
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples)


def main() -> None:
    """Build the ledger, time each case, print the RESULT lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 events")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="a PostgreSQL URL (its public schema is reset)")
    args = parser.parse_args()
    events = 50_000 if args.quick else args.events
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp), args.database_url)
        with app.app_context():
            from app.accounts.service import create_staff_user
            from app.extensions import db
            from app.vault.service import register_customer

            create_staff_user(db.session, OFFICER, "compliance_officer", PASSWORD)
            target = register_customer(db.session, email=CUSTOMER_EMAIL, jurisdiction="IT")
            started = time.perf_counter()
            fill(db.session, events, target.ref)
            print(f"filled {events:,} events in {time.perf_counter() - started:.1f} s")
            kind = db.engine.dialect.name
        client = app.test_client()
        with app.app_context():
            sign_in(client)
            since = (datetime.now(UTC) - timedelta(days=120)).date().isoformat()
            until = (datetime.now(UTC) - timedelta(days=90)).date().isoformat()
            cases = {
                "first": "/compliance/ledger",
                "deep": f"/compliance/ledger?before={events // 2}",
                "oldest": "/compliance/ledger?before=60",
                "customer": f"/compliance/ledger?email={CUSTOMER_EMAIL}",
                "filtered": f"/compliance/ledger?purpose=offers&action=withdrawn&since={since}"
                f"&until={until}",
                "rare": "/compliance/ledger?action=objected",
            }
            print(f"database: {kind}, {events:,} events")
            for name, url in cases.items():
                print(f"RESULT ledger_browse_page_ms_{name}_{kind} {timed(client, url):.1f} ms")


if __name__ == "__main__":
    main()
