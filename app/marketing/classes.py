"""Profitability classes: current value x potential value, and movement between fits (pure).

Each scored customer has a *current value* (the margin they brought so far, less the cost of
their orders) and a *potential* (their FLTV, :mod:`app.marketing.lifetime_value`). Among the
customers whose current value plus potential is not negative, "high" means in the top fifth
(ties kept together, and never zero or less); then, first match wins:

============== =================================== ===============================================
class          rule                                what to do
============== =================================== ===============================================
below_zero     current + potential < 0             they cost more than they bring: serve cheaply
most_valuable  high current and high potential     keep them: loyalty, service, recognition
retain         high current, potential not high    valuable so far, little expected: win back
most_growable  potential high, current not high    grow them: next-best offers, cross-selling
maintain       neither high                        keep in touch at low cost
============== =================================== ===============================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

CLASSES = ("most_valuable", "retain", "most_growable", "maintain", "below_zero")
CLASS_LABELS = {
    "most_valuable": "Most valuable",
    "retain": "Retain",
    "most_growable": "Most growable",
    "maintain": "Maintain",
    "below_zero": "Below zero",
}
#: Share of customers counted as "high" in current value and in potential.
TOP_SHARE = 0.2
#: Movement rows and columns beside the classes: first scored now, or no longer scored.
NEW, LEFT = "new", "left"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The smallest current value and potential that count as high (currency units)."""

    current: float
    potential: float


def _top(values: np.ndarray) -> float:
    """The smallest value of the top :data:`TOP_SHARE` (``inf`` without values)."""
    if len(values) == 0:
        return float("inf")
    return float(np.quantile(values, 1 - TOP_SHARE, method="higher"))


def thresholds(current: np.ndarray, potential: np.ndarray) -> Thresholds:
    """The thresholds of "high" among the customers who are not below zero."""
    current, potential = np.asarray(current, float), np.asarray(potential, float)
    kept = current + potential >= 0
    return Thresholds(_top(current[kept]), _top(potential[kept]))


def classify(current: np.ndarray, potential: np.ndarray, limits: Thresholds) -> np.ndarray:
    """Each customer's class as an index into :data:`CLASSES`."""
    current, potential = np.asarray(current, float), np.asarray(potential, float)
    high_now = (current >= limits.current) & (current > 0)
    high_later = (potential >= limits.potential) & (potential > 0)
    index = np.select(
        [current + potential < 0, high_now & high_later, high_now, high_later],
        [4, 0, 1, 2],
        default=3,
    )
    return index.astype(np.int8)


def class_counts(index: np.ndarray) -> dict[str, int]:
    """Customers per class, every class listed."""
    counts = np.bincount(np.asarray(index, dtype=np.int64), minlength=len(CLASSES))
    return {name: int(n) for name, n in zip(CLASSES, counts, strict=True)}


def movement(
    previous: dict[int, str], current: Iterable[tuple[int, str]]
) -> dict[str, dict[str, int]]:
    """``{from: {to: customers}}`` since the previous classes; ``new`` and ``left`` included."""
    moves: Counter[tuple[str, str]] = Counter()
    seen = set()
    for customer_id, name in current:
        seen.add(customer_id)
        moves[(previous.get(customer_id, NEW), name)] += 1
    for customer_id, name in previous.items():
        if customer_id not in seen:
            moves[(name, LEFT)] += 1
    table: dict[str, dict[str, int]] = {}
    for (before, after), n in sorted(moves.items()):
        table.setdefault(before, {})[after] = n
    return table
