"""Profitability classes: current value x potential value, as SQL over the stored scores.

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

import math
from dataclasses import dataclass

from sqlalchemy import Case, ColumnElement, and_, case, false
from sqlalchemy.orm import InstrumentedAttribute

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
    """The smallest current value and potential that count as high (cents)."""

    current: int | None
    potential: int | None


def top_fifth_rank(count: int) -> int:
    """Rank from the top (0 = the largest) of the smallest value in the top :data:`TOP_SHARE`
    of ``count`` values; values tied with it count as high too."""
    return count - 1 - math.ceil((count - 1) * (1 - TOP_SHARE))


def class_of(
    current: ColumnElement | InstrumentedAttribute,
    potential: ColumnElement | InstrumentedAttribute,
    limits: Thresholds,
) -> Case:
    """SQL expression: the class of a customer with ``current`` value and ``potential``."""
    high_now = (
        and_(current > 0, current >= limits.current) if limits.current is not None else false()
    )
    high_later = (
        and_(potential > 0, potential >= limits.potential)
        if limits.potential is not None
        else false()
    )
    return case(
        (current + potential < 0, "below_zero"),
        (and_(high_now, high_later), "most_valuable"),
        (high_now, "retain"),
        (high_later, "most_growable"),
        else_="maintain",
    )
