"""Customer accounts from the portal: sign up, reset a forgotten password, delete the account."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.accounts.passwords import PasswordPolicyError, hash_password, verify_password
from app.accounts.services import set_password
from app.errors import InvalidInput
from app.ledger.consent import Evidence
from app.portal import consents
from app.portal.mail import send_confirmations, send_password_reset
from app.portal.tokens import customer_for_reset, reset_token
from app.services import policy_for
from app.vault.directory import find_customer_by_email
from app.vault.erasure import erase_customer
from app.vault.models import Customer
from app.vault.service import read_own_profile, register_customer


@dataclass(frozen=True)
class SignUpRequest:
    """What the sign-up form collected; ``consents`` holds only explicitly ticked choices."""

    email: str
    password: str
    language: str
    timezone: str
    age_confirmed: bool
    first_name: str = ""
    phone: str = ""
    consents: frozenset[tuple[str, str]] = frozenset()
    notices_shown: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SignUpResult:
    """The new customer and how many consents wait for confirmation."""

    customer: Customer
    pending: int
    confirmation_sent: bool


def minimum_age(jurisdiction: str) -> int | None:
    """The age a customer must attest under the policy of ``jurisdiction``."""
    policy = policy_for(jurisdiction)
    return policy.settings.minimum_age if policy is not None else None


def sign_up(
    session: Session, wanted: SignUpRequest, *, jurisdiction: str, evidence: Evidence
) -> SignUpResult:
    """Create the account, record each ticked consent under the notice shown, send confirmations."""
    age = minimum_age(jurisdiction)
    if age and not wanted.age_confirmed:
        raise InvalidInput(f"You must be at least {age} years old to create an account.")
    if any(channel == "sms" for _, channel in wanted.consents) and not wanted.phone.strip():
        raise InvalidInput("Add a mobile number to agree to text messages.")
    try:
        password_hash = hash_password(wanted.password)
    except PasswordPolicyError as exc:
        raise InvalidInput(str(exc)) from None
    consents.check_choices(jurisdiction, wanted.consents)
    for purpose in {purpose for purpose, _channel in wanted.consents}:
        consents.notice_shown(session, purpose, wanted.notices_shown.get(purpose, 0))
    profile = {"first_name": wanted.first_name, "phone": wanted.phone, "language": wanted.language}
    customer = register_customer(
        session,
        email=wanted.email,
        profile=profile,
        password_hash=password_hash,
        jurisdiction=jurisdiction,
        timezone=wanted.timezone,
        language=wanted.language,
        age_attested=age,
    )
    pending = _grant_all(session, customer, wanted.consents, wanted.notices_shown, evidence)
    sent = send_confirmations(session, customer, pending)
    return SignUpResult(customer, len(pending), sent)


def _grant_all(
    session: Session,
    customer: Customer,
    choices: Iterable[tuple[str, str]],
    notices: Mapping[str, int],
    evidence: Evidence,
) -> list[tuple[str, str, str]]:
    pending = []
    for purpose, channel in sorted(choices):
        token = consents.give(
            session,
            customer,
            purpose=purpose,
            channel=channel,
            notice_id=notices.get(purpose, 0),
            expected_version=0,
            evidence=evidence,
            send=False,
        )
        if token:
            pending.append((consents.purpose_label(customer, purpose), channel, token))
    return pending


def request_password_reset(session: Session, email: str) -> None:
    """E-mail a reset link when ``email`` belongs to an account; silent either way."""
    customer = find_customer_by_email(session, email)
    if customer is None or not customer.password_hash:
        return
    recipient = read_own_profile(session, customer).get("email")
    if recipient:
        send_password_reset(customer, recipient, reset_token(customer))


def reset_password(session: Session, token: str, new_password: str) -> Customer:
    """Set a new password from a valid link; every session of the account is signed out."""
    customer = customer_for_reset(session, token)
    set_password(session, customer, new_password)
    return customer


def delete_account(session: Session, customer: Customer, password: str) -> None:
    """Erase the account (crypto-shredding) once the password is re-entered correctly."""
    if not verify_password(customer.password_hash, password):
        raise InvalidInput("The password is not correct. Nothing was deleted.")
    erase_customer(
        session, customer, actor="customer", reason="erasure requested by the customer (portal)"
    )
