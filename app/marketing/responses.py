"""What customers teach about offers: clicks and "more / less like this", kept only while
they allow it.

Learning is allowed while the customer grants ``recommendations`` and shares their purchase
history for it, has not objected and is not erased (:func:`~.eligibility.learning_allowed`).
A click through an offer link or feedback in the portal is recorded on the offer's row of the
offer history only then; otherwise it is dropped and the caller is told why. :func:`forget`
clears the responses of everyone who no longer allows it (each offer choice calls it first).

:func:`taught` counts, per customer and offer, the offers made in the last
:data:`LEARNING_DAYS` days and their answers: the counts of the choice's Beta posteriors. One
table holds both what was offered and what was answered, so nothing is kept twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select, update
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import InvalidInput, NotFound
from app.marketing.eligibility import learning_allowed, may_learn
from app.marketing.models import OfferHistory
from app.marketing.offers import Taught
from app.models_base import among, utcnow
from app.outbox.models import OutboxEntry
from app.transaction import transaction

RESPONSES = ("click", "more", "less")
#: How far back the offer choice learns from offers made and their answers.
LEARNING_DAYS = 365


def taught(
    session: Session, customer_ids: Sequence[int], column: Mapping[str, int], at: datetime
) -> Taught:
    """Offers made to ``customer_ids`` (rows, in order) in the :data:`LEARNING_DAYS` before
    ``at`` and their answers, by offer ``column``."""
    found = Taught.nothing((len(customer_ids), len(column)))
    row_of = {cid: i for i, cid in enumerate(customer_ids)}
    h = OfferHistory.__table__.c
    query = (
        select(h.customer_id, h.offer_id, h.response, func.count())
        .where(
            among(session, h.customer_id, customer_ids),
            h.offered_at > at - timedelta(days=LEARNING_DAYS),
        )
        .group_by(h.customer_id, h.offer_id, h.response)
    )
    counters = {None: found.shown, "click": found.clicked, "more": found.more, "less": found.less}
    for cid, offer_id, response, count in session.execute(query):
        j = column.get(offer_id)
        target = counters.get(response)
        if j is not None and target is not None:
            i = row_of[cid]
            target[i, j] += count
            if response is not None:
                found.shown[i, j] += count
    return found


def record_response(
    session: Session, history: OfferHistory, response: str, at: datetime | None = None
) -> bool:
    """Record the customer's ``response`` to an offer they were given; ``False`` (nothing
    kept) when they do not allow learning or already answered this offer (a click may still
    be followed by "more" or "less", once)."""
    if response not in RESPONSES:
        raise InvalidInput(f"Unknown response {response!r}: use one of {', '.join(RESPONSES)}.")
    at = at or utcnow()
    with transaction(session):
        if not may_learn(session, history.customer_id):
            return False
        open_to: ColumnElement[bool] = OfferHistory.response.is_(None)
        if response != "click":
            open_to = or_(open_to, OfferHistory.response == "click")
        answered = session.execute(
            update(OfferHistory)
            .where(OfferHistory.id == history.id, open_to)
            .values(response=response, responded_at=at)
        )
    return bool(getattr(answered, "rowcount", 0))


def customer_offer(session: Session, customer: Customer, history_id: int) -> OfferHistory:
    """One offer made to ``customer`` (404 for anyone else's)."""
    row = session.get(OfferHistory, history_id)
    if row is None or row.customer_id != customer.id:
        raise NotFound("No such offer.")
    return row


def forget(session: Session) -> int:
    """Clear the responses of customers who no longer allow learning (in the caller's
    transaction); returns the offers whose response was cleared."""
    allowed = exists(
        select(Customer.id).where(Customer.id == OfferHistory.customer_id, learning_allowed())
    )
    cleared = session.execute(
        update(OfferHistory)
        .where(and_(OfferHistory.response.is_not(None), not_(allowed)))
        .values(response=None, responded_at=None)
    )
    return int(getattr(cleared, "rowcount", 0) or 0)


def offer_of_message(session: Session, entry_id: int) -> OfferHistory | None:
    """The offer made with the outbox entry ``entry_id`` (``None``: no such entry or offer)."""
    entry = session.get(OutboxEntry, entry_id)
    if entry is None or not entry.payload_json:
        return None
    try:
        offer_id = json.loads(entry.payload_json).get("offer_id")
    except (ValueError, AttributeError):
        return None
    query = (
        select(OfferHistory)
        .where(
            OfferHistory.customer_id == entry.customer_id,
            OfferHistory.campaign_id == entry.campaign_id,
            OfferHistory.offer_id == str(offer_id),
        )
        .order_by(OfferHistory.offered_at.desc(), OfferHistory.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def record_click(session: Session, entry_id: int) -> tuple[OfferHistory | None, bool]:
    """A click through the offer link of outbox entry ``entry_id``: the offer (if any) and
    whether the click was kept (only with consent to learning, first answer only)."""
    offer = offer_of_message(session, entry_id)
    if offer is None:
        return None, False
    return offer, record_response(session, offer, "click")


def offers_given(session: Session, customer: Customer, days: int = 90) -> list[OfferHistory]:
    """The offers made to ``customer`` in the last ``days`` days, newest first (their own
    view in the portal)."""
    query = (
        select(OfferHistory)
        .where(
            OfferHistory.customer_id == customer.id,
            OfferHistory.offered_at >= utcnow() - timedelta(days=days),
        )
        .order_by(OfferHistory.offered_at.desc(), OfferHistory.id.desc())
        .limit(50)
    )
    return list(session.scalars(query))
