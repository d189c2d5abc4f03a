"""The Gamma-Gamma model of spend per purchase, fitted by maximum likelihood (pure).

Fader, Hardie and Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
Analysis", *Journal of Marketing Research* 42(4), 415-430; the likelihood as written in
Fader and Hardie (2013), "The Gamma-Gamma Model of Monetary Value". A customer's purchase
amounts are Gamma(p, nu) around their own mean; ``nu ~ Gamma(q, gamma)`` across customers. Fitted on
the customers with repeat purchases, each summarised by ``x`` (repeat purchases) and ``m``
(mean amount of those repeat purchases)::

    log L = log Γ(px+q) - log Γ(px) - log Γ(q) + q log gamma + (px-1) log m + px log x
            - (px+q) log(gamma + m x)
    E[Z | x, m] = p (gamma + m x) / (p x + q - 1)      (p gamma / (q - 1) when x = 0)

The mean amount exists only for ``q > 1``, so the fit keeps ``q`` above 1.

scipy's submodules are reached as attributes (``scipy.special``, ``scipy.optimize``): scipy
loads each on first use, so a process that never fits (a delivery worker, a web worker) does not
hold them (about 40 MB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy

from app.marketing.bgnbd import LOG_BOUNDS, FitError

#: ``q`` stays above this, so every customer's expected spend is finite.
MIN_Q = 1.0 + 1e-6


@dataclass(frozen=True, slots=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters and the log-likelihood they reach."""

    p: float
    q: float
    gamma: float
    log_likelihood: float


def _negative_log_likelihood(log_theta, x, m, log_m, log_x):
    """Minus the total log-likelihood at ``exp(log_theta)`` and its gradient in log space."""
    theta = np.exp(log_theta)
    p, q, gamma = theta
    px = p * x
    log_gm = np.log(gamma + m * x)
    value = (
        scipy.special.gammaln(px + q)
        - scipy.special.gammaln(px)
        - scipy.special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * log_m
        + px * log_x
        - (px + q) * log_gm
    ).sum()
    psi_pq = scipy.special.digamma(px + q)
    grad = np.array(
        [
            (x * (psi_pq - scipy.special.digamma(px) + log_m + log_x - log_gm)).sum(),
            (psi_pq - scipy.special.digamma(q) + np.log(gamma) - log_gm).sum(),
            (q / gamma - (px + q) / (gamma + m * x)).sum(),
        ]
    )
    return -value, -grad * theta


def fit(x: np.ndarray, m: np.ndarray) -> GammaGamma:
    """Maximum-likelihood parameters from repeat customers' ``x`` and mean amount ``m``.

    Customers without repeat purchases or with a mean amount of zero carry no information
    about spend and are left out.
    """
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < 2:
        raise FitError("the Gamma-Gamma model needs repeat purchases with an amount")
    start = np.log([1.0, 2.0, float(m.mean())])
    bounds = [LOG_BOUNDS, (float(np.log(MIN_Q)), LOG_BOUNDS[1]), (LOG_BOUNDS[0], 30.0)]
    result = scipy.optimize.minimize(
        _negative_log_likelihood,
        start,
        args=(x, m, np.log(m), np.log(x)),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 500, "ftol": 1e-14, "gtol": 1e-8},
    )
    p, q, gamma = np.exp(result.x)
    return GammaGamma(float(p), float(q), float(gamma), float(-result.fun))


def expected_amount(model: GammaGamma, x, m) -> np.ndarray:
    """Expected amount of each customer's next purchases, given ``x`` and mean amount ``m``."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    p, q, gamma = model.p, model.q, model.gamma
    known = (x > 0) & (m > 0)
    weight_x = np.where(known, x, 0.0)
    return p * (gamma + weight_x * np.where(known, m, 0.0)) / (p * weight_x + q - 1)
