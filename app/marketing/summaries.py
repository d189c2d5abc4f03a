"""Purchase summaries per customer, the input of the value models (pure, numpy).

A *transaction* is one customer's purchases of one day: purchases on the same day are one
transaction with their amounts summed (so several order lines, or a basket split in two, do
not count as repeat purchases). Days are whole days (``date.toordinal()``).

At the end of calibration each customer who had bought by then is summarised by

- ``x``: repeat transactions (all but the first) up to and including the calibration end;
- ``t_x``: time from the first to the last of those transactions;
- ``T``: time from the first transaction to the calibration end;
- ``repeat_mean``: mean amount of the repeat transactions (0 without any);
- ``total``: amount of all their transactions, the first included;

times in the model's unit (a day or a week of seven days). With a holdout end, ``holdout``
counts each customer's transactions after the calibration end, up to and including it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Length of each time unit in days.
TIME_UNITS = {"day": 1.0, "week": 7.0}


@dataclass(frozen=True)
class Transactions:
    """Purchases as parallel arrays: customer key (int), day (ordinal), amount."""

    customer: np.ndarray
    day: np.ndarray
    amount: np.ndarray

    @classmethod
    def of(cls, customer, day, amount) -> Transactions:
        """Arrays from any sequences (customer keys and days as integers)."""
        return cls(
            np.asarray(customer, dtype=np.int64),
            np.asarray(day, dtype=np.int64),
            np.asarray(amount, dtype=float),
        )

    def daily(self) -> Transactions:
        """One transaction per customer and day (amounts summed), sorted by customer and day."""
        order = np.lexsort((self.day, self.customer))
        c, d, a = self.customer[order], self.day[order], self.amount[order]
        if len(c) == 0:
            return Transactions(c, d, a)
        new = np.r_[True, (c[1:] != c[:-1]) | (d[1:] != d[:-1])]
        starts = np.flatnonzero(new)
        return Transactions(c[starts], d[starts], np.add.reduceat(a, starts))


@dataclass(frozen=True)
class Summary:
    """Per-customer summaries at the end of calibration (arrays in customer-key order)."""

    customer: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    repeat_mean: np.ndarray
    total: np.ndarray
    first_day: np.ndarray
    holdout: np.ndarray | None = None

    def __len__(self) -> int:
        """Number of customers summarised."""
        return len(self.customer)

    @property
    def repeat_customers(self) -> int:
        """Customers with at least one repeat transaction."""
        return int((self.x > 0).sum())


def summarise(
    purchases: Transactions,
    calibration_end: int,
    unit: str = "week",
    holdout_end: int | None = None,
) -> Summary:
    """Summaries of every customer whose first purchase is on or before ``calibration_end``."""
    unit_days = TIME_UNITS[unit]
    daily = purchases.daily()
    cal = daily.day <= calibration_end
    c, d, a = daily.customer[cal], daily.day[cal], daily.amount[cal]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]]) if len(c) else np.zeros(0, int)
    counts = np.diff(np.r_[starts, len(c)])
    first, last = d[starts], d[starts + counts - 1]
    total = np.add.reduceat(a, starts) if len(c) else np.zeros(0)
    x = (counts - 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        repeat_mean = np.where(x > 0, (total - a[starts]) / x, 0.0)
    customers = c[starts]
    holdout = None
    if holdout_end is not None:
        later = (daily.day > calibration_end) & (daily.day <= holdout_end)
        holdout = _count_per_customer(customers, daily.customer[later])
    return Summary(
        customer=customers,
        x=x,
        t_x=(last - first) / unit_days,
        T=(calibration_end - first) / unit_days,
        repeat_mean=repeat_mean,
        total=total,
        first_day=first,
        holdout=holdout,
    )


def _count_per_customer(customers: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """How many of ``keys`` fall on each of the (sorted, distinct) ``customers``."""
    position = np.searchsorted(customers, keys)
    inside = position < len(customers)
    known = np.zeros(len(keys), dtype=bool)
    known[inside] = customers[position[inside]] == keys[inside]
    return np.bincount(position[known], minlength=len(customers)).astype(float)
