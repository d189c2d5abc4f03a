"""Choosing and recording next-best offers (service layer over :mod:`app.marketing.offers`).

Only customers who may be profiled (consent for ``recommendations`` granted and purchase
history shared for it, see :mod:`app.marketing.eligibility`) get an offer; everyone else gets
none. Each call decrypts the histories (and the interests shared for recommendations) it
needs with **one** vault access-log entry. Offers are chosen by Thompson sampling on what each
customer taught (:mod:`.responses`), a small share at random for comparison; each offer made
is recorded in ``offer_history`` (with how it was chosen), which the variety rule and the
learning read.

Campaign runs attach offers to outbox entries with :func:`offer_payloads`: the payload holds
the offer's catalogue text (the same for everyone who gets that offer) under ``offer``, the
name :mod:`app.campaigns.template_fields` reserves for it, and its catalogue id under
``offer_id`` (the worker turns it into the signed ``offer_url``,
:mod:`app.marketing.offer_links`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import numpy as np
from sqlalchemy import Integer, Table, bindparam, insert, select, text
from sqlalchemy.orm import Session

from app.campaigns.offers import register_offer_source
from app.customers.models import Customer
from app.marketing.eligibility import (
    HISTORY_FIELD,
    PROFILING_PURPOSE,
    profiled_ids,
    profiling_allowed,
)
from app.marketing.models import OfferHistory
from app.marketing.offer_profiles import INTERESTS_FIELD, load_profiles
from app.marketing.offers import (
    VARIETY_DAYS,
    CoPurchases,
    Offer,
    offer_for,
    prior_matrix,
    scores_from,
    summary_matrices,
    thompson_choice,
)
from app.marketing.responses import forget, taught
from app.models_base import UTCDateTime, among, dialect_name, pg_array, utcnow
from app.transaction import transaction
from app.vault.derived import store_summaries
from app.vault.service import log_access

ACTOR = "marketing:offers"
#: PostgreSQL: a batch's offers as arrays in one short statement (psycopg parses any
#: statement with more than 50 parameters again on every execution).
_RECORD_PG = text(
    "INSERT INTO offer_history (customer_id, offer_id, campaign_id, offered_at, arm) "
    "SELECT v.customer_id, v.offer_id, :campaign_id, :at, v.arm "
    "FROM unnest(CAST(:customers AS BIGINT[]), CAST(:offers AS TEXT[]), CAST(:arms AS TEXT[])) "
    "AS v(customer_id, offer_id, arm)"
).bindparams(bindparam("at", type_=UTCDateTime()), bindparam("campaign_id", type_=Integer()))


def record_offers(
    session: Session,
    chosen: Mapping[int, Offer],
    arms: Mapping[int, str],
    campaign_id: int | None,
    at: datetime,
) -> None:
    """Add the offers made to the offer history (in the caller's transaction)."""
    if dialect_name(session) == "postgresql":
        session.execute(
            _RECORD_PG,
            {
                "campaign_id": campaign_id,
                "at": at,
                "customers": pg_array(list(chosen)),
                "offers": pg_array([offer.offer_id for offer in chosen.values()]),
                "arms": pg_array([arms[cid] for cid in chosen]),
            },
        )
        return
    session.execute(
        insert(cast(Table, OfferHistory.__table__)),
        [
            {
                "customer_id": cid,
                "offer_id": offer.offer_id,
                "campaign_id": campaign_id,
                "offered_at": at,
                "arm": arms[cid],
            }
            for cid, offer in chosen.items()
        ],
    )


def recent_offers(
    session: Session, customer_ids: Sequence[int], at: datetime, days: int = VARIETY_DAYS
) -> dict[int, set[str]]:
    """Offer ids each customer was given in the ``days`` before ``at``."""
    found: dict[int, set[str]] = {}
    if not customer_ids:
        return found
    rows = session.execute(
        select(OfferHistory.customer_id, OfferHistory.offer_id).where(
            among(session, OfferHistory.customer_id, customer_ids),
            OfferHistory.offered_at > at - timedelta(days=days),
        )
    )
    for customer_id, offer_id in rows:
        found.setdefault(customer_id, set()).add(offer_id)
    return found


@dataclass(frozen=True)
class OfferBook:
    """The profiled population's purchase scores and interests, decrypted and scored once.

    A campaign run loads one book and chooses offers batch by batch from it, so the purchase
    histories are read (and logged) once per run, not once per batch. Who may be profiled is
    still checked for every batch: a withdrawal during the run is honoured. The random draws
    are seeded by the run's time, so choosing again for the same moment draws alike.
    """

    at: datetime
    population: CoPurchases
    #: The offers' categories, one column each in the matrices below.
    catalogue: tuple[str, ...]
    #: ``{customer id: row}`` of the customers who could be profiled at load time.
    rows: dict[int, int]
    #: Purchase scores (:func:`~app.marketing.offers.score_matrix`) and shared interests.
    scores: np.ndarray
    interests: np.ndarray
    rng: np.random.Generator = field(default_factory=np.random.default_rng)

    @classmethod
    def load(cls, session: Session, at: datetime | None = None, *, reason: str) -> OfferBook:
        """Read the purchase summaries and interests shared for profiling (one access-log
        entry; summaries found missing or stale are made again and stored) and score every
        category for everyone; forget the answers of customers who no longer allow learning."""
        at = at or utcnow()
        profiles = load_profiles(session)
        catalogue, population, own = summary_matrices(profiles.summaries, at)
        scores = scores_from(own, population, catalogue)
        interests = np.zeros(scores.shape, dtype=bool)
        column = {category: j for j, category in enumerate(catalogue)}
        rows = {cid: row for row, cid in enumerate(profiles.customers)}
        for cid, liked in profiles.interests.items():
            for category in liked:
                if category in column:
                    interests[rows[cid], column[category]] = True
        with transaction(session):
            store_summaries(session, HISTORY_FIELD, profiles.remade)
            forget(session)
            log_access(
                session,
                actor=ACTOR,
                purpose=PROFILING_PURPOSE,
                fields=[HISTORY_FIELD, INTERESTS_FIELD],
                customer_count=len(profiles.customers) + profiles.failures,
                reason=reason,
            )
        rng = np.random.default_rng(int(at.timestamp() * 1_000_000))
        return cls(at, population, catalogue, rows, scores, interests, rng)

    def choose(
        self,
        session: Session,
        customer_ids: Sequence[int],
        *,
        campaign_id: int | None = None,
        record: bool = True,
    ) -> dict[int, Offer]:
        """The next-best offer of each customer among ``customer_ids`` who may be profiled now
        (and was when the book was loaded); the offers made are added to the offer history
        in the caller's transaction (the variety rule and the learning read it)."""
        chosen = self._choose(session, customer_ids, campaign_id, record)
        return {cid: offer for cid, (offer, _) in chosen.items()}

    def _choose(
        self, session: Session, customer_ids: Sequence[int], campaign_id: int | None, record: bool
    ) -> dict[int, tuple[Offer, str]]:
        """:meth:`choose`, with each customer's language (read with the profiling check)."""
        languages = _profiled_languages(session, customer_ids)
        targets = [cid for cid in languages if cid in self.rows]
        catalogue = self.catalogue
        if not targets or not catalogue:
            return {}
        column = {offer_for(c).offer_id: i for i, c in enumerate(catalogue)}
        given = recent_offers(session, targets, self.at)
        rows = [self.rows[cid] for cid in targets]
        prior = prior_matrix(self.scores[rows], self.interests[rows])
        blocked = np.zeros(prior.shape, dtype=bool)
        for row, cid in enumerate(targets):
            for offer_id in given.get(cid, ()):
                if offer_id in column:
                    blocked[row, column[offer_id]] = True
        picks, at_random = thompson_choice(
            prior, taught(session, targets, column, self.at), blocked, self.rng
        )
        offers = [offer_for(c) for c in catalogue]
        chosen = {
            cid: (offers[pick], languages[cid])
            for cid, pick in zip(targets, picks, strict=True)
            if pick >= 0
        }
        if record and chosen:  # in the caller's transaction: with the entries they go to
            arms = {
                cid: "random" if r else "model" for cid, r in zip(targets, at_random, strict=True)
            }
            record_offers(
                session, {cid: o for cid, (o, _) in chosen.items()}, arms, campaign_id, self.at
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


def _profiled_languages(session: Session, customer_ids: Sequence[int]) -> dict[int, str]:
    """``{customer id: language}`` of those among ``customer_ids`` who may be profiled now
    (:func:`~app.marketing.eligibility.profiled_ids`), in id order."""
    query = (
        select(Customer.id, Customer.language)
        .where(profiling_allowed(), among(session, Customer.id, customer_ids))
        .order_by(Customer.id)
    )
    return {cid: language for cid, language in session.execute(query)}


def _book(session: Session, customer_ids: Sequence[int], at: datetime | None) -> OfferBook | None:
    """A book for a choice outside a campaign run (``None``: nobody among them is profiled)."""
    if not profiled_ids(session, among=customer_ids):
        return None
    return OfferBook.load(session, at, reason=f"next-best offers for {len(customer_ids)} customers")


def choose_offers(
    session: Session,
    customer_ids: Sequence[int],
    at: datetime | None = None,
    *,
    campaign_id: int | None = None,
    record: bool = True,
) -> dict[int, Offer]:
    """The next-best offer of each profiled customer among ``customer_ids`` (others: none)."""
    book = _book(session, customer_ids, at)
    if book is None:
        return {}
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
    it loaded once. The payload is the same for everyone given an offer in one language, so
    each is encoded once.
    """
    if book is None:
        book = _book(session, customer_ids, at)
        if book is None:
            return {}
        with transaction(session):
            chosen = book._choose(session, customer_ids, campaign_id, True)
    else:
        chosen = book._choose(session, customer_ids, campaign_id, True)
    encoded: dict[tuple[str, str], str] = {}
    payloads = {}
    for cid, (offer, language) in chosen.items():
        key = (offer.offer_id, language)
        if key not in encoded:
            encoded[key] = json.dumps(
                {"offer": offer.text(language or "en"), "offer_id": offer.offer_id},
                ensure_ascii=False,
            )
        payloads[cid] = encoded[key]
    return payloads
