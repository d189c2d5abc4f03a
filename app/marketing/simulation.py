"""Synthetic customers drawn from the BG/NBD and Gamma-Gamma models (for demo, tests, bench).

A customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``; after each repeat purchase they
stop for good with probability ``p ~ Beta(a, b)``; each purchase's amount is
``Gamma(p_spend, nu)`` with ``nu ~ Gamma(q, gamma)``. Drawing from the model itself lets
tests check that a fit recovers the parameters it was drawn with, and gives the demo and the
benchmark populations that behave like real purchase logs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.marketing.summaries import Summary


@dataclass(frozen=True, slots=True)
class Population:
    """Parameters of a synthetic population (time in weeks, amounts in currency units)."""

    r: float = 0.25
    alpha: float = 4.0
    a: float = 0.8
    b: float = 2.5
    p: float = 6.0
    q: float = 4.0
    gamma: float = 15.0


def _amount_rates(rng: np.random.Generator, pop: Population, n: int) -> np.ndarray:
    """Each customer's ``nu``: the rate of their Gamma-distributed purchase amounts."""
    return rng.gamma(pop.q, 1.0 / pop.gamma, n)


def simulate_summaries(
    n: int, pop: Population, rng: np.random.Generator, max_weeks: float = 104.0
) -> Summary:
    """``n`` customers who first bought 7 days to ``max_weeks`` weeks before the end, in weeks.

    Drawn directly as summaries: with ``N`` Poisson arrivals in ``(0, T]`` and ``K`` purchases
    before dropping out, ``x = min(K, N)`` and ``t_x`` is the ``x``-th of ``N`` uniform times.
    Times are whole days, as they are in purchase logs.
    """
    days = rng.integers(7, int(max_weeks * 7) + 1, n)
    T = days / 7.0
    lam = rng.gamma(pop.r, 1.0 / pop.alpha, n)
    p = rng.beta(pop.a, pop.b, n)
    arrivals = rng.poisson(lam * T)
    x = np.minimum(rng.geometric(p), arrivals).astype(float)
    last_day = np.floor(days * rng.beta(np.maximum(x, 1), arrivals - x + 1))
    t_x = np.where(x > 0, last_day / 7.0, 0.0)
    nu = _amount_rates(rng, pop, n)
    first = rng.gamma(pop.p, 1.0 / nu)
    repeat_total = np.where(x > 0, rng.gamma(np.maximum(pop.p * x, 1e-9), 1.0 / nu), 0.0)
    repeat_mean = np.where(x > 0, repeat_total / np.maximum(x, 1), 0.0)
    return Summary(
        customer=np.arange(n, dtype=np.int64),
        x=x,
        t_x=t_x,
        T=T,
        repeat_mean=repeat_mean,
        total=first + repeat_total,
        first_day=-days,
    )


def simulate_purchases(
    pop: Population, rng: np.random.Generator, first_day: int, end_day: int
) -> list[tuple[int, float]]:
    """One customer's purchases as ``(day, amount)`` from ``first_day`` up to ``end_day``."""
    lam = rng.gamma(pop.r, 1.0 / pop.alpha) / 7.0  # per day
    drop = rng.beta(pop.a, pop.b)
    nu = _amount_rates(rng, pop, 1)[0]
    day, purchases = float(first_day), [(first_day, float(rng.gamma(pop.p, 1.0 / nu)))]
    while lam > 0:
        day += rng.exponential(1.0 / lam)
        if day > end_day:
            break
        purchases.append((int(day), float(rng.gamma(pop.p, 1.0 / nu))))
        if rng.random() < drop:
            break
    return purchases
