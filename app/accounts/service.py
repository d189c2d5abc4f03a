"""Staff account services and password changes for every account (each owns its transaction)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import STAFF_ROLES, StaffUser, new_alt_id
from app.accounts.passwords import (
    PasswordPolicyError,
    hash_password,
    is_published_password,
    needs_rehash,
    new_password_hash,
    verify_password,
)
from app.accounts.sessions import end_sessions_of
from app.errors import Conflict, InvalidInput, NotFound
from app.models_base import utcnow
from app.transaction import transaction


def normalise_staff_email(email: str) -> str:
    """Validate and normalise a staff e-mail address (lower-cased)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvalidInput("That is not a valid e-mail address.") from None


def checked_password_hash(password: str, email: str | None) -> str:
    """The hash of a newly chosen password, or ``InvalidInput`` saying what is wrong with it."""
    try:
        return new_password_hash(password, email)
    except PasswordPolicyError as exc:
        raise InvalidInput(str(exc)) from None


def create_staff_user(session: Session, email: str, role: str, password: str) -> StaffUser:
    """Create a staff account; refuses unknown roles, duplicates and weak passwords."""
    if role not in STAFF_ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(STAFF_ROLES)}.")
    address = normalise_staff_email(email)
    password_hash = checked_password_hash(password, address)
    with transaction(session):
        if session.scalar(select(StaffUser.id).where(StaffUser.email == address)):
            raise Conflict(f"A staff account for {address} already exists.")
        user = StaffUser(email=address, role=role, password_hash=password_hash)
        session.add(user)
    return user


def authenticate_staff(
    session: Session, email: str, password: str, *, refuse_published: bool = False
) -> StaffUser | None:
    """The active staff user with these credentials, or ``None`` (same work either way).

    With ``refuse_published`` (production), an account whose password is one the demo
    publishes cannot sign in: anyone could.
    """
    try:
        address = normalise_staff_email(email)
    except InvalidInput:
        address = ""
    user = session.scalar(select(StaffUser).where(StaffUser.email == address))
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    if refuse_published and is_published_password(password):
        return None
    with transaction(session):
        user.last_login_at = utcnow()
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    return user


def change_password(session: Session, account, email: str | None, current: str, new: str) -> None:
    """Change an account's password and end every session of it.

    Works for staff users and customers alike (both have ``password_hash`` and ``alt_id``);
    ``email`` is the account's address, which the new password may not contain.
    """
    if not verify_password(account.password_hash, current):
        raise InvalidInput("The current password is not correct.")
    set_password(session, account, email, new)


def set_password(session: Session, account, email: str | None, new: str) -> None:
    """Store ``new`` (checked against the password policy) and end every session of the account.

    Rotating the alternative id also invalidates every cookie issued before the change.
    """
    new_hash = checked_password_hash(new, email)
    with transaction(session):
        account.password_hash = new_hash
        account.alt_id = new_alt_id()
        end_sessions_of(session, account.kind, account.id, "password changed")
        if hasattr(account, "password_changed_at"):
            account.password_changed_at = utcnow()


def sign_out_everywhere(session: Session, account) -> None:
    """End every session of ``account`` (and rotate its session id)."""
    with transaction(session):
        account.alt_id = new_alt_id()
        end_sessions_of(session, account.kind, account.id, "signed out everywhere")


def disable_staff_user(session: Session, email: str) -> StaffUser:
    """Disable a staff account: it can no longer sign in and every session of it ends."""
    address = normalise_staff_email(email)
    with transaction(session):
        user = session.scalar(select(StaffUser).where(StaffUser.email == address))
        if user is None:
            raise NotFound(f"No staff account for {address}.")
        user.active = False
        user.alt_id = new_alt_id()
        end_sessions_of(session, user.kind, user.id, "account disabled")
    return user
