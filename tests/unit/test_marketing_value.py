"""Customer value: RFM quintiles and tiers."""

from __future__ import annotations

import json

import pytest

from app.marketing.value import parse_purchases, quintile_scores, rfm_scores, tiers


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
    assert tiers([r], [f], [m]).tolist() == [tier]


def test_scores_rank_customers_against_each_other():
    # days since the last purchase, purchases, total spend (cents) of five customers
    recency = [1, 400, 3, 300, 30]
    frequency = [5, 1, 1, 4, 2]
    monetary = [25_000, 300, 800, 8_000, 2_000]
    *_, tier = rfm_scores(recency, frequency, monetary)
    assert tier.tolist()[:4] == ["champions", "dormant", "promising", "at_risk"]


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
