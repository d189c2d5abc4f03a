"""An analyst's backtest of the value models on a purchase log file (no database needed).

The file is CSV with the header ``customer,date,amount``: one row per purchase, the date as
``YYYY-MM-DD`` and the amount a number of currency units (``12.50``) not below zero. Purchases
of one customer on one day are one transaction (:mod:`app.marketing.summaries`).

The models are fitted on the purchases up to the calibration end. With a holdout end, each
customer's repeat transactions after the calibration end (up to and including the holdout
end) are compared with the BG/NBD's conditional expectation for that period, per group of
customers with the same number of repeat transactions in calibration (7 and more together)
and in total, as in Fader, Hardie and Lee (2005).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from app.errors import InvalidInput
from app.marketing import bgnbd, gamma_gamma
from app.marketing.summaries import TIME_UNITS, Summary, Transactions, summarise

HEADER = ["customer", "date", "amount"]
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Customers grouped by repeat transactions in calibration: 0, 1, ... and this many or more.
TOP_GROUP = 7
MIN_REPEAT_CUSTOMERS = 2


class PurchaseFileError(InvalidInput):
    """The purchase file cannot be read or a row is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class HoldoutGroup:
    """Customers with the same calibration repeat transactions: actual against predicted."""

    label: str
    customers: int
    actual: float
    predicted: float


@dataclass(frozen=True)
class Backtest:
    """Fitted models, data size and (with a holdout) predicted against actual."""

    purchases: bgnbd.BgNbd
    spend: gamma_gamma.GammaGamma
    customers: int
    repeat_customers: int
    time_unit: str
    holdout_periods: float | None = None
    groups: tuple[HoldoutGroup, ...] = ()

    @property
    def total(self) -> HoldoutGroup:
        """Every customer of the holdout comparison together."""
        return HoldoutGroup(
            "total",
            sum(g.customers for g in self.groups),
            sum(g.actual for g in self.groups),
            sum(g.predicted for g in self.groups),
        )


def _parse_date(text: str, where: str) -> int:
    if not DATE.fullmatch(text):
        raise PurchaseFileError(f"{where}: date {text!r} is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text).toordinal()
    except ValueError:
        raise PurchaseFileError(f"{where}: date {text!r} does not exist") from None


def _parse_amount(text: str, where: str) -> float:
    try:
        amount = float(text)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount):
        raise PurchaseFileError(f"{where}: amount {text!r} is not a number")
    if amount < 0:
        raise PurchaseFileError(f"{where}: amount {text!r} is below zero")
    return amount


def read_purchases(path: str | Path) -> Transactions:
    """The purchases of a ``customer,date,amount`` file; raises with the line of a bad row."""
    name = str(path)
    keys: dict[str, int] = {}
    customers, days, amounts = [], [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = csv.reader(handle)
            header = [cell.strip().lower() for cell in next(rows, [])]
            if header != HEADER:
                raise PurchaseFileError(
                    f"{name}: the first line must be the header customer,date,amount "
                    f"(found {','.join(header) or 'an empty line'})"
                )
            for line, row in enumerate(rows, start=2):
                if not row:
                    continue
                where = f"{name} line {line}"
                if len(row) != 3:
                    raise PurchaseFileError(f"{where}: expected 3 fields, found {len(row)}")
                customer = row[0].strip()
                if not customer:
                    raise PurchaseFileError(f"{where}: the customer is empty")
                customers.append(keys.setdefault(customer, len(keys)))
                days.append(_parse_date(row[1].strip(), where))
                amounts.append(_parse_amount(row[2].strip(), where))
    except OSError as exc:
        raise PurchaseFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PurchaseFileError(f"{name} is not UTF-8 text") from None
    except csv.Error as exc:
        raise PurchaseFileError(f"{name} is not valid CSV: {exc}") from None
    if not customers:
        raise PurchaseFileError(f"{name} holds no purchases")
    return Transactions.of(customers, days, amounts)


def _check_dates(purchases: Transactions, calibration_end: int, holdout_end: int | None) -> None:
    first, last = int(purchases.day.min()), int(purchases.day.max())
    shown = date.fromordinal
    if not first <= calibration_end <= last:
        raise InvalidInput(
            f"The calibration end {shown(calibration_end)} is outside the purchases in the file "
            f"({shown(first)} to {shown(last)})."
        )
    if holdout_end is not None and not calibration_end < holdout_end <= last:
        raise InvalidInput(
            f"The holdout end {shown(holdout_end)} must be after the calibration end "
            f"{shown(calibration_end)} and no later than the last purchase ({shown(last)})."
        )


def holdout_groups(model: bgnbd.BgNbd, summary: Summary, periods: float) -> list[HoldoutGroup]:
    """Actual against predicted repeat transactions per calibration frequency group."""
    if summary.holdout is None:
        raise ValueError("the summary was built without a holdout end")
    holdout = summary.holdout
    predicted = bgnbd.expected_purchases(model, periods, summary.x, summary.t_x, summary.T)
    group = np.minimum(summary.x, TOP_GROUP).astype(int)
    groups = []
    for g in range(TOP_GROUP + 1):
        members = group == g
        if members.any():
            label = f"{g}+" if g == TOP_GROUP else str(g)
            groups.append(
                HoldoutGroup(
                    label,
                    int(members.sum()),
                    float(holdout[members].sum()),
                    float(predicted[members].sum()),
                )
            )
    return groups


def backtest(
    purchases: Transactions,
    calibration_end: date,
    holdout_end: date | None = None,
    time_unit: str = "week",
) -> Backtest:
    """Fit both models on the calibration period and compare with the holdout, if any."""
    end = calibration_end.toordinal()
    until = holdout_end.toordinal() if holdout_end else None
    _check_dates(purchases, end, until)
    summary = summarise(purchases, end, time_unit, until)
    if summary.repeat_customers < MIN_REPEAT_CUSTOMERS:
        raise InvalidInput(
            f"Only {summary.repeat_customers} customers bought again by the calibration end; "
            f"at least {MIN_REPEAT_CUSTOMERS} are needed to fit the models."
        )
    try:
        model = bgnbd.fit(summary.x, summary.t_x, summary.T)
        spend = gamma_gamma.fit(summary.x, summary.repeat_mean)
    except bgnbd.FitError as exc:
        raise InvalidInput(f"The models cannot be fitted on this file: {exc}.") from None
    result = Backtest(model, spend, len(summary), summary.repeat_customers, time_unit)
    if until is None:
        return result
    periods = (until - end) / TIME_UNITS[time_unit]
    groups = tuple(holdout_groups(model, summary, periods))
    return Backtest(
        model, spend, len(summary), summary.repeat_customers, time_unit, periods, groups
    )
