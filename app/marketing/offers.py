"""Next-best offers from purchase history: category affinity and co-purchases (pure).

An *offer* is a catalogue entry, one per product category: ``category:<slug>``. Its text is
the same for everyone who gets it ("New in wine: our selection for you"), so the template
context value ``offer`` names no person — only the *choice* of offer is personal, and that
choice is made only for customers who may be profiled (see :mod:`app.marketing.eligibility`).

Scoring, for a customer with purchases ``P`` at ``now``:

- *affinity* of a category ``c``: the sum over their purchases in ``c`` of
  ``0.5 ** (age_days / 90)`` — recent purchases count more (half-life 90 days);
- *co-purchase lift*: across every profiled customer, ``co[k][c]`` counts customers who
  bought both ``k`` and ``c``; ``P(c | k) = co[k][c] / buyers[k]``;
- ``score(c) = affinity(c) + Σ_k affinity(k) * P(c | k)`` for ``k ≠ c``.

:func:`next_best_offer` takes the best-scoring category, except that the **variety rule**
skips any offer the customer was given within the last ``VARIETY_DAYS`` days (offer history);
ties break by category name.

**Learning from responses** (:func:`thompson_choice`): each offer of the catalogue is an arm of
a Bernoulli bandit per customer, "the customer answers this offer". Its Beta posterior starts
from the purchase scores — ``s`` is the category's score over the customer's best (so 0-1),
raised to at least :data:`INTEREST_PRIOR` for a category among the interests they shared —
as ``Beta(1 + K s, 1 + K (1 - s))`` with ``K =`` :data:`PRIOR_STRENGTH`, and adds what they
taught: ``alpha += clicks + 3 * more``, ``beta += unanswered + 3 * less`` over the offers
made (an explicit answer weighs :data:`FEEDBACK_WEIGHT` clicks or ignored offers). Each choice
draws one sample per arm (numpy) and takes the largest among those the variety rule allows:
an offer never shown keeps a wide posterior and now and then wins a draw (exploration), an
offer often ignored or marked "less like this" rarely does.

A share :data:`RANDOM_SHARE` of the choices is made uniformly at random among the allowed
offers instead (the ``random`` arm), so the marketer can see how the learned choice performs
against chance.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations, repeat

import numpy as np

from app.marketing.value import Purchase

HALF_LIFE_DAYS = 90
VARIETY_DAYS = 30
OFFER_PREFIX = "category:"
PRIOR_STRENGTH = 2.0
INTEREST_PRIOR = 0.5
FEEDBACK_WEIGHT = 3
RANDOM_SHARE = 0.1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OFFER_TEXT = {
    "en": "New in {category}: our selection for you",
    "it": "Novità in {category}: la nostra selezione per te",
}


@dataclass(frozen=True, slots=True)
class Offer:
    """A catalogue offer: its id and its (non-personal) text."""

    offer_id: str
    category: str

    def text(self, language: str = "en") -> str:
        """The offer line for a template, in ``language`` (English by default)."""
        label = self.category.replace("-", " ")
        return OFFER_TEXT.get(language, OFFER_TEXT["en"]).format(category=label)


def offer_for(category: str) -> Offer:
    """The catalogue offer of ``category``."""
    return Offer(OFFER_PREFIX + category, category)


@dataclass(frozen=True, slots=True)
class CoPurchases:
    """Population co-purchase counts: buyers per category and per pair of categories."""

    buyers: Mapping[str, int]
    pairs: Mapping[str, Mapping[str, int]]

    def conditional(self, given: str, category: str) -> float:
        """``P(category | given)``: share of buyers of ``given`` who also bought ``category``."""
        total = self.buyers.get(given, 0)
        return self.pairs.get(given, {}).get(category, 0) / total if total else 0.0


def co_purchases(baskets: Iterable[Collection[str]]) -> CoPurchases:
    """Count buyers per category and customers per pair from each customer's categories."""
    buyers: Counter[str] = Counter()
    pairs: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for categories in baskets:
        unique = sorted(set(categories))
        buyers.update(unique)
        for a, b in combinations(unique, 2):
            pairs[a][b] += 1
            pairs[b][a] += 1
    return CoPurchases(dict(buyers), {k: dict(v) for k, v in pairs.items()})


