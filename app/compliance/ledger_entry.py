"""One ledger entry as the console shows it: the event, its notice, its proof and a check.

The page of an entry answers "what exactly was recorded, and can it be proven?" without a
download: the canonical record (the Merkle leaf data), the notice text the customer was shown,
the inclusion proof and the signed checkpoint it leads to, and the outcome of the same offline
verification a receipt's holder would run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import NotFound
from app.ledger.models import ConsentEvent
from app.ledger.proofs import public_checkpoint, receipt_for
from app.ledger.receipt_verify import ReceiptVerification, verify_receipt


@dataclass(frozen=True)
class LedgerEntry:
    """A ledger event with its receipt (record, notice, proof, checkpoint) and its check."""

    event: ConsentEvent
    receipt: dict[str, Any]
    verification: ReceiptVerification
    customer_id: int | None

    @property
    def notice(self) -> dict[str, Any] | None:
        """The notice shown when the event was recorded (text and SHA-256), if any."""
        return self.receipt["notice"]


def consent_event(session: Session, record_id: str) -> ConsentEvent:
    """The event whose record id is ``record_id``, or :class:`NotFound`."""
    event = session.scalar(select(ConsentEvent).where(ConsentEvent.record_id == record_id))
    if event is None:
        raise NotFound("No such consent record.")
    return event


def ledger_entry(session: Session, record_id: str) -> LedgerEntry:
    """The entry whose record id is ``record_id``, or :class:`NotFound`."""
    event = consent_event(session, record_id)
    receipt = receipt_for(session, record_id)
    key = public_checkpoint(session)["public_key_pem"]
    customer_id = session.scalar(select(Customer.id).where(Customer.ref == event.customer_ref))
    return LedgerEntry(event, receipt, verify_receipt(receipt, key), customer_id)
