"""Withdrawals that arrive through messages: one-click unsubscribe and SMS STOP replies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.channels.sms import is_stop_request
from app.customers.models import Customer
from app.delivery.recording import suppress
from app.delivery.tokens import UnsubscribeRequest, read_unsubscribe_token
from app.errors import InvalidInput
from app.ledger.consent import withdraw
from app.ledger.models import ConsentState
from app.outbox.models import OutboxEntry
from app.transaction import transaction


def _withdraw_once(
    session: Session, customer: Customer, purpose: str, channel: str, source: str, method: str
) -> bool:
    state = session.get(ConsentState, (customer.id, purpose, channel))
    if state is not None and state.status in {"withdrawn", "none"}:
        return False
    withdraw(
        session,
        customer,
        purpose=purpose,
        channel=channel,
        source=source,
        method=method,
        actor="customer",
    )
    return True


def unsubscribe(session: Session, token: str) -> UnsubscribeRequest:
    """Withdraw the consent a one-click token names (idempotent: twice is still once)."""
    request = read_unsubscribe_token(token)
    customer = session.scalar(select(Customer).where(Customer.ref == request.customer_ref))
    if customer is None or customer.erased_at is not None:
        return request  # nothing left to withdraw from; answer as done
    _withdraw_once(
        session, customer, request.purpose, request.channel, "one_click_unsubscribe", "one_click"
    )
    return request


def describe(token: str) -> UnsubscribeRequest:
    """What a token would unsubscribe from (for the landing page); raises on a bad token."""
    return read_unsubscribe_token(token)


def handle_sms_reply(
    session: Session, text: str, message_id: str | None, token: str | None
) -> bool:
    """Act on an inbound SMS: a STOP word withdraws and suppresses SMS; True when it did."""
    if not is_stop_request(text):
        return False
    customer, purpose = _reply_target(session, message_id, token)
    _withdraw_once(session, customer, purpose, "sms", "sms", "sms_reply")
    with transaction(session):
        suppress(session, customer.id, "sms", "sms_stop", "sms", "STOP reply")
    return True


def _reply_target(
    session: Session, message_id: str | None, token: str | None
) -> tuple[Customer, str]:
    if token:
        request = read_unsubscribe_token(token)
        customer = session.scalar(select(Customer).where(Customer.ref == request.customer_ref))
        purpose = request.purpose
    elif message_id:
        row = session.execute(
            select(OutboxEntry.customer_id, OutboxEntry.purpose).where(
                OutboxEntry.message_id == message_id, OutboxEntry.channel == "sms"
            )
        ).first()
        customer = session.get(Customer, row.customer_id) if row else None
        purpose = row.purpose if row else ""
    else:
        raise InvalidInput("An SMS reply needs the message_id it answers (or a token).")
    if customer is None or customer.erased_at is not None:
        raise InvalidInput("The SMS reply does not match a message we sent.")
    return customer, purpose
