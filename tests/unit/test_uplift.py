"""Uplift over the holdout: Newcombe's hybrid score interval on his published examples."""

from __future__ import annotations

import pytest

from app.marketing.uplift import uplift, wilson

# R. G. Newcombe (1998), Statistics in Medicine 17, Table II, method 10 (score, no correction).
PUBLISHED = [
    ((56, 70, 48, 80), 0.2000, 0.0524, 0.3339),
    ((9, 10, 3, 10), 0.6000, 0.1705, 0.8090),
    ((6, 7, 2, 7), 0.5714, 0.0582, 0.8062),
    ((5, 56, 0, 29), 0.0893, -0.0381, 0.1926),
    ((0, 10, 0, 20), 0.0000, -0.1611, 0.2775),
    ((0, 10, 0, 10), 0.0000, -0.2775, 0.2775),
]


@pytest.mark.parametrize(("counts", "difference", "low", "high"), PUBLISHED)
def test_interval_matches_the_published_table(counts, difference, low, high):
    found = uplift(*counts)
    assert found is not None
    assert found.difference == pytest.approx(difference, abs=5e-5)
    assert (found.low, found.high) == pytest.approx((low, high), abs=5e-5)


def test_significance_is_an_interval_that_excludes_zero():
    better, unsure = uplift(56, 70, 48, 80), uplift(5, 56, 0, 29)
    assert better is not None and better.significant
    assert unsure is not None and not unsure.significant
    worse = uplift(48, 80, 56, 70)
    assert worse is not None and worse.significant and worse.high < 0


def test_no_uplift_without_measured_members_and_bad_counts_are_refused():
    assert uplift(3, 10, 0, 0) is None
    assert uplift(0, 0, 3, 10) is None
    with pytest.raises(ValueError):
        uplift(11, 10, 3, 10)


def test_the_wilson_interval_is_scipys():
    from scipy.stats import binomtest

    for trials in (1, 2, 7, 10, 56, 80, 1000):
        for successes in sorted({0, 1, trials // 3, trials // 2, trials - 1, trials}):
            for confidence in (0.9, 0.95, 0.99):
                found = wilson(successes, trials, confidence)
                ci = binomtest(successes, trials).proportion_ci(
                    confidence_level=confidence, method="wilson"
                )
                assert found == pytest.approx((ci.low, ci.high), abs=1e-12)
