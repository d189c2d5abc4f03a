"""Customer accounts from the portal: sign up, sign in, change or reset a password, delete.

Sign-up and password reset answer alike whether or not the address has an account: the
address's owner learns the rest by e-mail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.accounts.passwords import is_published_password, verify_password
from app.accounts.sessions import end_sessions_of
from app.customers.models import Customer
from app.errors import Conflict, InvalidInput
from app.ledger.consent import Evidence
from app.policy_sets.in_force import policy_for
from app.self_service import consents
from app.self_service.mail import (
    send_confirmations,
    send_password_reset_later,
    send_signup_attempt_notice,
    send_welcome,
)
from app.self_service.tokens import customer_for_reset
from app.transaction import transaction
from app.vault.directory import authenticate_customer, find_customer_by_email
from app.vault.erasure import erase_customer
from app.vault.service import (
    read_own_profile,
    register_customer,
    validate_profile,
    validate_settings,
)


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
    """The new customer (``None`` when the address already had an account, whose owner was
    told by e-mail) and how many consents wait for confirmation."""

    customer: Customer | None
    pending: int
    mail_sent: bool


def minimum_age(jurisdiction: str) -> int | None:
    """The age a customer must attest under the policy of ``jurisdiction``."""
    policy = policy_for(jurisdiction)
    return policy.settings.minimum_age if policy is not None else None


def sign_up(
    session: Session, wanted: SignUpRequest, *, jurisdiction: str, evidence: Evidence
) -> SignUpResult:
    """Create the account, record each ticked consent under the notice shown, send confirmations.

    Everything is checked before looking the address up, so a refusal never depends on
    whether it has an account. When it has one, nothing is created and its owner gets an
    e-mail saying someone tried to sign up with it; the answer is the same as for a new
    account.
    """
    age = minimum_age(jurisdiction)
    if age and not wanted.age_confirmed:
        raise InvalidInput(f"You must be at least {age} years old to create an account.")
    if any(channel == "sms" for _, channel in wanted.consents) and not wanted.phone.strip():
        raise InvalidInput("Add a mobile number to agree to text messages.")
    profile = {"first_name": wanted.first_name, "phone": wanted.phone}
    validate_profile({**profile, "email": wanted.email})
    validate_settings(jurisdiction, wanted.timezone, wanted.language)
    password_hash = accounts.checked_password_hash(wanted.password, wanted.email)
    consents.check_choices(jurisdiction, wanted.consents)
    for purpose in {purpose for purpose, _channel in wanted.consents}:
        consents.notice_shown(session, purpose, wanted.notices_shown.get(purpose, 0))
    if find_customer_by_email(session, wanted.email) is not None:
        return _tell_owner(session, wanted.email)
    try:
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
    except Conflict:  # the same address signed up a moment ago
        return _tell_owner(session, wanted.email)
    pending = _grant_all(session, customer, wanted.consents, wanted.notices_shown, evidence)
    sent = send_confirmations(session, customer, pending)
    if not any(channel == "email" for _, channel, _ in pending):
        sent = send_welcome(session, customer) and sent
    return SignUpResult(customer, len(pending), sent)


def _tell_owner(session: Session, email: str) -> SignUpResult:
    """E-mail the owner of ``email`` that someone tried to sign up with their address."""
    owner = find_customer_by_email(session, email)
    sent = owner is not None and send_signup_attempt_notice(session, owner)
    return SignUpResult(None, 0, sent)


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


def request_password_reset(email: str) -> None:
    """E-mail a reset link when ``email`` belongs to an account; silent either way.

    The lookup itself runs after the answer, in the background, so the answer takes the
    same time whether or not the address has an account.
    """
    send_password_reset_later(email)


def customer_for_sign_in(
    session: Session, email: str, password: str, *, refuse_published: bool = False
) -> Customer | None:
    """The customer with these credentials, or ``None`` (same work either way).

    With ``refuse_published`` (production), a password the demo publishes never signs in.
    """
    customer = authenticate_customer(session, email, password)
    if customer is not None and refuse_published and is_published_password(password):
        return None
    return customer


def account_email(session: Session, account) -> str | None:
    """The e-mail address of a staff user or customer (a new password may not contain it)."""
    if account.kind == "staff":
        return account.email
    return read_own_profile(session, account).get("email")


def change_own_password(session: Session, account, current: str, new: str) -> None:
    """Change the signed-in account's password; every session of it ends."""
    accounts.change_password(session, account, account_email(session, account), current, new)


def reset_password(session: Session, token: str, new_password: str) -> Customer:
    """Set a new password from a valid link; every session of the account is signed out."""
    customer = customer_for_reset(session, token)
    accounts.set_password(session, customer, account_email(session, customer), new_password)
    return customer


def delete_account(session: Session, customer: Customer, password: str) -> None:
    """Erase the account (crypto-shredding) once the password is re-entered correctly; every
    session of it ends."""
    if not verify_password(customer.password_hash, password):
        raise InvalidInput("The password is not correct. Nothing was deleted.")
    erase_customer(
        session, customer, actor="customer", reason="erasure requested by the customer (portal)"
    )
    with transaction(session):
        end_sessions_of(session, customer.kind, customer.id, "account deleted")
