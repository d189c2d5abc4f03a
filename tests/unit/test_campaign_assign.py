"""Holdout and A/B variant assignment: deterministic and proportional."""

from __future__ import annotations

from collections import Counter

import pytest

from app.campaigns.assign import Assigner


def test_assignment_is_deterministic():
    one = Assigner.for_campaign(7, 10, {"A": 50, "B": 50})
    two = Assigner.for_campaign(7, 10, {"B": 50, "A": 50})
    ids = range(1, 2000)
    assert [one.variant(i) for i in ids] == [two.variant(i) for i in ids]
    assert [one.in_holdout(i) for i in ids] == [two.in_holdout(i) for i in ids]


def test_split_follows_the_weights():
    assigner = Assigner.for_campaign(3, 0, {"A": 80, "B": 20})
    counts = Counter(assigner.variant(i) for i in range(20_000))
    assert 0.78 < counts["A"] / 20_000 < 0.82


def test_holdout_share_follows_the_percentage():
    assigner = Assigner.for_campaign(3, 10, {"A": 1})
    held = sum(assigner.in_holdout(i) for i in range(20_000))
    assert 0.09 < held / 20_000 < 0.11
    assert not any(Assigner.for_campaign(3, 0, {"A": 1}).in_holdout(i) for i in range(1000))


def test_campaigns_split_independently():
    a = Assigner.for_campaign(1, 0, {"A": 1, "B": 1})
    b = Assigner.for_campaign(2, 0, {"A": 1, "B": 1})
    assert [a.variant(i) for i in range(200)] != [b.variant(i) for i in range(200)]


def test_zero_weight_variants_are_never_assigned():
    assigner = Assigner.for_campaign(1, 0, {"A": 0, "B": 5})
    assert {assigner.variant(i) for i in range(500)} == {"B"}
    with pytest.raises(ValueError):
        Assigner.for_campaign(1, 0, {"A": 0})
