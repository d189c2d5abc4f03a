"""Consent choices from the portal: the overview, giving (with the notice), withdrawing, objecting.

Giving consent always names the exact notice version the customer read; channels whose policy
asks for double opt-in stay *pending* until the link in the confirmation message is followed.
Withdrawal is one call and is never refused because a form was stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import Conflict, InvalidInput
from app.ledger import consent as ledger
from app.ledger.consent import Evidence
from app.ledger.drafts import EventDraft
from app.ledger.models import ConsentState, Notice
from app.ledger.notices import current_notice
from app.policy_sets.in_force import policy_for
from app.transaction import transaction
from app.vault.service import read_own_profile

ACTIVE = ("granted", "pending")


@dataclass(frozen=True)
class ChannelChoice:
    """The customer's consent for one purpose on one channel, as the page shows it."""

    purpose: str
    channel: str
    status: str  # granted | pending | withdrawn | expired | none
    version: int
    granted_at: datetime | None
    expires_at: datetime | None
    notice_version: int | None


@dataclass(frozen=True)
class PurposeConsents:
    """One marketing purpose with its label, description, fields and per-channel choices."""

    purpose: str
    label: str
    description: str
    fields: tuple[str, ...]
    choices: tuple[ChannelChoice, ...]


def _policy(jurisdiction: str):
    policy = policy_for(jurisdiction)
    if policy is None:
        raise InvalidInput("No policy governs your country; nothing can be recorded.")
    return policy


def consent_purposes(jurisdiction: str) -> list[str]:
    """Purposes that need the customer's choice (service messages need none)."""
    policy = _policy(jurisdiction)
    return [p.id for p in policy.purposes.values() if not p.transactional]


def channels_for(jurisdiction: str) -> list[str]:
    """The channels the policy of ``jurisdiction`` knows, in policy order."""
    return list(_policy(jurisdiction).channels)


def labels_for(jurisdiction: str, language: str) -> dict[str, str]:
    """Every purpose's label in ``language`` (English, else the purpose id, as a fallback)."""
    return {
        purpose.id: purpose.labels.get(language) or purpose.labels.get("en") or purpose.id
        for purpose in _policy(jurisdiction).purposes.values()
    }


def purpose_label(customer: Customer, purpose: str, language: str | None = None) -> str:
    """The purpose's label in ``language`` (default: the customer's), else English."""
    return labels_for(customer.jurisdiction, language or customer.language).get(purpose, purpose)


def check_choices(jurisdiction: str, choices: Iterable[tuple[str, str]]) -> None:
    """Refuse a purpose or channel the policy does not offer."""
    policy = _policy(jurisdiction)
    allowed = set(consent_purposes(jurisdiction))
    for purpose, channel in choices:
        if purpose not in allowed or channel not in policy.channels:
            raise InvalidInput("That choice is not offered.")


def overview(session: Session, customer: Customer, language: str) -> list[PurposeConsents]:
    """Every marketing purpose x channel with its current state, in policy order."""
    policy = _policy(customer.jurisdiction)
    states = {
        (s.purpose, s.channel): s
        for s in session.scalars(
            select(ConsentState).where(ConsentState.customer_id == customer.id)
        )
    }
    result = []
    for purpose_id in consent_purposes(customer.jurisdiction):
        purpose = policy.purposes[purpose_id]
        choices = tuple(
            _choice(purpose_id, channel, states.get((purpose_id, channel)))
            for channel in policy.channels
        )
        result.append(
            PurposeConsents(
                purpose_id,
                purpose_label(customer, purpose_id, language),
                purpose.description,
                tuple(sorted(purpose.fields)),
                choices,
            )
        )
    return result


def _choice(purpose: str, channel: str, state: ConsentState | None) -> ChannelChoice:
    if state is None:
        return ChannelChoice(purpose, channel, "none", 0, None, None, None)
    return ChannelChoice(
        purpose,
        channel,
        state.status,
        int(state.last_seq),
        state.granted_at,
        state.expires_at,
        state.notice_version,
    )


def notice_for(session: Session, customer: Customer, purpose: str, language: str) -> Notice:
    """The notice in force for ``purpose`` in ``language`` (English as a fallback)."""
    if purpose not in consent_purposes(customer.jurisdiction):
        raise InvalidInput("That choice is not offered.")
    return current_notice(session, purpose, language)


def notice_shown(session: Session, purpose: str, notice_id: int) -> Notice:
    """The notice the customer read for ``purpose``; refused unless it is the one in force."""
    notice = session.get(Notice, notice_id) if isinstance(notice_id, int) else None
    if notice is None or notice.purpose != purpose:
        raise InvalidInput("Please read the notice before agreeing.")
    if current_notice(session, purpose, notice.language).id != notice.id:
        raise Conflict("The notice was updated since you opened the page. Please read it again.")
    return notice


def give(
    session: Session,
    customer: Customer,
    *,
    purpose: str,
    channel: str,
    notice_id: int,
    expected_version: int,
    evidence: Evidence,
    send: bool = True,
) -> str | None:
    """Record consent under the notice shown; returns the double opt-in token when pending.

    Refuses when the notice shown is no longer the one in force, or when the choice changed in
    another window since the page was shown.
    """
    check_choices(customer.jurisdiction, [(purpose, channel)])
    notice = notice_shown(session, purpose, notice_id)
    state = session.get(ConsentState, (customer.id, purpose, channel))
    if (int(state.last_seq) if state else 0) != expected_version:
        raise Conflict("This choice was changed in another window. Reload to see it.")
    if channel == "sms" and "phone" not in read_own_profile(session, customer):
        raise InvalidInput("Add a mobile number on the My data page first.")
    _, token = ledger.grant(
        session,
        customer,
        purpose=purpose,
        channel=channel,
        notice=notice,
        source="portal",
        method="web_form",
        actor="customer",
        evidence=evidence,
    )
    if token and send:
        from app.self_service.mail import send_confirmations

        send_confirmations(session, customer, [(purpose_label(customer, purpose), channel, token)])
    return token


def withdraw(
    session: Session, customer: Customer, *, purpose: str, channel: str, evidence: Evidence
) -> bool:
    """Withdraw consent (or a pending request) in one step; False when nothing was active."""
    check_choices(customer.jurisdiction, [(purpose, channel)])
    state = session.get(ConsentState, (customer.id, purpose, channel))
    if state is None or state.status not in ACTIVE:
        return False
    ledger.withdraw(
        session,
        customer,
        purpose=purpose,
        channel=channel,
        source="portal",
        method="web_form",
        actor="customer",
        evidence=evidence,
    )
    return True


def object_to_all(session: Session, customer: Customer, *, evidence: Evidence) -> bool:
    """Object to all direct marketing (GDPR Art. 21); False when already objected."""
    if customer.objected_at is not None:
        return False
    ledger.object_to_direct_marketing(
        session, customer, source="portal", method="web_form", actor="customer", evidence=evidence
    )
    return True


def confirm(session: Session, token: str) -> EventDraft:
    """Confirm a pending consent from its link; the address it reached counts as verified."""
    event = ledger.confirm_double_opt_in(session, token)
    customer = session.scalar(select(Customer).where(Customer.ref == event.customer_ref))
    if customer is not None:
        with transaction(session):
            if event.channel == "email":
                customer.email_verified = True
            elif event.channel == "sms":
                customer.phone_verified = True
    return event
