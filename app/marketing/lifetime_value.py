"""Scoring customers with the fitted models: P(alive), next 12 months, FLTV (pure, numpy).

For each customer summarised at the end of calibration (:mod:`app.marketing.summaries`):

- ``p_alive``: the BG/NBD probability that they still buy from us;
- ``expected_purchases``: BG/NBD expected transactions in the next 12 months;
- ``expected_amount``: Gamma-Gamma expected amount per transaction;
- ``expected_spend``: ``expected_purchases * expected_amount``;
- ``fltv``, the future lifetime value: month by month over the horizon, the expected
  transactions of that month * (margin * expected amount - cost per order), discounted to
  today at the annual discount rate: ``Σₖ (E[Y(k months)] - E[Y(k-1 months)]) ·
  (margin · E[Z] - cost) / (1 + rate)^(k/12)``;
- ``current_value``: the margin so far, ``margin * amount so far - cost * transactions``.

A finite horizon keeps FLTV honest where the model's tail would not be: with ``a < 1`` (as on
CDNOW) a few customers are "immortal" and their undiscounted lifetime purchases diverge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.marketing import bgnbd, gamma_gamma
from app.marketing.summaries import TIME_UNITS, Summary

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True, slots=True)
class Valuation:
    """How future purchases are valued (settings of :mod:`app.marketing.settings`)."""

    margin: float = 0.3
    discount_rate: float = 0.1
    horizon_months: int = 36
    cost_per_order: float = 0.0
    time_unit: str = "week"

    def months(self, count: float) -> float:
        """``count`` months in the model's time unit."""
        return count * DAYS_PER_MONTH / TIME_UNITS[self.time_unit]


@dataclass(frozen=True)
class Scores:
    """Per-customer predictions, arrays in the order of the summary scored."""

    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_amount: np.ndarray
    expected_spend: np.ndarray
    fltv: np.ndarray
    current_value: np.ndarray


def discounted_purchases(
    model: bgnbd.BgNbd, summary: Summary, valuation: Valuation, p_alive: np.ndarray
) -> np.ndarray:
    """Expected transactions month by month over the horizon, each discounted to today."""
    pairs_x, pairs_t, inverse = bgnbd.pair_index(summary.x, summary.T)
    total = np.zeros(len(pairs_x))
    before = np.zeros(len(pairs_x))
    for month in range(1, valuation.horizon_months + 1):
        upto = bgnbd.growth(model, pairs_x, pairs_t, valuation.months(month))
        total += (upto - before) / (1 + valuation.discount_rate) ** (month / 12)
        before = upto
    return p_alive * total[inverse]


def score(
    purchases: bgnbd.BgNbd,
    spend: gamma_gamma.GammaGamma,
    summary: Summary,
    valuation: Valuation,
) -> Scores:
    """Every customer's predictions under the fitted models and ``valuation``."""
    s = summary
    p_alive = bgnbd.probability_alive(purchases, s.x, s.t_x, s.T)
    pairs_x, pairs_t, inverse = bgnbd.pair_index(s.x, s.T)
    year = bgnbd.growth(purchases, pairs_x, pairs_t, valuation.months(12))[inverse]
    expected_purchases = p_alive * year
    amount = gamma_gamma.expected_amount(spend, s.x, s.repeat_mean)
    unit_margin = valuation.margin * amount - valuation.cost_per_order
    fltv = discounted_purchases(purchases, s, valuation, p_alive) * unit_margin
    current = valuation.margin * s.total - valuation.cost_per_order * (s.x + 1)
    return Scores(
        p_alive=p_alive,
        expected_purchases=expected_purchases,
        expected_amount=amount,
        expected_spend=expected_purchases * amount,
        fltv=fltv,
        current_value=current,
    )
