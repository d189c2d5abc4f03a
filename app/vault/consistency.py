"""Splits between the main database and the key store: finding and repairing them.

Sign-up and erasure write both stores in an order that an interruption cannot turn into a
silent split (:mod:`app.vault.registration`, :mod:`app.vault.erasure`); what an interruption
leaves behind, or what older versions and manual changes left, is found here by walking both
stores in ranges of customer ids, and repaired the way the interrupted step would have ended:

=====================  ==========================================  ===========================
kind                   what was found                              repair
=====================  ==========================================  ===========================
``signup-unfinished``  a sign-up still marked pending              undo it (customer, then key)
``erasure-unfinished`` an erasure asked for but not finished       finish it
``erased-key-remains`` an erased customer whose data key remains   destroy the key
``key-missing``        a customer without a data key               record the erasure that has
                                                                   in effect happened (nothing
                                                                   of theirs can be read)
``orphan-key``         a data key of no customer                   destroy the key
=====================  ==========================================  ===========================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.vault.erasure import erase_customer, finish_erasure
from app.vault.keystore import destroy_key, wrapped_keys
from app.vault.models import CustomerKey
from app.vault.registration import undo_registration

RANGE = 5000
REPAIRER = "flask vault check --repair"
DESCRIPTIONS = {
    "signup-unfinished": "sign-up not finished (undone by --repair)",
    "erasure-unfinished": "erasure asked for but not finished (finished by --repair)",
    "erased-key-remains": "erased customer whose data key remains (destroyed by --repair)",
    "key-missing": "customer without a data key, unreadable (recorded as erased by --repair)",
    "orphan-key": "data key of no customer (destroyed by --repair)",
}


@dataclass(frozen=True)
class Split:
    """One disagreement between the stores, about one customer id."""

    kind: str
    customer_id: int
    customer_ref: str | None

    def describe(self) -> str:
        """One line for operators (pseudonymous ids only)."""
        who = self.customer_ref or "(no customer)"
        return f"customer {self.customer_id} {who}: {DESCRIPTIONS[self.kind]}"


def find_splits(session: Session, range_size: int = RANGE) -> Iterator[Split]:
    """Every split, in customer id order; reads both stores one range of ids at a time."""
    last = 0
    while True:
        customers = session.execute(
            select(
                Customer.id,
                Customer.ref,
                Customer.registration_pending,
                Customer.erasure_requested_at.is_not(None),
                Customer.erased_at.is_not(None),
            )
            .where(Customer.id > last)
            .order_by(Customer.id)
            .limit(range_size)
        ).all()
        upper = customers[-1][0] if len(customers) == range_size else None
        in_range = CustomerKey.customer_id > last
        if upper is not None:
            in_range &= CustomerKey.customer_id <= upper
        keyed = set(session.scalars(select(CustomerKey.customer_id).where(in_range)))
        yield from _compare(customers, keyed)
        session.rollback()  # end the read transactions of both stores between ranges
        if upper is None:
            return
        last = upper


def _compare(customers, keyed: set[int]) -> Iterator[Split]:
    """The splits among one range of customers and the key ids in the same range."""
    for customer_id, ref, pending, requested, erased in customers:
        has_key = customer_id in keyed
        keyed.discard(customer_id)
        if erased:
            kind = "erased-key-remains" if has_key else None
        elif requested:
            kind = "erasure-unfinished"
        elif pending:
            kind = "signup-unfinished"
        else:
            kind = None if has_key else "key-missing"
        if kind:
            yield Split(kind, customer_id, ref)
    for customer_id in sorted(keyed):
        yield Split("orphan-key", customer_id, None)


def repair(session: Session, split: Split) -> None:
    """Repair one split as the interrupted step would have ended it (see the module table)."""
    if split.kind == "signup-unfinished":
        undo_registration(session, split.customer_id)
    elif split.kind == "erasure-unfinished":
        finish_erasure(
            session, split.customer_id, actor=REPAIRER, reason="finishes an interrupted erasure"
        )
    elif split.kind == "key-missing":
        customer = session.get(Customer, split.customer_id)
        missing = _key_now(session, split) is None
        if missing and customer is not None and customer.erased_at is None:
            erase_customer(
                session,
                customer,
                actor=REPAIRER,
                reason="the data key was missing from the key store: the data could not be read",
            )
    else:  # erased-key-remains, orphan-key: the key read now, never one written after
        key = _key_now(session, split)
        if key is not None and _still_split(session, split):
            destroy_key(session, split.customer_id, key.blob)


def _key_now(session: Session, split: Split):
    """The customer's wrapped key as the key store holds it now (or ``None``)."""
    key = wrapped_keys(session, [split.customer_id]).get(split.customer_id)
    session.rollback()
    return key


def _still_split(session: Session, split: Split) -> bool:
    """Whether the customer side still calls for destroying the key (re-read, not assumed)."""
    customer = session.get(Customer, split.customer_id)
    if split.kind == "orphan-key":
        found = customer is None
    else:
        found = customer is not None and customer.erased_at is not None
    session.rollback()
    return found


def repair_all(session: Session, progress: Callable[[Split], None] | None = None) -> int:
    """Find and repair every split; returns how many were repaired."""
    splits = list(find_splits(session))
    for split in splits:
        repair(session, split)
        if progress:
            progress(split)
    return len(splits)
