"""Deterministic assignment of recipients to the holdout group and to variants.

The same customer always lands in the same group and variant of a campaign (re-runs,
recurring runs and reports agree), independently for holdout and variant, and in proportion
to the weights. A keyed-free hash is enough: the inputs are ids, not personal data, and the
split only has to be uniform and stable, not secret.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate

_SCALE = 10_000


def _bucket(salt: str, campaign_id: int, customer_id: int, scale: int) -> int:
    digest = hashlib.blake2b(f"{salt}:{campaign_id}:{customer_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") % scale


@dataclass(frozen=True, slots=True)
class Assigner:
    """Holdout and variant assignment for one campaign."""

    campaign_id: int
    holdout_percent: int
    variants: tuple[str, ...]
    bounds: tuple[int, ...]

    @classmethod
    def for_campaign(
        cls, campaign_id: int, holdout_percent: int, weights: Mapping[str, int]
    ) -> Assigner:
        """Build from ``{variant: weight}``; variants of weight 0 are never assigned."""
        live = {v: w for v, w in sorted(weights.items()) if w > 0}
        if not live:
            raise ValueError("at least one variant needs a positive weight")
        return cls(campaign_id, holdout_percent, tuple(live), tuple(accumulate(live.values())))

    def in_holdout(self, customer_id: int) -> bool:
        """Whether the customer is held out (decided, recorded, not sent)."""
        if self.holdout_percent <= 0:
            return False
        bucket = _bucket("holdout", self.campaign_id, customer_id, _SCALE)
        return bucket < self.holdout_percent * _SCALE // 100

    def variant(self, customer_id: int) -> str:
        """The customer's variant, in proportion to the weights."""
        bucket = _bucket("variant", self.campaign_id, customer_id, self.bounds[-1])
        return self.variants[bisect_right(self.bounds, bucket)]
