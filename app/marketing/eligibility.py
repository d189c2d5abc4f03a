"""Who may be profiled: the customers whose purchase history the marketing models may read.

Profiling (value scores, next-best offers) needs all of: consent for the profiling purpose
``recommendations`` currently granted (on any channel), ``purchase_history`` shared for that
purpose and held, no objection to direct marketing, and not erased.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session, aliased

from app.campaigns.shared_values import shared_values
from app.customers.models import Customer
from app.ledger.models import ConsentState
from app.vault.models import ProfileField, SharingChoice

PROFILING_PURPOSE = "recommendations"
HISTORY_FIELD = "purchase_history"
BATCH = 1000


def profiling_allowed() -> ColumnElement[bool]:
    """SQL condition (correlated to ``customers``): the customer may be profiled now."""
    state, choice, held = aliased(ConsentState), aliased(SharingChoice), aliased(ProfileField)
    consented = exists(
        select(state.customer_id).where(
            state.customer_id == Customer.id,
            state.purpose == PROFILING_PURPOSE,
            state.status == "granted",
        )
    ).correlate(Customer)
    shared = exists(
        select(choice.customer_id).where(
            choice.customer_id == Customer.id,
            choice.field == HISTORY_FIELD,
            choice.purpose == PROFILING_PURPOSE,
            choice.shared.is_(True),
        )
    ).correlate(Customer)
    has_history = exists(
        select(held.customer_id).where(held.customer_id == Customer.id, held.field == HISTORY_FIELD)
    ).correlate(Customer)
    return and_(
        Customer.erased_at.is_(None),
        Customer.objected_at.is_(None),
        consented,
        shared,
        has_history,
    )


def profiled_ids(session: Session, among: Sequence[int] | None = None) -> list[int]:
    """Ids of the customers who may be profiled (optionally only those in ``among``)."""
    query = select(Customer.id).where(profiling_allowed()).order_by(Customer.id)
    if among is not None:
        query = query.where(Customer.id.in_(list(among)))
    return list(session.scalars(query))


def histories(session: Session, customer_ids: Sequence[int]) -> Iterator[tuple[int, str]]:
    """``(customer id, decrypted purchase history)`` for each id, in batches; never stored."""
    for start in range(0, len(customer_ids), BATCH):
        part = customer_ids[start : start + BATCH]
        values = shared_values(session, part, {HISTORY_FIELD}, PROFILING_PURPOSE)
        for customer_id in part:
            raw = values.get(customer_id, {}).get(HISTORY_FIELD)
            if raw is not None:
                yield customer_id, raw
