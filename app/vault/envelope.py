"""Envelope encryption of profile fields with AES-256-GCM.

Each customer has one random 256-bit data key (DEK).  The DEK is stored only *wrapped*
(encrypted) under the active key-encryption key (KEK) of a ``KeyRing``; deleting the wrapped
DEK crypto-shreds everything of that customer.

Wrapped DEK (``WrappedKey.blob``, 61 bytes; ``kek_version`` is stored beside it)::

    format (1 byte, 0x01) | nonce (12) | AES-GCM(KEK, DEK) ciphertext (32) + tag (16)
    AAD = b"assenso.vault.dek\\0" | format | kek_version (uint32 BE) | customer_ref (UTF-8)

Field ciphertext (``encrypt_field``; 33 bytes + UTF-8 length of the plaintext)::

    format (1 byte, 0x01) | key id (4) | nonce (12) | AES-GCM(DEK, plaintext) + tag (16)
    AAD = b"assenso.vault.field\\0" | format | key id | len(customer_ref) (1) | customer_ref
          | field name

The key id is the first 4 bytes of SHA-256(b"assenso.vault.dek-id\\0" | DEK).  It is derived,
so it needs no storage or per-customer counter, and it lets a blob sealed under another
(e.g. replaced) data key be reported as such instead of as generic corruption.  Four bytes of
a hash of a random 256-bit key reveal nothing useful about it.  Because the AAD binds the
customer and the field, a ciphertext copied to another customer or field does not decrypt.

Every failure raises ``DecryptionError`` or ``KeyUnavailableError``; wrong plaintext is
never returned and no message or chained exception carries key bytes or plaintext.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.vault.errors import DecryptionError, VaultError
from app.vault.keyring import KEY_BYTES, KeyRing

FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_BYTES = 4
WRAPPED_KEY_BYTES = 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES
FIELD_OVERHEAD = 1 + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES
MAX_CUSTOMER_REF = 64

_FORMAT = bytes([FORMAT_VERSION])
_DEK_AAD_LABEL = b"assenso.vault.dek\x00"
_FIELD_AAD_LABEL = b"assenso.vault.field\x00"
_KEY_ID_LABEL = b"assenso.vault.dek-id\x00"
_field_names: dict[str, bytes] = {}
_dek_aad_prefixes: dict[int, bytes] = {}


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A customer's data key encrypted under KEK ``kek_version`` (see the module docstring)."""

    kek_version: int
    blob: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"WrappedKey(kek_version={self.kek_version}, blob=<{len(self.blob)} bytes>)"


def new_data_key() -> bytes:
    """Return a fresh random 256-bit data key for one customer."""
    return os.urandom(KEY_BYTES)


def wrap_data_key(keyring: KeyRing, customer_ref: str, dek: bytes) -> WrappedKey:
    """Encrypt ``dek`` for ``customer_ref`` under the ring's active KEK."""
    if not isinstance(dek, bytes) or len(dek) != KEY_BYTES:
        raise VaultError(f"a data key must be {KEY_BYTES} bytes")
    version = keyring.active_version
    nonce = os.urandom(NONCE_BYTES)
    sealed = keyring.aesgcm(version).encrypt(nonce, dek, _dek_aad(version, customer_ref))
    return WrappedKey(version, _FORMAT + nonce + sealed)


def unwrap_data_key(keyring: KeyRing, customer_ref: str, wrapped: WrappedKey) -> bytes:
    """Decrypt a customer's data key; raises ``KeyUnavailableError`` or ``DecryptionError``."""
    blob = wrapped.blob
    if len(blob) != WRAPPED_KEY_BYTES:
        raise DecryptionError(
            f"wrapped data key has {len(blob)} bytes, expected {WRAPPED_KEY_BYTES} "
            "(truncated or corrupted)"
        )
    if blob[0] != FORMAT_VERSION:
        raise DecryptionError(f"wrapped data key has unknown format version {blob[0]}")
    aead = keyring.aesgcm(wrapped.kek_version)
    aad = _dek_aad(wrapped.kek_version, customer_ref)
    try:
        return aead.decrypt(blob[1:13], blob[13:], aad)
    except InvalidTag:
        raise DecryptionError(
            f"wrapped data key failed authentication under key version {wrapped.kek_version} "
            "(wrong key, other customer, or corrupted)"
        ) from None


def rewrap_data_key(keyring: KeyRing, customer_ref: str, wrapped: WrappedKey) -> WrappedKey:
    """Unwrap with the KEK version it was sealed under and wrap again under the active one."""
    return wrap_data_key(keyring, customer_ref, unwrap_data_key(keyring, customer_ref, wrapped))


def needs_rewrap(keyring: KeyRing, wrapped: WrappedKey) -> bool:
    """True when ``wrapped`` is not sealed under the ring's active KEK version."""
    return wrapped.kek_version != keyring.active_version


def data_key_id(dek: bytes) -> bytes:
    """The 4-byte key id stored in every field ciphertext sealed under ``dek``."""
    return hashlib.sha256(_KEY_ID_LABEL + dek).digest()[:KEY_ID_BYTES]