def affinity(purchases: Sequence[Purchase], now: datetime) -> dict[str, float]:
    """Recency-weighted purchase count per category (half-life :data:`HALF_LIFE_DAYS`)."""
    catalogue = sorted({p.category for p in purchases})
    own = affinity_matrix([purchases], catalogue, now)[0]
    return {c: float(v) for c, v in zip(catalogue, own, strict=True)}


def affinity_matrix(
    purchases: Sequence[Sequence[Purchase]], catalogue: Sequence[str], now: datetime
) -> np.ndarray:
    """:func:`affinity` of many customers at once: one row each, one column per category
    of ``catalogue`` (categories outside it are left out)."""
    column = {category: j for j, category in enumerate(catalogue)}
    own = np.zeros((len(purchases), len(catalogue)))
    for i, rows in enumerate(purchases):
        for purchase in rows:
            j = column.get(purchase.category)
            if j is not None:
                age = max(0.0, (now - purchase.at).total_seconds() / 86400)
                own[i, j] += 0.5 ** (age / HALF_LIFE_DAYS)
    return own


def summary_matrices(
    summaries: Sequence[Mapping[str, Sequence[int]]], now: datetime
) -> tuple[tuple[str, ...], CoPurchases, np.ndarray]:
    """From each customer's purchase times per category (Unix seconds), at once: the
    catalogue (every category bought), :func:`co_purchases` and :func:`affinity_matrix`."""
    catalogue = tuple(sorted({c for summary in summaries for c, times in summary.items() if times}))
    column = {category: j for j, category in enumerate(catalogue)}
    cells: list[int] = []
    times: list[int] = []
    width = len(catalogue)
    for i, summary in enumerate(summaries):
        for category, moments in summary.items():
            if moments:
                cells.extend(repeat(i * width + column[category], len(moments)))
            times.extend(moments)
    flat = np.array(cells, dtype=np.int64)
    cell_bought = np.zeros(len(summaries) * width, dtype=np.int64)
    cell_bought[flat] = 1
    bought = cell_bought.reshape(len(summaries), width)
    pairs = bought.T @ bought
    np.fill_diagonal(pairs, 0)
    buyers = {c: int(n) for c, n in zip(catalogue, bought.sum(axis=0), strict=True)}
    together = {
        catalogue[k]: {catalogue[c]: int(pairs[k, c]) for c in np.flatnonzero(pairs[k])}
        for k in range(width)
        if pairs[k].any()
    }
    # As affinity_matrix: the age in days of each purchase, from whole microseconds.
    now_us = (now - _EPOCH) // timedelta(microseconds=1)
    ages = np.maximum(0.0, (now_us - np.array(times, dtype=np.int64) * 1_000_000) / 1e6 / 86400)
    weights = 0.5 ** (ages / HALF_LIFE_DAYS)
    own = np.bincount(flat, weights=weights, minlength=len(summaries) * width)
    return catalogue, CoPurchases(buyers, together), own.reshape(len(summaries), width)


def lift_matrix(population: CoPurchases, catalogue: Sequence[str]) -> np.ndarray:
    """``L[k, c] = P(c | k)`` between the categories of ``catalogue`` (zero diagonal)."""
    lift = np.zeros((len(catalogue), len(catalogue)))
    for k, given in enumerate(catalogue):
        for c, category in enumerate(catalogue):
            if c != k:
                lift[k, c] = population.conditional(given, category)
    return lift


def scores_from(own: np.ndarray, population: CoPurchases, catalogue: Sequence[str]) -> np.ndarray:
    """:func:`score_matrix` from the affinity matrix ``own``."""
    return own + own @ lift_matrix(population, catalogue)


