"""Recording purchases as they happen (events, CSV imports), only where the customer allows it.

A purchase is kept in the customer's encrypted ``purchase_history`` only while they allow
learning for recommendations (:func:`~app.marketing.eligibility.learning_allowed`): consent for
``recommendations`` granted on some channel, ``purchase_history`` shared for it, no objection
to direct marketing, not erased. Otherwise nothing is kept and the answer says why, so the
caller (the purchase-events API, ``flask purchases import``) can report it:

=============  ============================================================
reason         meaning
=============  ============================================================
``stored``     added to the purchase history
``duplicate``  the same purchase (sku, category, amount, time) is already held
``erased``     the customer's data was erased (or is being erased)
``objected``   the customer objected to direct marketing
``no_consent`` no granted consent for ``recommendations``
``not_shared`` purchase history not shared for ``recommendations``
=============  ============================================================

The history keeps the newest :data:`~app.vault.fields.MAX_PURCHASES` purchases; the offer
choice's summary of it (:mod:`.purchase_summaries`) is sealed and written with it. Appending is
not a rectification: the previous value is a part of the new one, so no copy goes to the
field's history. The row is locked while it is rewritten, so concurrent purchases of one
customer are all kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import InvalidInput, NotFound
from app.ledger.models import ConsentState
from app.marketing.eligibility import HISTORY_FIELD, PROFILING_PURPOSE
from app.marketing.purchase_summaries import seal_purchase_summary
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.derived import store_summaries
from app.vault.fields import MAX_PURCHASES
from app.vault.models import ProfileField, SharingChoice
from app.vault.service import CustomerErased, log_access, open_cipher, validate_profile

ACTOR = "marketing:purchases"
REASONS = ("stored", "duplicate", "erased", "objected", "no_consent", "not_shared")


@dataclass(frozen=True, slots=True)
class PurchasesRecorded:
    """The answer for one customer's purchases: how many were stored, and why not the rest."""

    stored: int
    duplicates: int
    reason: str

    @property
    def message(self) -> str:
        """One sentence for the caller (never a personal value)."""
        return MESSAGES[self.reason]


MESSAGES = {
    "stored": "Stored in the customer's purchase history.",
    "duplicate": "Already held: the same purchase was recorded before.",
    "erased": "Not stored: the customer's data was erased.",
    "objected": "Not stored: the customer objected to direct marketing.",
    "no_consent": "Not stored: the customer has not consented to recommendations.",
    "not_shared": "Not stored: the customer does not share purchase history for recommendations.",
}


def customer_by_ref(session: Session, customer_ref: str) -> Customer:
    """The customer with the pseudonymous ``customer_ref``; 404 otherwise."""
    customer = session.scalar(select(Customer).where(Customer.ref == str(customer_ref)))
    if customer is None:
        raise NotFound("No customer with this reference.")
    return customer


def refusal(session: Session, customer: Customer) -> str | None:
    """Why nothing the customer does may be kept now (a reason of :data:`REASONS`), or
    ``None`` when it may."""
    if customer.erased_at is not None or customer.erasure_requested_at is not None:
        return "erased"
    if customer.objected_at is not None:
        return "objected"
    granted = session.scalar(
        select(ConsentState.customer_id).where(
            ConsentState.customer_id == customer.id,
            ConsentState.purpose == PROFILING_PURPOSE,
            ConsentState.status == "granted",
        )
    )
    if granted is None:
        return "no_consent"
    shared = session.scalar(
        select(SharingChoice.shared).where(
            SharingChoice.customer_id == customer.id,
            SharingChoice.field == HISTORY_FIELD,
            SharingChoice.purpose == PROFILING_PURPOSE,
        )
    )
    return None if shared else "not_shared"


def clean_purchases(purchases: Sequence[Mapping[str, object]]) -> list[dict]:
    """The purchases normalised (``{sku, category, amount_cents, at}``); raises
    ``InvalidInput`` saying what is wrong."""
    if not purchases:
        raise InvalidInput("No purchase given.")
    if len(purchases) > MAX_PURCHASES:
        raise InvalidInput(f"Give at most {MAX_PURCHASES} purchases at once.")
    clean = validate_profile({HISTORY_FIELD: [dict(p) for p in purchases]})
    return json.loads(clean[HISTORY_FIELD])


def record_purchases(
    session: Session, customer: Customer, purchases: Sequence[Mapping[str, object]], source: str
) -> PurchasesRecorded:
    """Add ``purchases`` (``{sku, category, amount_cents, at}`` each) to the customer's
    history if they allow it; ``source`` (``api``, ``import``…) goes to the access log."""
    rows = clean_purchases(purchases)
    with transaction(session):
        reason = refusal(session, customer)
        if reason is not None:
            return PurchasesRecorded(0, 0, reason)
        try:
            cipher = open_cipher(session, customer)
        except CustomerErased:
            return PurchasesRecorded(0, 0, "erased")
        field = session.scalar(
            select(ProfileField)
            .where(ProfileField.customer_id == customer.id, ProfileField.field == HISTORY_FIELD)
            .with_for_update()
        )
        held = json.loads(cipher.decrypt(HISTORY_FIELD, field.ciphertext)) if field else []
        keys = {json.dumps(p, sort_keys=True) for p in held}
        new = []
        for row in rows:
            key = json.dumps(row, sort_keys=True)
            if key not in keys:
                keys.add(key)
                new.append(row)
        if not new:
            return PurchasesRecorded(0, len(rows), "duplicate")
        history = sorted(held + new, key=lambda p: (p["at"], p["sku"]))[-MAX_PURCHASES:]
        value = validate_profile({HISTORY_FIELD: history})[HISTORY_FIELD]
        if field is None:
            field = ProfileField(customer_id=customer.id, field=HISTORY_FIELD, ciphertext=b"")
            session.add(field)
        else:
            field.version += 1
        field.ciphertext = cipher.encrypt(HISTORY_FIELD, value)
        field.updated_at = utcnow()
        _, sealed = seal_purchase_summary(cipher, customer.id, field.ciphertext, value)
        store_summaries(session, HISTORY_FIELD, [sealed])
        log_access(
            session,
            actor=ACTOR,
            purpose=PROFILING_PURPOSE,
            fields=[HISTORY_FIELD],
            customer_count=1,
            customer_ref=customer.ref,
            reason=f"{len(new)} purchases recorded ({source})",
        )
    return PurchasesRecorded(len(new), len(rows) - len(new), "stored")


def record_purchase(
    session: Session,
    customer_ref: str,
    *,
    sku: str,
    category: str,
    amount_cents: int,
    at: str,
    source: str = "api",
) -> PurchasesRecorded:
    """Record one purchase event of the customer ``customer_ref`` (see the module docstring
    for the answer's reasons). Raises ``NotFound`` for an unknown customer and
    ``InvalidInput`` for a malformed purchase (a 404 / 400 for the API)."""
    customer = customer_by_ref(session, customer_ref)
    item = {"sku": sku, "category": category, "amount_cents": amount_cents, "at": at}
    return record_purchases(session, customer, [item], source)
