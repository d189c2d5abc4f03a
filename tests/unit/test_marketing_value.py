"""Customer value: RFM quintiles and tiers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.marketing.value import (
    Purchase,
    activity,
    parse_purchases,
    quintile_scores,
    score_customers,
    tier_of,
)

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def bought(days_ago: float, cents: int = 1000, category: str = "wine") -> Purchase:
    return Purchase("SKU-1", category, cents, NOW - timedelta(days=days_ago))


def test_quintiles_spread_ten_values_two_per_score():
    assert quintile_scores(list(range(10))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_fewer_days_since_the_last_purchase_score_higher():
    assert quintile_scores([1, 100, 400, 50, 10], higher_is_better=False) == [5, 2, 1, 3, 4]


def test_equal_values_share_a_score():
    assert len(set(quintile_scores([7, 7, 7, 7, 7]))) == 1
    assert len(set(quintile_scores([3, 3, 3], higher_is_better=False))) == 1


@pytest.mark.parametrize(
    ("r", "f", "m", "tier"),
    [
        (5, 5, 5, "champions"),
        (4, 4, 3, "loyal"),
        (3, 3, 1, "loyal"),
        (5, 1, 5, "promising"),
        (3, 2, 2, "promising"),
        (2, 5, 5, "at_risk"),
        (1, 3, 1, "at_risk"),
        (1, 1, 5, "dormant"),
        (2, 2, 2, "dormant"),
    ],
)
def test_tiers_follow_the_documented_rules(r, f, m, tier):
    assert tier_of(r, f, m) == tier


def test_activity_summarises_past_purchases_only():
    act = activity([bought(10, 500), bought(100, 1500), bought(-5, 9999)], NOW)
    assert act.frequency == 2 and act.monetary_cents == 2000
    assert act.recency_days == pytest.approx(10) and act.tenure_days == pytest.approx(100)
    assert activity([], NOW) is None


def test_scores_rank_customers_against_each_other():
    activities = {
        1: activity([bought(d, 5000) for d in (1, 20, 40, 60, 80)], NOW),
        2: activity([bought(400, 300)], NOW),
        3: activity([bought(3, 800)], NOW),
        4: activity([bought(d, 2000) for d in (300, 320, 340, 360)], NOW),
        5: activity([bought(d, 1000) for d in (30, 90)], NOW),
    }
    scores = score_customers(activities)
    assert scores[1].tier == "champions"
    assert scores[2].tier == "dormant"
    assert scores[3].tier == "promising"
    assert scores[4].tier == "at_risk"


def test_parse_purchases_skips_malformed_rows():
    raw = json.dumps([
        {"sku": "A", "category": "wine", "amount_cents": 100, "at": "2026-01-02"},
        {"sku": "B", "category": "books", "amount_cents": "x", "at": "2026-01-02"},
        {"sku": "C", "category": "books", "amount_cents": 5, "at": "2026-03-01T10:00:00Z"},
    ])  # fmt: skip
    parsed = parse_purchases(raw)
    assert [p.sku for p in parsed] == ["A", "C"]
    assert parsed[1].at.tzinfo is not None
    assert parse_purchases("not json") == [] and parse_purchases('{"a": 1}') == []
