"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id by default
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash verified against when an account does not exist, so that "no such user" and
    "wrong password" take the same time. Made on first use: hashing costs 64 MiB of memory
    for a moment, which processes that never check a password (delivery workers, the
    scheduler, commands) should not pay at start."""
    return _hasher.hash("assenso-timing-equaliser-password")


class PasswordPolicyError(ValueError):
    """A new password does not meet the password policy."""


def check_password_policy(password: str) -> None:
    """Raise ``PasswordPolicyError`` with a clear message when ``password`` is unacceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"Use at most {MAX_PASSWORD_LENGTH} characters.")


def hash_password(password: str) -> str:
    """Hash a password with argon2id after checking the password policy."""
    check_password_policy(password)
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