def score_matrix(
    purchases: Sequence[Sequence[Purchase]],
    population: CoPurchases,
    catalogue: Sequence[str],
    now: datetime,
) -> np.ndarray:
    """``score(c)`` of many customers at once: ``affinity + affinity @ L``."""
    return scores_from(affinity_matrix(purchases, catalogue, now), population, catalogue)


def category_scores(
    purchases: Sequence[Purchase], population: CoPurchases, now: datetime
) -> dict[str, float]:
    """``score(c)`` for every category the customer bought or that co-occurs with one."""
    catalogue = sorted(set(population.buyers) | {p.category for p in purchases})
    scores = score_matrix([purchases], population, catalogue, now)[0]
    return {c: float(v) for c, v in zip(catalogue, scores, strict=True) if v > 0}


def next_best_offer(
    purchases: Sequence[Purchase],
    population: CoPurchases,
    now: datetime,
    recent_offers: Collection[str] = (),
) -> Offer | None:
    """The best-scoring offer not in ``recent_offers`` (the variety rule); ``None`` if none."""
    scores = category_scores(purchases, population, now)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    for category, _ in ranked:
        offer = offer_for(category)
        if offer.offer_id not in recent_offers:
            return offer
    return None


def prior_scores(
    scores: Mapping[str, float], catalogue: Sequence[str], interests: Collection[str] = ()
) -> np.ndarray:
    """Each catalogue category's score over the customer's best (0-1), interests raised to
    at least :data:`INTEREST_PRIOR`."""
    row = np.array([[scores.get(c, 0.0) for c in catalogue]])
    liked = np.array([[c in interests for c in catalogue]], dtype=bool)
    return prior_matrix(row, liked)[0]


def prior_matrix(scores: np.ndarray, interests: np.ndarray) -> np.ndarray:
    """:func:`prior_scores` of many customers at once, from their :func:`score_matrix` rows
    and a boolean matrix of the categories among their interests."""
    best = scores.max(axis=1, initial=0.0)[:, None]
    prior = np.divide(scores, best, out=np.zeros_like(scores), where=best > 0)
    return np.where(interests, np.maximum(prior, INTEREST_PRIOR), prior)


@dataclass(frozen=True, slots=True)
class Taught:
    """What customers taught, one row per customer and one column per catalogue offer: offers
    made (``shown``) and, among them, those answered with a click, "more" or "less"."""

    shown: np.ndarray
    clicked: np.ndarray
    more: np.ndarray
    less: np.ndarray

    @classmethod
    def nothing(cls, shape: tuple[int, int]) -> Taught:
        """No responses yet."""
        return cls(*(np.zeros(shape) for _ in range(4)))


def posteriors(prior: np.ndarray, taught: Taught) -> tuple[np.ndarray, np.ndarray]:
    """The Beta posteriors' ``(alpha, beta)`` (see the module docstring)."""
    alpha = 1 + PRIOR_STRENGTH * prior + taught.clicked + FEEDBACK_WEIGHT * taught.more
    ignored = np.maximum(taught.shown - taught.clicked - taught.more - taught.less, 0)
    beta = 1 + PRIOR_STRENGTH * (1 - prior) + ignored + FEEDBACK_WEIGHT * taught.less
    return alpha, beta


def thompson_choice(
    prior: np.ndarray, taught: Taught, blocked: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For each customer (row), the chosen catalogue column (``-1``: every offer blocked by
    the variety rule) and whether it was chosen at random (the comparison arm)."""
    alpha, beta = posteriors(prior, taught)
    draws = rng.beta(alpha, beta)
    at_random = rng.random(len(prior)) < RANDOM_SHARE
    draws[at_random] = rng.random((int(at_random.sum()), prior.shape[1]))
    draws[blocked] = -1.0
    chosen = draws.argmax(axis=1) if prior.shape[1] else np.zeros(len(prior), dtype=int)
    none_left = blocked.all(axis=1) if prior.shape[1] else np.ones(len(prior), dtype=bool)
    return np.where(none_left, -1, chosen), at_random
