"""What customers teach about offers: shows, clicks and "more / less like this", kept only
while they allow it.

Learning is allowed while the customer grants ``recommendations`` and shares their purchase
history for it, has not objected and is not erased (:func:`~.eligibility.learning_allowed`).
A click through an offer link or feedback in the portal is recorded only then; otherwise it is
dropped and the caller is told why. :func:`forget` deletes the affinities, and the responses
in the offer history, of everyone who no longer allows it (each offer choice calls it first).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.delivery.models import OutboxEntry
from app.errors import InvalidInput, NotFound
from app.marketing.eligibility import learning_allowed, may_learn
from app.marketing.models import OfferAffinity, OfferHistory
from app.marketing.offers import Taught
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.models import Customer

RESPONSES = ("click", "more", "less")
#: The affinity column each response adds one to.
COUNTERS = {"click": "clicked", "more": "more", "less": "less"}


def _upsert(session: Session):
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(OfferAffinity)


def count_shown(session: Session, offers: Mapping[int, str], at: datetime) -> None:
    """Add one show to each ``{customer: offer id}`` (in the caller's transaction)."""
    if not offers:
        return
    table = OfferAffinity.__table__
    statement = _upsert(session)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.customer_id, table.c.offer_id],
        set_={"shown": table.c.shown + 1, "updated_at": statement.excluded.updated_at},
    )
    rows = [
        {"customer_id": cid, "offer_id": offer_id, "shown": 1, "clicked": 0, "more": 0,
         "less": 0, "updated_at": at}
        for cid, offer_id in offers.items()
    ]  # fmt: skip
    session.execute(statement, rows)


def taught(session: Session, customer_ids: Sequence[int], column: Mapping[str, int]) -> Taught:
    """The affinity counts of ``customer_ids`` (rows, in order) by offer ``column``."""
    found = Taught.nothing((len(customer_ids), len(column)))
    row_of = {cid: i for i, cid in enumerate(customer_ids)}
    a = OfferAffinity
    query = select(a.customer_id, a.offer_id, a.shown, a.clicked, a.more, a.less).where(
        a.customer_id.in_(list(customer_ids))
    )
    for cid, offer_id, shown, clicked, more, less in session.execute(query):
        j = column.get(offer_id)
        if j is None:
            continue  # an offer no longer in the catalogue
        i = row_of[cid]
        found.shown[i, j], found.clicked[i, j] = shown, clicked
        found.more[i, j], found.less[i, j] = more, less
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
        if not getattr(answered, "rowcount", 0):
            return False
        counter = COUNTERS[response]
        table = OfferAffinity.__table__
        statement = _upsert(session).on_conflict_do_update(
            index_elements=[table.c.customer_id, table.c.offer_id],
            set_={counter: table.c[counter] + 1, "updated_at": at},
        )
        values = {"shown": 1, "clicked": 0, "more": 0, "less": 0} | {counter: 1}
        session.execute(
            statement,
            [{"customer_id": history.customer_id, "offer_id": history.offer_id,
              "updated_at": at, **values}],
        )  # fmt: skip
    return True


def customer_offer(session: Session, customer: Customer, history_id: int) -> OfferHistory:
    """One offer made to ``customer`` (404 for anyone else's)."""
    row = session.get(OfferHistory, history_id)
    if row is None or row.customer_id != customer.id:
        raise NotFound("No such offer.")
    return row


def forget(session: Session) -> int:
    """Delete the affinities and clear the responses of customers who no longer allow
    learning (in the caller's transaction); returns the affinity rows deleted."""
    allowed = exists(select(Customer.id).where(Customer.id == OfferAffinity.customer_id,
                                               learning_allowed()))  # fmt: skip
    deleted = session.execute(delete(OfferAffinity).where(not_(allowed)))
    answered_allowed = exists(
        select(Customer.id).where(Customer.id == OfferHistory.customer_id, learning_allowed())
    )
    session.execute(
        update(OfferHistory)
        .where(and_(OfferHistory.response.is_not(None), not_(answered_allowed)))
        .values(response=None, responded_at=None)
    )
    return int(getattr(deleted, "rowcount", 0) or 0)


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