class FieldCipher:
    """Encrypts and decrypts one customer's fields with a single reusable AES-GCM instance."""

    __slots__ = ("_aad_prefix", "_aead", "_header", "customer_ref")

    def __init__(self, dek: bytes, customer_ref: str) -> None:
        """Prepare the cipher for ``customer_ref``'s data key ``dek``."""
        if not isinstance(dek, bytes) or len(dek) != KEY_BYTES:
            raise VaultError(f"a data key must be {KEY_BYTES} bytes")
        ref = _ref_bytes(customer_ref)
        self.customer_ref = customer_ref
        self._aead = AESGCM(dek)
        self._header = _FORMAT + data_key_id(dek)
        self._aad_prefix = _FIELD_AAD_LABEL + self._header + bytes([len(ref)]) + ref

    @classmethod
    def open(cls, keyring: KeyRing, customer_ref: str, wrapped: WrappedKey) -> FieldCipher:
        """Unwrap ``wrapped`` and return the cipher for that customer."""
        return cls(unwrap_data_key(keyring, customer_ref, wrapped), customer_ref)

    def encrypt(self, field_name: str, plaintext: str) -> bytes:
        """Seal ``plaintext`` (already normalised) as the value of ``field_name``."""
        if not isinstance(plaintext, str):
            raise VaultError("field plaintext must be a str")
        data = _utf8(plaintext)
        nonce = os.urandom(NONCE_BYTES)
        aad = self._aad_prefix + _field_bytes(field_name)
        return self._header + nonce + self._aead.encrypt(nonce, data, aad)

    def decrypt(self, field_name: str, blob: bytes) -> str:
        """Open a blob sealed by ``encrypt`` for the same customer and field."""
        if len(blob) < FIELD_OVERHEAD:
            raise DecryptionError(
                f"field ciphertext is truncated ({len(blob)} bytes, at least "
                f"{FIELD_OVERHEAD} needed)"
            )
        if blob[:5] != self._header:
            raise _header_error(blob)
        try:
            plain = self._aead.decrypt(
                blob[5:17], blob[17:], self._aad_prefix + _field_bytes(field_name)
            )
        except InvalidTag:
            raise DecryptionError(
                f"field {field_name!r} failed authentication "
                "(other customer, other field, or corrupted)"
            ) from None
        return plain.decode()

    def decrypt_fields(self, blobs: Mapping[str, bytes]) -> dict[str, str]:
        """Decrypt several fields at once: ``{field name: blob}`` -> ``{field name: text}``."""
        return {name: self.decrypt(name, blob) for name, blob in blobs.items()}

    def __repr__(self) -> str:
        return f"FieldCipher(customer_ref={self.customer_ref!r})"

    def __reduce__(self) -> object:
        raise TypeError("FieldCipher objects hold key material and cannot be pickled")


def encrypt_field(dek: bytes, customer_ref: str, field_name: str, plaintext: str) -> bytes:
    """Seal one field value; prefer ``FieldCipher`` when handling several fields."""
    return FieldCipher(dek, customer_ref).encrypt(field_name, plaintext)


def decrypt_field(dek: bytes, customer_ref: str, field_name: str, blob: bytes) -> str:
    """Open one field value; prefer ``FieldCipher`` when handling several fields."""
    return FieldCipher(dek, customer_ref).decrypt(field_name, blob)


def _utf8(text: str) -> bytes:
    """Encode ``text``; the error is raised outside ``except`` so no chained exception keeps
    a reference to the plaintext (``UnicodeEncodeError.object``)."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        pass
    raise VaultError("field plaintext is not valid Unicode text")


def _header_error(blob: bytes) -> DecryptionError:
    """Explain why a field blob's 5-byte header does not match this cipher."""
    if blob[0] != FORMAT_VERSION:
        return DecryptionError(f"field ciphertext has unknown format version {blob[0]}")
    return DecryptionError(
        "field ciphertext was sealed under a different data key (or its key id is corrupted)"
    )


def _dek_aad(kek_version: int, customer_ref: str) -> bytes:
    """Associated data binding a wrapped DEK to its format, KEK version and customer."""
    prefix = _dek_aad_prefixes.get(kek_version)
    if prefix is None:
        prefix = _DEK_AAD_LABEL + _FORMAT + struct.pack(">I", kek_version)
        if len(_dek_aad_prefixes) < 1024:
            _dek_aad_prefixes[kek_version] = prefix
    return prefix + _ref_bytes(customer_ref)


def _ref_bytes(customer_ref: str) -> bytes:
    """Encode a customer reference (a pseudonymous UUID string) for use in AAD."""
    try:
        encoded = customer_ref.encode("ascii")
    except (AttributeError, UnicodeEncodeError):
        raise VaultError("customer_ref must be an ASCII str (a UUID string)") from None
    if not 0 < len(encoded) <= MAX_CUSTOMER_REF:
        raise VaultError(f"customer_ref must have 1 to {MAX_CUSTOMER_REF} characters")
    return encoded


def _field_bytes(field_name: str) -> bytes:
    """Encode (and memoise) a field name for use in AAD; names are short identifiers."""
    encoded = _field_names.get(field_name)
    if encoded is None:
        if not isinstance(field_name, str) or not field_name:
            raise VaultError("field name must be a non-empty str")
        encoded = field_name.encode()
        if len(_field_names) < 1024:
            _field_names[field_name] = encoded
    return encoded
