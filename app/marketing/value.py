"""Customer value: RFM quintile scores and value tiers (pure).

Input is each customer's purchase history (``[{sku, category, amount_cents, at}]``), used
only for customers who shared it for the profiling purpose ``recommendations`` and granted
that consent (the service in :mod:`app.marketing.value_service` selects them), as summarised
by :mod:`app.marketing.summaries`.

**RFM scores** (1 = weakest, 5 = strongest) are quintiles over the scored population:

- *recency*: days since the last transaction (fewer days score higher);
- *frequency*: number of transactions (purchases of one day are one);
- *monetary*: total spend.

Ties share a score (the rank of the first of equal values decides), so equal customers are
never split between quintiles.

**Tiers**, first match wins (R, F, M are the scores):

========== =========================== =============================================
tier       rule                        meaning
========== =========================== =============================================
champions  R ≥ 4 and F ≥ 4 and M ≥ 4   bought recently, often, and spend the most
loyal      R ≥ 3 and F ≥ 3             regular buyers who are still active
promising  R ≥ 3 and F ≤ 2             recent but infrequent (often new) customers
at_risk    R ≤ 2 and F ≥ 3             used to buy often, have not bought lately
dormant    R ≤ 2 and F ≤ 2             few purchases, long ago
========== =========================== =============================================

The expected 12-month spend, future lifetime value and profitability class come from the
fitted models (:mod:`app.marketing.value_service`), not from these scores.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np

TIERS = ("champions", "loyal", "promising", "at_risk", "dormant")
TIER_LABELS = {
    "champions": "Champions",
    "loyal": "Loyal",
    "promising": "Promising",
    "at_risk": "At risk",
    "dormant": "Dormant",
}


class Purchase(NamedTuple):
    """One purchase as used by the value and offer models (a named tuple: histories of every
    profiled customer are parsed for each offer choice, and tuples are built in C)."""

    sku: str
    category: str
    amount_cents: int
    at: datetime


def parse_purchases(raw: str) -> list[Purchase]:
    """The purchases of a decrypted ``purchase_history`` value; malformed rows are skipped."""
    try:
        rows = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        return []
    purchases = []
    for row in rows if isinstance(rows, list) else ():
        try:
            purchases.append(
                Purchase(
                    str(row["sku"]),
                    str(row["category"]),
                    int(row["amount_cents"]),
                    _moment(str(row["at"])),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return purchases


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)  # "Z" included (Python 3.11)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def quintile_scores(values: Sequence[float], *, higher_is_better: bool = True) -> list[int]:
    """A 1-5 score per value by quintile of rank; equal values get equal scores.

    With ``higher_is_better=False`` the smallest values score 5 (recency in days).
    """
    return quintiles(values, higher_is_better=higher_is_better).tolist()


def quintiles(values, *, higher_is_better: bool = True) -> np.ndarray:
    """:func:`quintile_scores` as an array (for many customers at once)."""
    values = np.asarray(values, dtype=float)
    ordered = np.sort(values)
    n = len(ordered)
    if higher_is_better:
        beaten = np.searchsorted(ordered, values, side="left")  # values strictly below
    else:
        beaten = n - np.searchsorted(ordered, values, side="right")  # values strictly above
    return 1 + (5 * beaten) // max(n, 1)


def tiers(recency, frequency, monetary) -> np.ndarray:
    """The value tier of each customer's RFM scores (rules in the module docstring)."""
    r, f, m = (np.asarray(v) for v in (recency, frequency, monetary))
    choice = np.select(
        [(r >= 4) & (f >= 4) & (m >= 4), (r >= 3) & (f >= 3), r >= 3, f >= 3],
        ["champions", "loyal", "promising", "at_risk"],
        default="dormant",
    )
    return choice


def rfm_scores(recency_days, frequency, monetary) -> tuple[np.ndarray, ...]:
    """Recency, frequency and monetary scores and the tier of each customer (arrays)."""
    r = quintiles(recency_days, higher_is_better=False)
    f = quintiles(frequency)
    m = quintiles(monetary)
    return r, f, m, tiers(r, f, m)
