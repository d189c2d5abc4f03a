"""Passwords: the policy for new ones, argon2id hashing (argon2-cffi's RFC 9106 low-memory
profile) and verification with equal work whether or not the account exists.

The policy follows OWASP ASVS 4.0, 2.1: at least 12 characters, no composition rules, and
no password that is common, breached or easy to guess. That last check runs offline with
zxcvbn, whose shipped lists hold the 30,000 passwords most often found in public breaches
with English words, names and keyboard patterns; it also counts the person's own e-mail
address as known to an attacker. Nothing about a password ever leaves the machine.
"""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()  # argon2id by default
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
#: zxcvbn's scores run 0-4; 3 means "safely unguessable" (about 10^8 guesses or more).
MIN_STRENGTH_SCORE = 3
#: zxcvbn judges at most this many characters (its own limit); a longer password is judged
#: on its start, which only makes the check stricter.
STRENGTH_CHECKED_LENGTH = 72
#: A local part shorter than this is too common a string to forbid inside passwords.
MIN_LOCAL_PART_CHECKED = 4
#: Passwords printed by the demo (anyone can read them): no account may use them in production.
DEMO_STAFF_PASSWORD = "assenso-demo-2026"  # noqa: S105 - published demo login
DEMO_CUSTOMER_PASSWORD = "assenso-customer-2026"  # noqa: S105 - published demo login
PUBLISHED_PASSWORDS = frozenset({DEMO_STAFF_PASSWORD, DEMO_CUSTOMER_PASSWORD})


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash verified against when an account does not exist, so that "no such user" and
    "wrong password" take the same time. Made on first use: hashing costs 64 MiB of memory
    for a moment, which processes that never check a password (delivery workers, the
    scheduler, commands) should not pay at start."""
    return _hasher.hash("assenso-timing-equaliser-password")


class PasswordPolicyError(ValueError):
    """A new password does not meet the password policy."""


def _email_pieces(email: str) -> list[str]:
    """The lower-cased address and the pieces of it an attacker would try first."""
    address = email.strip().lower()
    local = address.partition("@")[0]
    return [piece for piece in (address, local, *re.split(r"[._+\-]", local)) if piece]


def _contains_email(password: str, email: str) -> bool:
    """True when ``password`` holds the address, or its local part when that is long enough."""
    address = email.strip().lower()
    local = address.partition("@")[0]
    lowered = password.lower()
    if len(local) < MIN_LOCAL_PART_CHECKED:
        return bool(address) and address in lowered
    return local in lowered


def check_password_policy(password: str, email: str | None = None) -> None:
    """Raise ``PasswordPolicyError`` with a clear message when ``password`` is unacceptable.

    ``email`` is the address of the account the password is for, when known.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if email and _contains_email(password, email):
        raise PasswordPolicyError("Do not use your e-mail address in your password.")
    pieces = _email_pieces(email) if email else []
    judged = zxcvbn(password[:STRENGTH_CHECKED_LENGTH], user_inputs=pieces)
    if judged["score"] < MIN_STRENGTH_SCORE:
        raise PasswordPolicyError(
            "This password is too common or too easy to guess. A few unrelated words work well."
        )


def new_password_hash(password: str, email: str | None = None) -> str:
    """Check a newly chosen password against the policy, then hash it with argon2id."""
    check_password_policy(password, email)
    return _hasher.hash(password)


def hash_password(password: str) -> str:
    """Hash a password with argon2id, without the policy: for re-hashing a password that was
    accepted when it was chosen, and for fixtures. New passwords use :func:`new_password_hash`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; constant work even when there is no account."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash uses weaker parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


def is_published_password(password: str) -> bool:
    """True for a password the demo prints for everyone to read."""
    return password in PUBLISHED_PASSWORDS
