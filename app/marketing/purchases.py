"""Recording one purchase reported by another system, in the customer's purchase history.

Purchases are kept where the value models read them: the customer's encrypted
``purchase_history`` field (the vault's purchase model, at most ``MAX_PURCHASES`` entries, the
oldest dropped first). A purchase is stored only when the customer shares their purchase
history for a purpose that uses it (data minimisation); otherwise nothing is written and the
reason is given. The order reference identifies the purchase: reporting it again stores
nothing new.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import InvalidInput
from app.services import policy_for
from app.vault.fields import MAX_PURCHASES
from app.vault.models import SharingChoice
from app.vault.service import read_own_profile, update_field

FIELD = "purchase_history"


@dataclass(frozen=True, slots=True)
class PurchaseOutcome:
    """Whether the purchase was stored, and why not."""

    stored: bool
    reason: str | None = None


def purposes_using_purchases(customer: Customer) -> set[str]:
    """The purposes of the customer's policy that may use their purchase history."""
    policy = policy_for(customer.jurisdiction)
    if policy is None:
        return set()
    return {pid for pid, purpose in policy.purposes.items() if FIELD in purpose.fields}


def shares_purchases(session: Session, customer: Customer) -> bool:
    """Whether the customer shares their purchase history for a purpose that uses it."""
    using = purposes_using_purchases(customer)
    shared = session.scalars(
        select(SharingChoice.purpose).where(
            SharingChoice.customer_id == customer.id,
            SharingChoice.field == FIELD,
            SharingChoice.shared.is_(True),
        )
    )
    return bool(using & set(shared))


def record_purchase(
    session: Session,
    customer: Customer,
    *,
    at: datetime,
    amount_cents: int,
    category: str,
    order_reference: str,
    actor: str,
) -> PurchaseOutcome:
    """Add one purchase to the customer's history when they share it; see the module text."""
    if at.tzinfo is None:
        raise InvalidInput("A purchase time needs a time zone offset, like Z.")
    if not shares_purchases(session, customer):
        return PurchaseOutcome(
            False, "the customer does not share their purchase history for a purpose that uses it"
        )
    held = read_own_profile(session, customer).get(FIELD) or "[]"
    rows = json.loads(held)
    if any(row.get("sku") == order_reference for row in rows):
        return PurchaseOutcome(True, None)
    moment = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows.append(
        {"sku": order_reference, "category": category, "amount_cents": amount_cents, "at": moment}
    )
    update_field(
        session, customer, FIELD, rows[-MAX_PURCHASES:], actor=actor, reason="purchase reported"
    )
    return PurchaseOutcome(True, None)
