"""Purchase summaries and FLTV (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from app.marketing import bgnbd, gamma_gamma
from app.marketing.lifetime_value import Valuation, score
from app.marketing.summaries import Transactions, summarise

MODEL = bgnbd.BgNbd(0.243, 4.414, 0.793, 2.426, 0.0)
SPEND = gamma_gamma.GammaGamma(6.25, 3.74, 15.44, 0.0)


def test_same_day_purchases_are_one_transaction_and_later_customers_are_left_out():
    purchases = Transactions.of(
        customer=[7, 7, 7, 7, 9, 5],
        day=[100, 100, 114, 200, 150, 90],
        amount=[10.0, 5.0, 20.0, 30.0, 8.0, 4.0],
    )
    summary = summarise(purchases, calibration_end=121, unit="week", holdout_end=220)
    assert summary.customer.tolist() == [5, 7]  # customer 9 first bought after calibration
    assert summary.x.tolist() == [0.0, 1.0]
    assert summary.t_x.tolist() == [0.0, 2.0] and summary.T.tolist() == [31 / 7, 3.0]
    assert summary.total.tolist() == [4.0, 35.0] and summary.repeat_mean.tolist() == [0.0, 20.0]
    assert summary.holdout.tolist() == [0.0, 1.0]
    in_days = summarise(purchases, calibration_end=121, unit="day")
    assert in_days.T.tolist() == [31.0, 21.0] and in_days.holdout is None


def summary_of(x, t_x, T, total, repeat_mean):
    arrays = [np.asarray(v, dtype=float) for v in (x, t_x, T, total, repeat_mean)]
    x, t_x, T, total, repeat_mean = arrays
    purchases = Transactions.of([], [], [])
    empty = summarise(purchases, 0)
    return type(empty)(
        customer=np.arange(len(x)),
        x=x,
        t_x=t_x,
        T=T,
        repeat_mean=repeat_mean,
        total=total,
        first_day=np.zeros(len(x), dtype=np.int64),
    )


def test_fltv_without_discount_over_a_year_is_the_margin_on_the_expected_spend():
    summary = summary_of([0, 2, 8], [0, 30, 37], [38, 38, 38], [20, 60, 200], [0, 22, 25])
    plain = Valuation(margin=0.4, discount_rate=0.0, horizon_months=12)
    scores = score(MODEL, SPEND, summary, plain)
    assert scores.fltv == pytest.approx(0.4 * scores.expected_spend, rel=1e-9)
    assert scores.current_value == pytest.approx([8.0, 24.0, 80.0])
    discounted = score(MODEL, SPEND, summary, Valuation(margin=0.4, horizon_months=12))
    assert (discounted.fltv < scores.fltv).all() and (discounted.fltv > 0.9 * scores.fltv).all()
    longer = score(MODEL, SPEND, summary, Valuation(margin=0.4, horizon_months=36))
    assert (longer.fltv > discounted.fltv).all()


def test_the_time_unit_does_not_change_what_a_year_means():
    weeks = summary_of([3], [20], [30], [100], [25])
    days = summary_of([3], [140], [210], [100], [25])
    in_days = bgnbd.BgNbd(MODEL.r, MODEL.alpha * 7, MODEL.a, MODEL.b, 0.0)
    a = score(MODEL, SPEND, weeks, Valuation(time_unit="week"))
    b = score(in_days, SPEND, days, Valuation(time_unit="day"))
    assert a.expected_purchases == pytest.approx(b.expected_purchases, rel=1e-9)
    assert a.fltv == pytest.approx(b.fltv, rel=1e-9)


def test_a_cost_per_order_can_put_customers_below_zero():
    summary = summary_of([0, 5], [0, 30], [38, 38], [6, 300], [0, 50])
    scores = score(MODEL, SPEND, summary, Valuation(margin=0.3, cost_per_order=12.0))
    assert scores.current_value[0] == pytest.approx(0.3 * 6 - 12)
    assert scores.fltv[0] < 0 < scores.fltv[1]  # each order costs more than its margin
