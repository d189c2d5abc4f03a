"""Reading what the offer choice needs of every profiled customer: one data key each.

For each customer who may be profiled now (:func:`~.eligibility.learning_allowed`, with a
purchase history held), one query returns their sealed purchase summary if it was made from
the history held now, else the history itself (:mod:`app.vault.derived`), and the interests
they shared for recommendations, if any. Each customer's data key is unwrapped once and opens
both. A missing or stale summary is made from the history and returned sealed, for the caller
to store in its transaction. Nothing decrypted is stored or logged here; customers whose
values do not decrypt are left out (counted in a warning), as erased customers are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import and_, case, null, select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.marketing.eligibility import HISTORY_FIELD, PROFILING_PURPOSE, learning_allowed
from app.marketing.purchase_summaries import Summary, parse_summaries, seal_purchase_summary
from app.runtime import runtime
from app.vault.derived import Sealed, open_summary, source_matches
from app.vault.envelope import FieldCipher
from app.vault.errors import VaultError
from app.vault.keystore import wrapped_keys
from app.vault.models import FieldSummary, ProfileField, SharingChoice

log = logging.getLogger("assenso.marketing")

INTERESTS_FIELD = "interests"
#: Customers read (and whose keys are fetched) at once.
BATCH = 5000


@dataclass
class Profiles:
    """The profiled customers' purchase summaries and shared interests, in customer order."""

    customers: list[int] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    interests: dict[int, frozenset[str]] = field(default_factory=dict)
    #: Summaries made again from the history (missing or stale), sealed, to be stored.
    remade: list[Sealed] = field(default_factory=list)
    failures: int = 0


def _query():
    """Core columns only: each row is a plain tuple (an ORM row costs more than its use)."""
    customer = Customer.__table__.c
    history, choice = ProfileField.__table__.alias(), SharingChoice.__table__.alias()
    liked, summary = ProfileField.__table__.alias(), FieldSummary.__table__.alias()
    fresh = source_matches(summary.c.source, history.c.ciphertext)
    return (
        select(
            customer.id,
            customer.ref,
            case((fresh, summary.c.ciphertext), else_=null()),
            case((fresh, null()), else_=history.c.ciphertext),
            liked.c.ciphertext,
        )
        .join(
            history,
            and_(history.c.customer_id == customer.id, history.c.field == HISTORY_FIELD),
        )
        .outerjoin(
            summary,
            and_(summary.c.customer_id == customer.id, summary.c.field == HISTORY_FIELD),
        )
        .outerjoin(
            choice,
            and_(
                choice.c.customer_id == customer.id,
                choice.c.field == INTERESTS_FIELD,
                choice.c.purpose == PROFILING_PURPOSE,
                choice.c.shared.is_(True),
            ),
        )
        .outerjoin(
            liked,
            and_(liked.c.customer_id == choice.c.customer_id, liked.c.field == INTERESTS_FIELD),
        )
        .where(learning_allowed())
        .order_by(customer.id)
    )


def load_profiles(session: Session) -> Profiles:
    """Every profiled customer's purchase summary and shared interests (see the module)."""
    profiles = Profiles()
    result = session.execute(_query().execution_options(yield_per=BATCH))
    try:
        for part in result.partitions():
            _read(session, part, profiles)
    finally:
        result.close()
    if profiles.failures:
        log.warning("offers: %s customers' purchases could not be decrypted", profiles.failures)
    return profiles


def _read(session: Session, rows, profiles: Profiles) -> None:
    keys = wrapped_keys(session, [row[0] for row in rows])  # key store; erased: absent
    keyring = runtime().vault_keys
    texts: list[str | Summary] = []
    for customer_id, ref, sealed, history, liked in rows:
        if customer_id not in keys:
            continue
        try:
            cipher = FieldCipher.open(keyring, ref, keys[customer_id])
            if sealed is not None:
                text: str | Summary = open_summary(cipher, HISTORY_FIELD, sealed)
            else:
                raw = cipher.decrypt(HISTORY_FIELD, history)
                text, remade = seal_purchase_summary(cipher, customer_id, history, raw)
                profiles.remade.append(remade)
            interests = cipher.decrypt(INTERESTS_FIELD, liked) if liked is not None else ""
        except VaultError:
            profiles.failures += 1
            continue
        profiles.customers.append(customer_id)
        texts.append(text)
        if interests:
            profiles.interests[customer_id] = frozenset(interests.split(","))
    profiles.summaries.extend(parse_summaries(texts))
