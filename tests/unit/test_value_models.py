"""The value models against the literature (CDNOW) and against draws from the models."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from scipy.special import hyp2f1

from app.marketing import bgnbd, gamma_gamma
from app.marketing.simulation import Population, simulate_summaries
from app.marketing.summaries import Transactions, summarise

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow"
CALIBRATION_END = date(1997, 9, 30).toordinal()
#: Fader, Hardie and Lee (2005), Table 1; Fader and Hardie (2013), the Gamma-Gamma note.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.4
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
PUBLISHED_GG_LL = -4055.9177


def published_tolerance(value: float) -> float:
    """Half a unit in the last printed decimal, plus one for the optimiser's own stop."""
    decimals = len(repr(value).split(".")[1])
    return 1.5 * 10.0**-decimals


def cdnow_purchases() -> Transactions:
    """The raw CDNOW sample log as transactions (sample customer id, day, dollars)."""
    customers, days, amounts = [], [], []
    for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines():
        _, customer, day, _, amount = line.split()
        customers.append(int(customer))
        days.append(date(int(day[:4]), int(day[4:6]), int(day[6:])).toordinal())
        amounts.append(float(amount))
    return Transactions.of(customers, days, amounts)


@pytest.fixture(scope="module")
def cdnow():
    """The CDNOW cohort summarised in weeks at the end of week 39, from the raw log."""
    return summarise(cdnow_purchases(), CALIBRATION_END, "week")


