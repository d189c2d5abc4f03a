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
taught: ``alpha += clicks + 3 * more``, ``beta += (shown - clicks) + 3 * less`` (an
explicit answer weighs :data:`FEEDBACK_WEIGHT` clicks). Each choice
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
from datetime import datetime
from itertools import combinations

import numpy as np

from app.marketing.value import Purchase

HALF_LIFE_DAYS = 90
VARIETY_DAYS = 30
OFFER_PREFIX = "category:"
PRIOR_STRENGTH = 2.0
INTEREST_PRIOR = 0.5
FEEDBACK_WEIGHT = 3
RANDOM_SHARE = 0.1
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
    scores: defaultdict[str, float] = defaultdict(float)
    for purchase in purchases:
        age = max(0.0, (now - purchase.at).total_seconds() / 86400)
        scores[purchase.category] += 0.5 ** (age / HALF_LIFE_DAYS)
    return dict(scores)


def category_scores(
    purchases: Sequence[Purchase], population: CoPurchases, now: datetime
) -> dict[str, float]:
    """``score(c)`` for every category the customer bought or that co-occurs with one."""
    own = affinity(purchases, now)
    scores: defaultdict[str, float] = defaultdict(float, own)
    for given, weight in own.items():
        for category in population.pairs.get(given, {}):
            if category != given:
                scores[category] += weight * population.conditional(given, category)
    return dict(scores)


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
    return prior_matrix([scores], catalogue, [interests])[0]


def prior_matrix(
    scores: Sequence[Mapping[str, float]],
    catalogue: Sequence[str],
    interests: Sequence[Collection[str]],
) -> np.ndarray:
    """:func:`prior_scores` of many customers at once: one row each, one column per category."""
    column = {category: j for j, category in enumerate(catalogue)}
    prior = np.zeros((len(scores), len(catalogue)))
    wanted = np.zeros(prior.shape, dtype=bool)
    for i, (own, liked) in enumerate(zip(scores, interests, strict=True)):
        for category, score in own.items():
            j = column.get(category)
            if j is not None:
                prior[i, j] = score
        for category in liked:
            j = column.get(category)
            if j is not None:
                wanted[i, j] = True
    best = prior.max(axis=1, initial=0.0)[:, None]
    prior = np.divide(prior, best, out=np.zeros_like(prior), where=best > 0)
    return np.where(wanted, np.maximum(prior, INTEREST_PRIOR), prior)


@dataclass(frozen=True, slots=True)
class Taught:
    """What customers taught, one row per customer and one column per catalogue offer."""

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
    ignored = np.maximum(taught.shown - taught.clicked, 0)
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
