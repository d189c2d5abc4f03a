"""Offer choice by Thompson sampling: priors from purchases, learning, exploration, variety."""

from __future__ import annotations

import numpy as np

from app.marketing.offers import (
    INTEREST_PRIOR,
    RANDOM_SHARE,
    Taught,
    posteriors,
    prior_scores,
    thompson_choice,
)

CATALOGUE = ["books", "coffee", "wine"]


def _share_of(column: int, prior, taught, rounds: int = 4000, seed: int = 7) -> float:
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.asarray([prior], dtype=float), rounds, axis=0)
    stacked = Taught(*(np.repeat(np.asarray([m], dtype=float), rounds, axis=0) for m in taught))
    picks, _ = thompson_choice(rows, stacked, np.zeros(rows.shape, dtype=bool), rng)
    return float(np.mean(picks == column))


def test_priors_scale_to_the_best_category_and_interests_raise_them():
    prior = prior_scores({"wine": 2.0, "books": 0.5}, CATALOGUE, interests={"coffee"})
    assert prior.tolist() == [0.25, INTEREST_PRIOR, 1.0]
    assert prior_scores({}, CATALOGUE).tolist() == [0.0, 0.0, 0.0]


def test_an_offer_never_shown_still_wins_some_draws():
    nothing = [[0, 0, 0]] * 4
    new_share = _share_of(0, [0.0, 0.0, 1.0], nothing)
    assert 0.03 < new_share < 0.2  # explored, but the purchases' favourite leads
    assert _share_of(2, [0.0, 0.0, 1.0], nothing) > 0.5


def test_clicks_and_feedback_move_the_choice():
    prior = [0.0, 0.0, 1.0]
    # wine shown ten times and ignored, books shown five times and clicked four times
    taught = [[5, 0, 10], [4, 0, 0], [0, 0, 0], [0, 0, 0]]  # shown, clicked, more, less
    assert _share_of(0, prior, taught) > 0.6
    less_wine = [[0, 0, 3], [0, 0, 0], [0, 0, 0], [0, 0, 3]]
    assert _share_of(2, prior, less_wine) < _share_of(2, prior, [[0, 0, 0]] * 4) - 0.3
    more_coffee = [[0, 3, 0], [0, 0, 0], [0, 3, 0], [0, 0, 0]]
    assert _share_of(1, prior, more_coffee) > 0.4
    one_more = [[0, 1, 0], [0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert _share_of(1, prior, one_more) > 2 * _share_of(1, prior, [[0, 0, 0]] * 4)


def test_posteriors_add_what_was_taught_to_the_prior():
    taught = Taught(*(np.array([[v]], dtype=float) for v in (6, 2, 1, 1)))
    alpha, beta = posteriors(np.array([[0.5]]), taught)
    # K = 2, s = 0.5; 2 clicks and 1 "more" (x3); 6 made, 2 unanswered, 1 "less" (x3)
    assert (alpha[0, 0], beta[0, 0]) == (1 + 1 + 2 + 3, 1 + 1 + 2 + 3)


def test_the_variety_rule_blocks_offers_and_a_share_is_chosen_at_random():
    rng = np.random.default_rng(3)
    rows = 5000
    prior = np.tile([0.0, 0.0, 1.0], (rows, 1))
    blocked = np.zeros(prior.shape, dtype=bool)
    blocked[:, 2] = True
    blocked[0, :] = True
    picks, at_random = thompson_choice(prior, Taught.nothing(prior.shape), blocked, rng)
    assert picks[0] == -1
    assert not np.any(picks[1:] == 2) and set(picks[1:].tolist()) == {0, 1}
    assert abs(at_random.mean() - RANDOM_SHARE) < 0.02