def test_the_raw_log_summarises_to_the_published_summary(cdnow):
    text = (CDNOW / "cdnow_customers_summary_with_transactions.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    assert len(cdnow) == len(rows) == 2357
    by_id = {int(r["ID"]): r for r in rows}
    for i, customer in enumerate(cdnow.customer.tolist()):
        row = by_id[customer]
        assert cdnow.x[i] == int(row["x"])  # same-day purchases are one transaction
        assert cdnow.t_x[i] == pytest.approx(float(row["t_x"]), abs=0.005)
        assert cdnow.T[i] == pytest.approx(float(row["T"]), abs=0.005)
        assert cdnow.repeat_mean[i] == pytest.approx(float(row["zbar"]), abs=0.0051)


def test_bgnbd_fit_reproduces_the_published_cdnow_parameters(cdnow):
    fitted = bgnbd.fit(cdnow.x, cdnow.t_x, cdnow.T)
    for name, published in PUBLISHED_BGNBD.items():
        assert getattr(fitted, name) == pytest.approx(published, abs=published_tolerance(published))
    assert fitted.log_likelihood == pytest.approx(PUBLISHED_BGNBD_LL, abs=0.05)


def test_gamma_gamma_fit_reproduces_the_published_cdnow_parameters(cdnow):
    fitted = gamma_gamma.fit(cdnow.x, cdnow.repeat_mean)
    for name, published in PUBLISHED_GG.items():
        assert getattr(fitted, name) == pytest.approx(published, abs=published_tolerance(published))
    assert fitted.log_likelihood == pytest.approx(PUBLISHED_GG_LL, abs=1e-3)


def test_the_fit_is_at_least_as_likely_as_the_published_parameters(cdnow):
    fitted = bgnbd.fit(cdnow.x, cdnow.t_x, cdnow.T)
    published = bgnbd.BgNbd(**PUBLISHED_BGNBD, log_likelihood=0.0)
    ours = bgnbd.log_likelihood(fitted, cdnow.x, cdnow.t_x, cdnow.T)
    assert ours >= bgnbd.log_likelihood(published, cdnow.x, cdnow.t_x, cdnow.T)
    assert ours == pytest.approx(fitted.log_likelihood)


def test_conditional_expectation_of_the_published_worked_example():
    # The BG/NBD notes' example: x = 2, t_x = 30.43, T = 38.86 weeks; next 39 weeks: 1.226.
    model = bgnbd.BgNbd(0.2426, 4.4136, 0.7929, 2.4259, 0.0)
    expected = bgnbd.expected_purchases(model, 39, [2.0], [30.43], [38.86])
    assert expected[0] == pytest.approx(1.226, abs=5e-4)


@pytest.mark.parametrize("x", [0, 1, 3, 10])
def test_the_transformed_series_equals_the_papers(x):
    m = bgnbd.BgNbd(0.243, 4.414, 0.793, 2.426, 0.0)
    T, t = 30.0, 52.0
    z = t / (m.alpha + T + t)
    papers = (
        (m.a + m.b + x - 1)
        / (m.a - 1)
        * (
            1
            - ((m.alpha + T) / (m.alpha + T + t)) ** (m.r + x)
            * hyp2f1(m.r + x, m.b + x, m.a + m.b + x - 1, z)
        )
    )
    assert bgnbd.growth(m, [x], [T], t)[0] == pytest.approx(papers, rel=1e-9)


def test_many_purchases_give_finite_expectations():
    m = bgnbd.BgNbd(0.243, 4.414, 0.793, 2.426, 0.0)
    x = np.array([400.0, 1000.0])
    expected = bgnbd.expected_purchases(m, 52, x, np.array([99.0, 99.5]), np.array([100.0, 100.0]))
    assert np.isfinite(expected).all() and (expected > 100).all()


def test_probability_alive_falls_with_silence_and_is_one_without_repeat():
    m = bgnbd.BgNbd(0.243, 4.414, 0.793, 2.426, 0.0)
    alive = bgnbd.probability_alive(m, [0, 3, 3], [0, 30, 5], [38, 38, 38])
    assert alive[0] == 1.0
    assert 0 < alive[2] < alive[1] < 1


def test_fits_recover_the_parameters_they_were_drawn_with():
    pop = Population(r=0.5, alpha=6.0, a=1.2, b=3.0, p=5.0, q=4.0, gamma=20.0)
    summary = simulate_summaries(40_000, pop, np.random.default_rng(11))
    purchases = bgnbd.fit(summary.x, summary.t_x, summary.T)
    spend = gamma_gamma.fit(summary.x, summary.repeat_mean)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(purchases, name) == pytest.approx(getattr(pop, name), rel=0.15), name
    for name in ("p", "q", "gamma"):
        assert getattr(spend, name) == pytest.approx(getattr(pop, name), rel=0.15), name


def test_expected_amount_shrinks_towards_the_population_mean():
    model = gamma_gamma.GammaGamma(6.25, 3.74, 15.44, 0.0)
    population_mean = model.p * model.gamma / (model.q - 1)
    few, many = gamma_gamma.expected_amount(model, [1, 50], [100.0, 100.0])
    assert population_mean < few < many < 100.0
    assert gamma_gamma.expected_amount(model, [0], [0.0])[0] == pytest.approx(population_mean)


def test_without_repeat_purchases_nothing_is_fitted():
    with pytest.raises(bgnbd.FitError):
        bgnbd.fit([0, 0, 0], [0, 0, 0], [5, 6, 7])
    with pytest.raises(bgnbd.FitError):
        gamma_gamma.fit([0, 1], [0.0, 0.0])


def test_a_dropout_without_spread_gives_the_limit_of_the_series():
    # a + b at the fit's bounds: every customer drops out with p = a / (a + b + x)
    huge = bgnbd.BgNbd(1.5, 12.0, 23_000.0, 160_000.0, 0.0)
    near = bgnbd.BgNbd(1.5, 12.0, 1_150.0, 8_000.0, 0.0)  # a + b below the switch
    x, t_x, T = np.array([0.0, 3.0, 12.0]), np.array([0.0, 20.0, 50.0]), np.full(3, 52.0)
    limit = bgnbd.expected_purchases(huge, 52, x, t_x, T)
    series = bgnbd.expected_purchases(near, 52, x, t_x, T)
    assert np.isfinite(limit).all() and (limit > 0).all()
    assert limit == pytest.approx(series, rel=2e-3)


def test_an_overflowing_series_falls_back_to_the_limit():
    wide = bgnbd.BgNbd(1.5, 12.0, 5_000.0, 4_000.0, 0.0)  # e^(a z) overflows
    expected = bgnbd.expected_purchases(wide, 52, [2.0], [30.0], [52.0])
    assert np.isfinite(expected).all() and expected[0] > 0
