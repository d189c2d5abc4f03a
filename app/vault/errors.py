"""Exceptions raised by the profile vault.

Every message is safe to log and to show to an operator: it names what went wrong (a
version, a field, a length class) and never contains key material, plaintext or the value a
customer typed.  Where an underlying exception could carry secrets it is suppressed with
``raise ... from None``.
"""

from __future__ import annotations


class VaultError(Exception):
    """Base class of every error raised by ``app.vault``."""


class KeyConfigError(VaultError, ValueError):
    """The key ring configuration is malformed (bad version, bad base64, wrong length...)."""


class KeyUnavailableError(VaultError):
    """A key version needed to decrypt is not in the key ring (never configured or retired)."""

    def __init__(self, message: str, *, version: int | None = None) -> None:
        super().__init__(message)
        self.version = version


class DecryptionError(VaultError):
    """A ciphertext could not be authenticated or parsed; no plaintext is ever returned."""


class UnknownFieldError(VaultError, LookupError):
    """A profile field name is not in the field catalogue."""

    def __init__(self, name: str) -> None:
        # Field names come from code or forms, never from a customer's personal data.
        super().__init__(f"unknown profile field {name!r}")
        self.name = name

    def __str__(self) -> str:
        return str(self.args[0])


class FieldValidationError(VaultError, ValueError):
    """A value offered for a profile field is not acceptable.

    ``message`` is user-facing and never echoes the rejected value; ``field`` is the
    catalogue name and ``code`` a stable machine-readable reason for translations.
    """

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message
