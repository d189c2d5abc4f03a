"""Builder for customer-value tests: buyers whose purchases are drawn from the value models."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from app.marketing.simulation import Population, simulate_purchases
from app.transaction import transaction
from app.vault import service as vault
from tests.integration.builders import grant, make_customer

BUYERS = Population(r=1.5, alpha=8.0, a=1.0, b=4.0, p=4.0, q=5.0, gamma=40.0)


def purchase_history(rng: random.Random, now: datetime) -> str:
    """A year of purchases (JSON) of one buyer, up to ``now``."""
    today = now.date().toordinal()
    draws = np.random.default_rng(rng.randrange(2**32))
    first = today - rng.randint(30, 365)
    items = [
        {
            "sku": "SKU-1",
            "category": rng.choice(("wine", "books")),
            "amount_cents": max(100, round(amount * 100)),
            "at": datetime.combine(date.fromordinal(day), time(10), UTC).isoformat(),
        }
        for day, amount in simulate_purchases(BUYERS, draws, first, today)
    ]
    return json.dumps(items)


def buyers(session, count: int, *, profiled: bool = True, seed: int = 3, now=None) -> list[int]:
    """``count`` customers with a year of purchases who may be contacted about offers.

    With ``profiled`` they also consent to recommendations and share their purchase history
    for it, so the value models may use them.
    """
    rng = random.Random(seed)
    now = now or datetime.now(UTC) - timedelta(minutes=1)
    ids = []
    for _ in range(count):
        customer = make_customer(session, profile={"purchase_history": purchase_history(rng, now)})
        shares = {("first_name", "offers"): True}
        if profiled:
            shares[("purchase_history", "recommendations")] = True
        vault.set_sharing(session, customer, shares)
        grant(session, customer, "offers")
        if profiled:
            grant(session, customer, "recommendations")
        with transaction(session):
            customer.email_verified = True
        ids.append(customer.id)
    return ids
