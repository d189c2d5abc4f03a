"""The BG/NBD model of repeat purchases, fitted by maximum likelihood (pure: numpy and scipy).

Fader, Hardie and Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative to the
Pareto/NBD Model", *Marketing Science* 24(2), 275-284. Each customer is summarised by

- ``x``: repeat purchases (purchases after the first) up to the end of calibration;
- ``t_x``: time from the first purchase to the last one;
- ``T``: time from the first purchase to the end of calibration.

While active a customer buys at Poisson rate ``lambda``, with ``lambda ~ Gamma(r, alpha)``
across customers; after each purchase they become inactive with probability ``p``, with
``p ~ Beta(a, b)``.

Per customer (``B`` is the beta function)::

    L = B(a, b+x)/B(a, b) · Γ(r+x) alpha^r / (Γ(r) (alpha+T)^(r+x))
        + [x > 0] · B(a+1, b+x-1)/B(a, b) · Γ(r+x) alpha^r / (Γ(r) (alpha+t_x)^(r+x))
    P(alive) = 1 / (1 + [x > 0] · a/(b+x-1) · ((alpha+T)/(alpha+t_x))^(r+x))
    E[Y(t) | x, t_x, T] = P(alive) · (a+b+x-1)/(a-1)
        · (1 - (1-z)^(a-1) · ₂F₁(a+b-1-r, a-1; a+b+x-1; z)),   z = t/(alpha+T+t)

The expectation is the paper's, with Euler's transformation
``₂F₁(A, B; C; z) = (1-z)^(C-A-B) ₂F₁(C-A, C-B; C; z)`` applied to its ``₂F₁(r+x, b+x;
a+b+x-1; z)``: the transformed series has small parameters, so it neither overflows nor
cancels for customers with many purchases. The likelihood is maximised over the logarithms
of the parameters (L-BFGS-B with the analytic gradient); the terms that depend on ``x`` alone
are computed once per distinct ``x``.

scipy's submodules are reached as attributes (``scipy.special``, ``scipy.optimize``): scipy
loads each on first use, so a process that never fits (a delivery worker, a web worker) does not
hold them (about 40 MB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy

#: Bounds of the logarithm of every parameter while fitting (about 6e-6 to 160,000).
LOG_BOUNDS = (-12.0, 12.0)
#: Above this ``a + b`` the dropout probability is taken as the same for every customer.
CONCENTRATED = 1e4


class FitError(ValueError):
    """The data cannot identify the model (too few customers or no repeat purchases)."""


@dataclass(frozen=True, slots=True)
class BgNbd:
    """Fitted BG/NBD parameters and the log-likelihood they reach."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


def _x_terms(theta: np.ndarray, xs: np.ndarray, counts: np.ndarray) -> tuple[float, np.ndarray]:
    """Sum over customers of the terms that depend on ``x`` only, and their gradient."""
    r, alpha, a, b = theta
    value = (
        scipy.special.gammaln(r + xs)
        - scipy.special.gammaln(r)
        + r * np.log(alpha)
        + scipy.special.gammaln(a + b)
        + scipy.special.gammaln(b + xs)
        - scipy.special.gammaln(b)
        - scipy.special.gammaln(a + b + xs)
    ) @ counts
    grad = np.array(
        [
            (scipy.special.digamma(r + xs) - scipy.special.digamma(r) + np.log(alpha)) @ counts,
            r / alpha * counts.sum(),
            (scipy.special.digamma(a + b) - scipy.special.digamma(a + b + xs)) @ counts,
            (
                scipy.special.digamma(a + b)
                + scipy.special.digamma(b + xs)
                - scipy.special.digamma(b)
                - scipy.special.digamma(a + b + xs)
            )
            @ counts,
        ]
    )
    return float(value), grad


def _negative_log_likelihood(log_theta, x, t_x, T, xs, counts):
    """Minus the total log-likelihood at ``exp(log_theta)`` and its gradient in log space."""
    theta = np.exp(log_theta)
    r, alpha, a, b = theta
    total, grad = _x_terms(theta, xs, counts)
    rx = r + x
    log_t, log_tx = np.log(alpha + T), np.log(alpha + t_x)
    a3 = -rx * log_t
    repeat = x > 0
    a4 = np.where(repeat, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - rx * log_tx, -np.inf)
    mix = np.logaddexp(a3, a4)
    q = np.exp(a4 - mix)  # weight of the second term: the chance the customer has left
    total += mix.sum()
    grad += np.array(
        [
            (-(1 - q) * log_t - q * log_tx).sum(),
            (-(1 - q) * rx / (alpha + T) - q * rx / (alpha + t_x)).sum(),
            q.sum() / a,
            -(q[repeat] / (b + x[repeat] - 1)).sum(),
        ]
    )
    return -total, -grad * theta


