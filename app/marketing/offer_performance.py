"""How the learned offer choice performs against a random choice (aggregates only).

Every offer made is recorded with its *arm*: ``model`` (Thompson sampling on what customers
taught) or ``random`` (the comparison share, :data:`~app.marketing.offers.RANDOM_SHARE`). An
offer *answered well* got a click through its link or "more like this"; "less like this" is
counted apart. Per arm: offers made, answered well, "less", and the rate answered well; the
model's uplift over random with its 95 % interval (:mod:`.uplift`). Counts only, no person.
Customers' answers are kept only while they allow learning, so the rates are of those who do.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.marketing.models import OfferHistory
from app.marketing.uplift import Uplift, uplift
from app.models_base import utcnow

ARMS = ("model", "random")
GOOD = ("click", "more")


@dataclass
class ArmFigures:
    """Offers made with one arm (overall or of one offer), and how they were answered."""

    offered: int = 0
    answered_well: int = 0
    less: int = 0

    @property
    def rate(self) -> float:
        """Share of the offers answered well (0 when none was made)."""
        return self.answered_well / self.offered if self.offered else 0.0


@dataclass(frozen=True)
class OfferPerformance:
    """The figures of the last ``days`` days: per arm, per offer and arm, and the uplift."""

    days: int
    arms: dict[str, ArmFigures]
    offers: dict[str, dict[str, ArmFigures]]
    uplift: Uplift | None


def offer_performance(session: Session, days: int = 90) -> OfferPerformance:
    """Offers made in the last ``days`` days, by arm and offer, with the model's uplift."""
    h = OfferHistory
    query = (
        select(h.offer_id, h.arm, h.response, func.count())
        .where(h.offered_at >= utcnow() - timedelta(days=days))
        .group_by(h.offer_id, h.arm, h.response)
    )
    arms = {arm: ArmFigures() for arm in ARMS}
    offers: dict[str, dict[str, ArmFigures]] = defaultdict(lambda: {a: ArmFigures() for a in ARMS})
    for offer_id, arm, response, count in session.execute(query):
        for figures in (
            arms.setdefault(arm, ArmFigures()),
            offers[offer_id].setdefault(arm, ArmFigures()),
        ):
            figures.offered += count
            figures.answered_well += count if response in GOOD else 0
            figures.less += count if response == "less" else 0
    model, chance = arms["model"], arms["random"]
    lift = uplift(model.answered_well, model.offered, chance.answered_well, chance.offered)
    return OfferPerformance(days, arms, dict(sorted(offers.items())), lift)
