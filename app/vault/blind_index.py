"""Keyed blind indexes for looking customers up by e-mail address without storing it.

``blind_index`` returns ``"v<version>:<64 hex digits>"``: HMAC-SHA256 under the blind-index
key of that version (a ``KeyRing`` separate from the KEKs) over::

    b"assenso.blind-index.email.v1" NUL | version (decimal ASCII) | NUL | normalised address

The label keeps these digests apart from any other HMAC use of a key; the version keeps a
key reused under two versions from giving equal tokens.  The ``v<version>:`` prefix lets the
database keep one indexed text column, look up by the active version, find rows still
indexed under an older version (``LIKE 'v1:%'``) and re-index them after a rotation;
``blind_index_candidates`` gives every configured version's token for lookups meanwhile.

Normalisation (``normalise_email``): Unicode NFC, trim, lower-case, and the domain converted
to its IDNA ASCII form (via email-validator, which also checks the address's syntax), so
``" Anna@Bücher.Example "`` and ``"anna@xn--bcher-kva.example"`` share one index.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from email_validator import EmailNotValidError, validate_email

from app.vault.errors import FieldValidationError
from app.vault.keyring import KeyRing

_LABEL = b"assenso.blind-index.email.v1\x00"
_INVALID = "Enter a valid e-mail address, like name@example.com."


def normalise_email(email: str) -> str:
    """Return the canonical lower-case, IDNA-domain form of ``email`` used for indexing."""
    if not isinstance(email, str):
        raise FieldValidationError("email", "invalid", _INVALID)
    text = unicodedata.normalize("NFC", email).strip()
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        checked = None
    if checked is None:
        # Raised outside ``except``: the library's error can quote parts of the address.
        raise FieldValidationError("email", "invalid", _INVALID)
    local = unicodedata.normalize("NFC", checked.local_part).lower()
    return f"{local}@{checked.ascii_domain.lower()}"


def blind_index(keyring: KeyRing, email: str, version: int | None = None) -> str:
    """Return ``"v<version>:<hex HMAC>"`` for ``email`` under the given (default: active) key."""
    chosen = keyring.active_version if version is None else version
    return _token(keyring, chosen, normalise_email(email))


def blind_index_candidates(keyring: KeyRing, email: str) -> list[str]:
    """Tokens for every version in the ring, active first (lookups during re-indexing)."""
    normalised = normalise_email(email)
    others = [v for v in reversed(keyring.versions) if v != keyring.active_version]
    return [_token(keyring, v, normalised) for v in [keyring.active_version, *others]]


def blind_index_version(token: str) -> int:
    """The key version a stored token was computed with (``"v2:..."`` -> 2)."""
    prefix, sep, digest = token.partition(":")
    if not sep or not prefix.startswith("v") or not prefix[1:].isdigit() or len(digest) != 64:
        raise ValueError("not a blind index token of the form v<version>:<64 hex digits>")
    return int(prefix[1:])


def _token(keyring: KeyRing, version: int, normalised: str) -> str:
    """HMAC-SHA256 of the label, version and normalised address under key ``version``."""
    message = b"%b%d\x00%b" % (_LABEL, version, normalised.encode())
    digest = hmac.new(keyring.key(version), message, hashlib.sha256)
    return f"v{version}:{digest.hexdigest()}"
