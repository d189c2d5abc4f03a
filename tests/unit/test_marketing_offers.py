"""Next-best offers: affinity, co-purchase lift and the variety rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.marketing.offers import (
    affinity,
    category_scores,
    co_purchases,
    next_best_offer,
    offer_for,
)
from app.marketing.value import Purchase

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def bought(category: str, days_ago: float = 0) -> Purchase:
    return Purchase("SKU", category, 1000, NOW - timedelta(days=days_ago))


POPULATION = co_purchases([{"wine", "cheese"}, {"wine", "cheese"}, {"wine", "books"}, {"books"}])


def test_co_purchases_count_customers_per_pair():
    assert POPULATION.buyers == {"wine": 3, "cheese": 2, "books": 2}
    assert POPULATION.pairs["wine"] == {"cheese": 2, "books": 1}
    assert POPULATION.conditional("wine", "cheese") == 2 / 3
    assert POPULATION.conditional("unknown", "wine") == 0.0


def test_recent_purchases_weigh_more_with_a_90_day_half_life():
    scores = affinity([bought("wine", 0), bought("books", 90)], NOW)
    assert scores["wine"] == 1.0 and scores["books"] == 0.5


def test_the_favourite_category_is_offered_first():
    offer = next_best_offer([bought("wine"), bought("wine", 10)], POPULATION, NOW)
    assert offer == offer_for("wine")
    assert offer.offer_id == "category:wine"


def test_co_purchases_suggest_a_category_never_bought():
    scores = category_scores([bought("wine")], POPULATION, NOW)
    assert scores["cheese"] > scores["books"] > 0


def test_the_variety_rule_skips_offers_made_recently():
    purchases = [bought("wine"), bought("wine", 10)]
    offer = next_best_offer(purchases, POPULATION, NOW, recent_offers={"category:wine"})
    assert offer == offer_for("cheese")
    everything = {"category:wine", "category:cheese", "category:books"}
    assert next_best_offer(purchases, POPULATION, NOW, recent_offers=everything) is None


def test_no_history_means_no_offer():
    assert next_best_offer([], POPULATION, NOW) is None


def test_offer_text_is_the_same_for_everyone_and_localised():
    offer = offer_for("home-garden")
    assert offer.text() == "New in home garden: our selection for you"
    assert offer.text("it").startswith("Novità in home garden")
    assert offer.text("xx") == offer.text("en")


def test_summary_matrices_agree_with_the_purchase_functions():
    import numpy as np

    from app.marketing.offers import affinity_matrix, summary_matrices
    from app.marketing.purchase_summaries import summary_of

    now = NOW + timedelta(hours=5, microseconds=123457)
    histories = [
        [bought("wine", 3), bought("books", 200.3), bought("wine", -2), bought("wine", 91)],
        [],
        [bought("tea", 40), bought("books", 1)],
        [bought("cheese", 7)],
    ]
    catalogue, population, own = summary_matrices([summary_of(h) for h in histories], now)
    expected = co_purchases({p.category for p in h} for h in histories)
    assert population == expected
    assert catalogue == tuple(sorted(expected.buyers))
    # the same sums, to the last bits of rounding (numpy's power and summation order)
    assert np.allclose(own, affinity_matrix(histories, catalogue, now), rtol=1e-12, atol=0)


def test_summary_matrices_of_nobody_are_empty():
    from app.marketing.offers import summary_matrices

    catalogue, population, own = summary_matrices([{}, {}], NOW)
    assert catalogue == () and population.buyers == {} and own.shape == (2, 0)


def test_summaries_are_parsed_together_and_a_bad_one_alone():
    from app.marketing.purchase_summaries import parse_summaries

    made = {"tea": [3]}
    assert parse_summaries(['{"wine":[1,2]}', made, "{}"]) == [{"wine": [1, 2]}, made, {}]
    assert parse_summaries(['{"wine":[1]}', "not json", '{"a":[1]},{"b":[2]}']) == [
        {"wine": [1]},
        {},
        {},
    ]
