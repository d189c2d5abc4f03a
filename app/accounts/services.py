"""Staff account services: create, authenticate, change password (each owns its transaction)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import STAFF_ROLES, StaffUser, new_alt_id
from app.accounts.passwords import (
    PasswordPolicyError,
    hash_password,
    needs_rehash,
    verify_password,
)
from app.errors import Conflict, InvalidInput
from app.models_base import utcnow
from app.transaction import transaction


def normalise_staff_email(email: str) -> str:
    """Validate and normalise a staff e-mail address (lower-cased)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvalidInput("That is not a valid e-mail address.") from None


def create_staff_user(session: Session, email: str, role: str, password: str) -> StaffUser:
    """Create a staff account; refuses unknown roles, duplicates and weak passwords."""
    if role not in STAFF_ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(STAFF_ROLES)}.")
    address = normalise_staff_email(email)
    try:
        password_hash = hash_password(password)
    except PasswordPolicyError as exc:
        raise InvalidInput(str(exc)) from None
    with transaction(session):
        if session.scalar(select(StaffUser.id).where(StaffUser.email == address)):
            raise Conflict(f"A staff account for {address} already exists.")
        user = StaffUser(email=address, role=role, password_hash=password_hash)
        session.add(user)
    return user


def authenticate_staff(session: Session, email: str, password: str) -> StaffUser | None:
    """The active staff user with these credentials, or ``None`` (same work either way)."""
    try:
        address = normalise_staff_email(email)
    except InvalidInput:
        address = ""
    user = session.scalar(select(StaffUser).where(StaffUser.email == address))
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    with transaction(session):
        user.last_login_at = utcnow()
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    return user


def change_password(session: Session, account, current: str, new: str) -> None:
    """Change an account's password and rotate its session id (logs out other sessions).

    Works for staff users and customers alike: both have ``password_hash`` and ``alt_id``.
    """
    if not verify_password(account.password_hash, current):
        raise InvalidInput("The current password is not correct.")
    set_password(session, account, new)


def set_password(session: Session, account, new: str) -> None:
    """Store ``new`` (checked against the password policy) and sign out every other session.

    Rotating the alternative id invalidates every session cookie issued before the change.
    """
    try:
        new_hash = hash_password(new)
    except PasswordPolicyError as exc:
        raise InvalidInput(str(exc)) from None
    with transaction(session):
        account.password_hash = new_hash
        account.alt_id = new_alt_id()
        if hasattr(account, "password_changed_at"):
            account.password_changed_at = utcnow()


def sign_out_everywhere(session: Session, account) -> None:
    """Invalidate every session of ``account`` by rotating its session id."""
    with transaction(session):
        account.alt_id = new_alt_id()
