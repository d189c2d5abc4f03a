"""Choosing and recording next-best offers (service layer over :mod:`app.marketing.offers`).

Only customers who may be profiled (consent for ``recommendations`` granted and purchase
history shared for it, see :mod:`app.marketing.eligibility`) get an offer; everyone else gets
none. Each call decrypts the histories it needs with **one** vault access-log entry, and
records each offer made in ``offer_history`` so the variety rule can skip it next time.

Campaign runs attach offers to outbox entries with :func:`offer_payloads`: the payload holds
the offer's catalogue text (the same for everyone who gets that offer) under ``offer``, the
name :mod:`app.campaigns.render` reserves for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.offers import register_offer_source
from app.customers.models import Customer
from app.marketing.eligibility import HISTORY_FIELD, PROFILING_PURPOSE, histories, profiled_ids
from app.marketing.models import OfferHistory
from app.marketing.offers import VARIETY_DAYS, CoPurchases, Offer, co_purchases, next_best_offer
from app.marketing.value import parse_purchases
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.service import log_access

ACTOR = "marketing:offers"


def recent_offers(
    session: Session, customer_ids: Sequence[int], at: datetime, days: int = VARIETY_DAYS
) -> dict[int, set[str]]:
    """Offer ids each customer was given in the ``days`` before ``at``."""
    found: dict[int, set[str]] = {}
    if not customer_ids:
        return found
    rows = session.execute(
        select(OfferHistory.customer_id, OfferHistory.offer_id).where(
            OfferHistory.customer_id.in_(list(customer_ids)),
            OfferHistory.offered_at > at - timedelta(days=days),
        )
    )
    for customer_id, offer_id in rows:
        found.setdefault(customer_id, set()).add(offer_id)
    return found


@dataclass(frozen=True)
class OfferBook:
    """The profiled population's purchases and co-purchase statistics, decrypted once.

    A campaign run loads one book and chooses offers batch by batch from it, so the purchase
    histories are read (and logged) once per run, not once per batch. Who may be profiled is
    still checked for every batch: a withdrawal during the run is honoured.
    """

    at: datetime
    purchases: dict[int, list]
    population: CoPurchases

    @classmethod
    def load(cls, session: Session, at: datetime | None = None, *, reason: str) -> OfferBook:
        """Decrypt the purchase histories shared for profiling (one access-log entry)."""
        everyone = profiled_ids(session)
        purchases = {cid: parse_purchases(raw) for cid, raw in histories(session, everyone)}
        population = co_purchases({p.category for p in rows} for rows in purchases.values())
        with transaction(session):
            log_access(
                session,
                actor=ACTOR,
                purpose=PROFILING_PURPOSE,
                fields=[HISTORY_FIELD],
                customer_count=len(everyone),
                reason=reason,
            )
        return cls(at or utcnow(), purchases, population)

    def choose(
        self,
        session: Session,
        customer_ids: Sequence[int],
        *,
        campaign_id: int | None = None,
        record: bool = True,
    ) -> dict[int, Offer]:
        """The next-best offer of each customer among ``customer_ids`` who may be profiled now
        (and was when the book was loaded); the offers made are added to the offer history in
        the caller's transaction (the variety rule reads it)."""
        targets = [
            cid for cid in profiled_ids(session, among=customer_ids) if cid in self.purchases
        ]
        if not targets:
            return {}
        given = recent_offers(session, targets, self.at)
        chosen: dict[int, Offer] = {}
        for customer_id in targets:
            offer = next_best_offer(
                self.purchases[customer_id], self.population, self.at, given.get(customer_id, ())
            )
            if offer is not None:
                chosen[customer_id] = offer
        if record and chosen:  # in the caller's transaction: with the entries they go to
            session.add_all(
                OfferHistory(
                    customer_id=cid,
                    offer_id=offer.offer_id,
                    campaign_id=campaign_id,
                    offered_at=self.at,
                )
                for cid, offer in chosen.items()
            )
        return chosen

    def payloads(
        self, session: Session, customer_ids: Sequence[int], *, campaign_id: int
    ) -> dict[int, str]:
        """The payloads of :func:`offer_payloads` from this book (a campaign run's batch)."""
        return offer_payloads(session, customer_ids, self.at, campaign_id=campaign_id, book=self)


@register_offer_source
def _offers_of_run(session: Session, at: datetime, reason: str) -> OfferBook:
    """A campaign run's offers (:mod:`app.campaigns.offers`)."""
    return OfferBook.load(session, at, reason=reason)


def choose_offers(
    session: Session,
    customer_ids: Sequence[int],
    at: datetime | None = None,
    *,
    campaign_id: int | None = None,
    record: bool = True,
) -> dict[int, Offer]:
    """The next-best offer of each profiled customer among ``customer_ids`` (others: none)."""
    if not profiled_ids(session, among=customer_ids):
        return {}
    book = OfferBook.load(session, at, reason=f"next-best offers for {len(customer_ids)} customers")
    with transaction(session):
        return book.choose(session, customer_ids, campaign_id=campaign_id, record=record)


def offer_payloads(
    session: Session,
    customer_ids: Sequence[int],
    at: datetime | None = None,
    *,
    campaign_id: int | None = None,
    book: OfferBook | None = None,
) -> dict[int, str]:
    """``{customer id: payload_json}`` with the ``offer`` text in the customer's language.

    Customers without an offer are left out: a template that uses ``offer`` renders it empty
    for them (the offer is context, not a profile field). A campaign run passes the ``book``
    it loaded once.
    """
    if book is None:
        offers = choose_offers(session, customer_ids, at, campaign_id=campaign_id)
    else:
        offers = book.choose(session, customer_ids, campaign_id=campaign_id)
    if not offers:
        return {}
    query = select(Customer.id, Customer.language).where(Customer.id.in_(list(offers)))
    languages = {customer_id: language for customer_id, language in session.execute(query)}
    return {
        cid: json.dumps({"offer": offer.text(languages.get(cid, "en"))}, ensure_ascii=False)
        for cid, offer in offers.items()
    }
