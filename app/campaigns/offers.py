"""Next-best offers in a campaign run: the seam through which the marketing package offers them.

A run whose templates show ``{{ offer }}`` opens the registered offer source once
(:func:`open_offers`: it reads the purchase histories shared for profiling); each batch then
asks it for the payloads of the customers it enqueues. Importing :mod:`app.marketing`
registers its source, as it registers its segment conditions; with none registered such a run
stops with an error instead of sending without the offer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session


class RunOffers(Protocol):
    """The offers of one run, loaded once."""

    def payloads(
        self, session: Session, customer_ids: Sequence[int], *, campaign_id: int
    ) -> dict[int, str]:
        """``{customer id: payload_json}`` for those among ``customer_ids`` with an offer."""
        ...


#: Opens the offers of a run: ``(session, moment of the run, reason for the access log)``.
OfferSource = Callable[[Session, datetime, str], RunOffers]

_SOURCES: list[OfferSource] = []


def register_offer_source(source: OfferSource) -> OfferSource:
    """Use ``source`` for the runs whose templates show an offer (the last one registered)."""
    _SOURCES[:] = [source]
    return source


def open_offers(session: Session, at: datetime, *, reason: str) -> RunOffers:
    """The offers of a run at ``at``, from the registered source."""
    if not _SOURCES:
        raise RuntimeError("no offer source is registered: import app.marketing")
    return _SOURCES[0](session, at, reason)
