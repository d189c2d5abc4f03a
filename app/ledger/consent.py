"""Consent services: grant, withdraw, object, double opt-in, expiry — each one ledger event.

Every change goes through :func:`record`, which appends the event and updates the consent
state in the same transaction (:func:`app.ledger.appender.record_change`). Each service
commits its change itself unless the caller says it owns the transaction
(``caller_owns_transaction=True``: the change joins the session's transaction and the caller
commits). Withdrawal is exactly as easy as giving: one call, from the portal or from a
one-click link in any message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import InvalidInput, NotFound
from app.ledger import appender
from app.ledger.drafts import EventDraft, new_record_id
from app.ledger.models import ConsentEvent, ConsentState, Notice
from app.ledger.opt_in_links import DOUBLE_OPT_IN_HOURS, double_opt_in_token, pending_record_id
from app.ledger.records import ALL
from app.ledger.writer import CustomerNow
from app.models_base import utcnow
from app.policy_sets.in_force import policy_for
from app.vault.service import open_cipher


@dataclass(frozen=True)
class Evidence:
    """How the request reached us; stored encrypted under the customer's own key.

    ``at`` is when the customer acted, as reported by the channel that took their choice (an
    integrator's form); the event's own time is when it was recorded.
    """

    ip_address: str | None = None
    user_agent: str | None = None
    at: str | None = None

    def sealed_for(self, session: Session, customer: Customer, record_id: str) -> bytes | None:
        """The evidence encrypted under the customer's data key (shredded on erasure)."""
        if not (self.ip_address or self.user_agent):
            return None
        fields = {"ip": self.ip_address, "user_agent": (self.user_agent or "")[:400]}
        if self.at is not None:
            fields["at"] = self.at
        payload = json.dumps(fields)
        return open_cipher(session, customer).encrypt(f"consent_evidence:{record_id}", payload)

    @classmethod
    def opened(
        cls, session: Session, customer: Customer, record_id: str, sealed: bytes
    ) -> Evidence:
        """The evidence sealed for ``record_id``, opened with the customer's data key (for the
        customer's own eyes: their export and receipts)."""
        cipher = open_cipher(session, customer)
        seen = json.loads(cipher.decrypt(f"consent_evidence:{record_id}", sealed))
        return cls(ip_address=seen.get("ip"), user_agent=seen.get("user_agent") or None)


def _policy_parts(customer: Customer, purpose: str, channel: str):
    return _policy_of(customer.jurisdiction, purpose, channel)


def _policy_of(jurisdiction: str, purpose: str, channel: str):
    policy = policy_for(jurisdiction)
    if policy is None:
        raise InvalidInput(f"No policy governs jurisdiction {jurisdiction!r}.")
    if purpose != ALL and purpose not in policy.purposes:
        raise InvalidInput(f"Unknown purpose {purpose!r}.")
    if channel != ALL and channel not in policy.channels:
        raise InvalidInput(f"Unknown channel {channel!r}.")
    return policy


def record(
    session: Session,
    customer: Customer,
    *,
    purpose: str,
    channel: str,
    action: str,
    source: str,
    method: str,
    actor: str,
    lawful_basis: str = "consent",
    notice: Notice | None = None,
    reason: str | None = None,
    expires_at: datetime | None = None,
    evidence: Evidence | None = None,
    caller_owns_transaction: bool = False,
) -> EventDraft:
    """Append one consent event for ``customer`` and update the state, in one transaction.

    The customer's reference, jurisdiction and language are read inside that transaction
    (an erasure committed a moment ago is seen). Returns the appended event (``seq`` and
    ``record_id`` set) without reading it back.
    """
    if customer.erased_at is not None:
        raise InvalidInput("This customer's data was erased.")
    notice_id, notice_version, notice_hash = (
        (notice.id, notice.version, notice.sha256) if notice else (None, None, None)
    )
    sealed = None
    record_id = new_record_id()
    if evidence is not None:
        sealed = evidence.sealed_for(session, customer, record_id)

    def draft_for(now: CustomerNow) -> EventDraft:
        return EventDraft(
            customer_ref=now.ref,
            purpose=purpose,
            channel=channel,
            action=action,
            lawful_basis=lawful_basis,
            method=method,
            source=source,
            actor=actor,
            jurisdiction=now.jurisdiction,
            language=now.language,
            reason=reason,
            expires_at=expires_at,
            notice_id=notice_id,
            notice_version=notice_version,
            notice_hash=notice_hash,
            evidence=sealed,
            record_id=record_id,
        )

    return appender.record_change(
        session,
        customer,
        draft_for,
        check=lambda now: _policy_of(now.jurisdiction, purpose, channel),
        caller_owns_transaction=caller_owns_transaction,
    )


def grant(
    session: Session,
    customer: Customer,
    *,
    purpose: str,
    channel: str,
    notice: Notice,
    source: str,
    method: str,
    actor: str,
    evidence: Evidence | None = None,
    reason: str | None = None,
    skip_double_opt_in: bool = False,
    caller_owns_transaction: bool = False,
) -> tuple[EventDraft, str | None]:
    """Give consent under ``notice``; returns the event and, for double opt-in, a link token.

    Where the channel requires double opt-in, the consent is only *pending* until the
    customer follows the link in the confirmation message.
    """
    policy = _policy_parts(customer, purpose, channel)
    if notice.purpose != purpose:
        raise InvalidInput("The notice shown does not belong to this purpose.")
    needs_doi = policy.channels[channel].double_opt_in and not skip_double_opt_in
    validity = policy.purposes[purpose].consent_validity_days
    now = utcnow()
    expires: datetime | None
    if needs_doi:
        action, expires = "double_opt_in_pending", now + timedelta(hours=DOUBLE_OPT_IN_HOURS)
    else:
        action, expires = "granted", now + timedelta(days=validity) if validity else None
    event = record(
        session,
        customer,
        purpose=purpose,
        channel=channel,
        action=action,
        source=source,
        method=method,
        actor=actor,
        notice=notice,
        evidence=evidence,
        reason=reason,
        expires_at=expires,
        caller_owns_transaction=caller_owns_transaction,
    )
    return event, double_opt_in_token(event.record_id) if needs_doi else None


def withdraw(
    session: Session,
    customer: Customer,
    *,
    purpose: str,
    channel: str,
    source: str,
    method: str,
    actor: str,
    evidence: Evidence | None = None,
    reason: str | None = None,
    caller_owns_transaction: bool = False,
) -> EventDraft:
    """Withdraw consent (GDPR Art. 7(3)); effective for every send claimed after commit."""
    return record(
        session,
        customer,
        purpose=purpose,
        channel=channel,
        action="withdrawn",
        source=source,
        method=method,
        actor=actor,
        evidence=evidence,
        reason=reason,
        caller_owns_transaction=caller_owns_transaction,
    )


def object_to_direct_marketing(
    session: Session,
    customer: Customer,
    *,
    source: str,
    method: str,
    actor: str,
    evidence: Evidence | None = None,
    reason: str | None = None,
    caller_owns_transaction: bool = False,
) -> EventDraft:
    """Object to all direct marketing (GDPR Art. 21): no marketing message on any channel."""
    return record(
        session,
        customer,
        purpose=ALL,
        channel=ALL,
        action="objected",
        source=source,
        method=method,
        actor=actor,
        evidence=evidence,
        reason=reason,
        lawful_basis="legitimate_interest",
        caller_owns_transaction=caller_owns_transaction,
    )


def withdraw_objection(
    session: Session,
    customer: Customer,
    *,
    source: str,
    method: str,
    actor: str,
    evidence: Evidence | None = None,
    reason: str | None = None,
) -> EventDraft:
    """Withdraw the objection to direct marketing: the consents still given count again."""
    return record(
        session,
        customer,
        purpose=ALL,
        channel=ALL,
        action="objection_withdrawn",
        source=source,
        method=method,
        actor=actor,
        evidence=evidence,
        reason=reason,
        lawful_basis="legitimate_interest",
    )


def confirm_double_opt_in(session: Session, token: str) -> EventDraft:
    """Confirm a pending consent from the link in the confirmation message."""
    record_id = pending_record_id(token)
    pending = session.scalar(select(ConsentEvent).where(ConsentEvent.record_id == record_id))
    if pending is None or pending.action != "double_opt_in_pending":
        raise NotFound("This confirmation link is not valid.")
    customer = session.scalar(select(Customer).where(Customer.ref == pending.customer_ref))
    state = (
        session.get(ConsentState, (customer.id, pending.purpose, pending.channel))
        if customer
        else None
    )
    if (
        customer is None
        or state is None
        or state.status != "pending"
        or state.last_seq != pending.seq
    ):
        raise InvalidInput("This request was already confirmed, cancelled or replaced.")
    policy = _policy_parts(customer, pending.purpose, pending.channel)
    validity = policy.purposes[pending.purpose].consent_validity_days
    notice = session.get(Notice, pending.notice_id) if pending.notice_id else None
    now = utcnow()
    return record(
        session,
        customer,
        purpose=pending.purpose,
        channel=pending.channel,
        action="confirmed",
        source="portal",
        method="email_link",
        actor="customer",
        notice=notice,
        expires_at=now + timedelta(days=validity) if validity else None,
    )


def expire_due(session: Session, now: datetime | None = None, limit: int = 1000) -> int:
    """Record expiry of granted consents past their date and of unconfirmed opt-ins."""
    moment = now or utcnow()
    rows = session.execute(
        select(ConsentState, Customer)
        .join(Customer, Customer.id == ConsentState.customer_id)
        .where(
            ConsentState.status.in_(("granted", "pending")),
            ConsentState.expires_at.is_not(None),
            ConsentState.expires_at <= moment,
            Customer.erased_at.is_(None),
        )
        .limit(limit)
    ).all()
    for state, customer in rows:
        action = "expired" if state.status == "granted" else "cancelled"
        record(
            session,
            customer,
            purpose=state.purpose,
            channel=state.channel,
            action=action,
            source="system",
            method="system",
            actor="system",
            reason="consent validity ended" if action == "expired" else "confirmation link expired",
            lawful_basis=state.lawful_basis or "consent",
        )
    return len(rows)
