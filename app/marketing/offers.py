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

The best-scoring category wins, except that the **variety rule** skips any offer the
customer was given within the last ``VARIETY_DAYS`` days (offer history). Ties break by
category name, so the choice is deterministic.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from app.marketing.value import Purchase

HALF_LIFE_DAYS = 90
VARIETY_DAYS = 30
OFFER_PREFIX = "category:"
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