def _start(x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """A start on the data's time scale: ``r = a = b = 1``, ``r/alpha`` = the mean rate."""
    rate = max(float(x.mean()), 0.1) / max(float(T.mean()), 1e-3)
    return np.log([1.0, 1.0 / rate, 1.0, 1.0])


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbd:
    """Maximum-likelihood parameters for the customers' ``(x, t_x, T)``."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if len(x) == 0 or not (x > 0).any():
        raise FitError("the BG/NBD model needs customers with repeat purchases")
    xs, counts = np.unique(x, return_counts=True)
    result = scipy.optimize.minimize(
        _negative_log_likelihood,
        _start(x, T),
        args=(x, t_x, T, xs, counts.astype(float)),
        jac=True,
        method="L-BFGS-B",
        bounds=[LOG_BOUNDS] * 4,
        options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-7},
    )
    r, alpha, a, b = np.exp(result.x)
    return BgNbd(float(r), float(alpha), float(a), float(b), float(-result.fun))


def log_likelihood(model: BgNbd, x, t_x, T) -> float:
    """The total log-likelihood of ``model`` for the customers' ``(x, t_x, T)``."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    xs, counts = np.unique(x, return_counts=True)
    theta = np.log([model.r, model.alpha, model.a, model.b])
    return float(-_negative_log_likelihood(theta, x, t_x, T, xs, counts.astype(float))[0])


def probability_alive(model: BgNbd, x, t_x, T) -> np.ndarray:
    """The probability that each customer is still active at the end of calibration."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    m = model
    with np.errstate(divide="ignore"):
        odds = (
            np.log(m.a)
            - np.log(np.maximum(m.b + x - 1, 1e-300))
            + (m.r + x) * (np.log(m.alpha + T) - np.log(m.alpha + t_x))
        )
    return np.where(x > 0, scipy.special.expit(-odds), 1.0)


def growth(model: BgNbd, x, T, t: float) -> np.ndarray:
    """``E[Y(t)] / P(alive)``: purchases in the next ``t`` expected of an active customer.

    Depends on ``x`` and ``T`` only, so callers scoring many customers evaluate it once per
    distinct pair (:func:`expected_purchases` does). When ``a + b`` exceeds
    :data:`CONCENTRATED` (the fit found no spread in the dropout probability), or the series
    overflows, the Beta mixing distribution is taken as its mean ``p = a / (a + b + x)``:
    ``(1 - ((alpha+T) / (alpha+T+p t))^(r+x)) / p``.
    """
    m = model
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    if t <= 0:
        return np.zeros_like(x)
    p = m.a / (m.a + m.b + x)
    concentrated = -np.expm1((m.r + x) * np.log1p(-p * t / (m.alpha + T + p * t))) / p
    if m.a + m.b > CONCENTRATED:
        return concentrated
    a = m.a if abs(m.a - 1) > 1e-9 else 1 + 1e-9  # the limit a -> 1 is finite; avoid 0/0
    z = t / (m.alpha + T + t)
    c = a + m.b + x - 1
    with np.errstate(over="ignore", invalid="ignore"):
        series = scipy.special.hyp2f1(a + m.b - 1 - m.r, a - 1, c, z)
        exact = c / (a - 1) * (1 - np.exp((a - 1) * np.log1p(-z)) * series)
    return np.where(np.isfinite(exact), exact, concentrated)


def pair_index(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(x, T)`` pairs and, per customer, the index of theirs."""
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    if len(x) == 0:
        return x, T, np.zeros(0, dtype=np.intp)
    span = float(T.max()) + 1.0
    keys, inverse = np.unique(x * span + T, return_inverse=True)
    pairs_x = np.floor(keys / span)
    return pairs_x, keys - pairs_x * span, inverse


def expected_purchases(model: BgNbd, t: float, x, t_x, T) -> np.ndarray:
    """Purchases each customer is expected to make in the next ``t`` time units."""
    pairs_x, pairs_t, inverse = pair_index(x, T)
    return probability_alive(model, x, t_x, T) * growth(model, pairs_x, pairs_t, t)[inverse]
