"""Uplift of a variant over the holdout: the difference of two conversion rates (pure).

``uplift = converted_v / measurable_v - converted_h / measurable_h``, with its confidence
interval by Newcombe's hybrid score method (R. G. Newcombe 1998, "Interval estimation for the
difference between independent proportions: comparison of eleven methods", *Statistics in
Medicine* 17, method 10): each rate gets its Wilson score interval (E. B. Wilson 1927, no
continuity correction, in closed form: what scipy's ``binomtest(...).proportion_ci(method=
"wilson")`` computes, without loading ``scipy.stats`` into every process) and the two are
combined. Unlike the simple normal approximation it stays inside [-1, 1] and keeps
its coverage with small groups and rates near 0 or 1. The result is *significant* when the
interval excludes zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Uplift:
    """A variant's conversion rate minus the holdout's, with a confidence interval."""

    difference: float
    low: float
    high: float
    confidence: float = CONFIDENCE

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero (the variant did better, or worse, for sure)."""
        return self.low > 0 or self.high < 0


def wilson(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of the rate ``successes / trials`` (``trials`` > 0)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    z2 = z * z
    denominator = trials + z2
    centre = (successes + z2 / 2) / denominator
    half = z / denominator * math.sqrt(successes * (trials - successes) / trials + z2 / 4)
    return max(0.0, centre - half), min(1.0, centre + half)


def uplift(
    converted: int,
    measurable: int,
    holdout_converted: int,
    holdout_measurable: int,
    confidence: float = CONFIDENCE,
) -> Uplift | None:
    """The uplift of a group over the holdout; ``None`` when either group has nobody measured."""
    if measurable <= 0 or holdout_measurable <= 0:
        return None
    if not (0 <= converted <= measurable and 0 <= holdout_converted <= holdout_measurable):
        raise ValueError("converted must lie between 0 and the measurable count")
    p1, p2 = converted / measurable, holdout_converted / holdout_measurable
    l1, u1 = wilson(converted, measurable, confidence)
    l2, u2 = wilson(holdout_converted, holdout_measurable, confidence)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Uplift(difference, max(-1.0, low), min(1.0, high), confidence)
