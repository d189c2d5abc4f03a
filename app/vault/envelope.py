"""Envelope encryption of profile fields with AES-256-GCM.

Each customer has one random 256-bit data key (DEK).  The DEK is stored only *wrapped*
(encrypted) under the active key-encryption key (KEK) of a ``KeyRing``; deleting the wrapped
DEK crypto-shreds everything of that customer.

Wrapped DEK (``WrappedKey.blob``, 61 bytes; ``kek_version`` is stored beside it)::

    format (1 byte, 0x01) | nonce (12) | AES-GCM(KEK, DEK) ciphertext (32) + tag (16)
    AAD = b"assenso.vault.dek\\0" | format | kek_version (uint32 BE) | customer_ref (UTF-8)

Field ciphertext (``encrypt_field``; 33 bytes + UTF-8 length of the plaintext)::

    format (1 byte, 0x01) | key id (4) | nonce (12) | AES-GCM(DEK, plaintext) + tag (16)
    AAD = format | key id | b"assenso.vault.field\\0" | len(customer_ref) (1) | customer_ref
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
from typing import NamedTuple, NoReturn

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


class WrappedKey(NamedTuple):
    """A customer's data key encrypted under KEK ``kek_version`` (see the module docstring)."""

    kek_version: int
    blob: bytes

    def __repr__(self) -> str:
        return f"WrappedKey(kek_version={self.kek_version}, blob=<{len(self.blob)} bytes>)"


def new_data_key() -> bytes:
    """Return a fresh random 256-bit data key for one customer."""
    return os.urandom(KEY_BYTES)


def wrap_data_key(keyring: KeyRing, customer_ref: str, dek: bytes) -> WrappedKey:
    """Encrypt ``dek`` for ``customer_ref`` under the ring's active KEK."""
    _check_dek(dek)
    version = keyring.active_version
    nonce = os.urandom(NONCE_BYTES)
    aad = _dek_aad_prefix(version) + _ref_bytes(customer_ref)
    return WrappedKey(version, _FORMAT + nonce + keyring.aesgcm(version).encrypt(nonce, dek, aad))


def unwrap_data_key(keyring: KeyRing, customer_ref: str, wrapped: WrappedKey) -> bytes:
    """Decrypt a customer's data key; raises ``KeyUnavailableError`` or ``DecryptionError``."""
    return _unwrap(keyring, _ref_bytes(customer_ref), wrapped)


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
    """Encrypts and decrypts one customer's fields with a single reusable AES-GCM instance.

    Decryption authenticates the blob's own 5-byte header as part of the AAD, so the happy
    path needs no hashing; the key id is computed only to seal, or to explain a failure.
    """

    __slots__ = ("_aad_tail", "_aead", "_dek", "_key_id", "customer_ref")

    def __init__(self, dek: bytes, customer_ref: str) -> None:
        """Prepare the cipher for ``customer_ref``'s data key ``dek``."""
        _check_dek(dek)
        self._setup(dek, customer_ref, _ref_bytes(customer_ref))

    def _setup(self, dek: bytes, customer_ref: str, ref: bytes) -> None:
        self.customer_ref = customer_ref
        self._dek = dek
        self._aead = AESGCM(dek)
        self._key_id: bytes | None = None
        self._aad_tail = _FIELD_AAD_LABEL + bytes([len(ref)]) + ref

    @classmethod
    def open(cls, keyring: KeyRing, customer_ref: str, wrapped: WrappedKey) -> FieldCipher:
        """Unwrap ``wrapped`` and return the cipher for that customer."""
        ref = _ref_bytes(customer_ref)
        cipher = cls.__new__(cls)
        cipher._setup(_unwrap(keyring, ref, wrapped), customer_ref, ref)
        return cipher

    @property
    def key_id(self) -> bytes:
        """The data key's 4-byte id (see ``data_key_id``)."""
        if self._key_id is None:
            self._key_id = data_key_id(self._dek)
        return self._key_id

    def encrypt(self, field_name: str, plaintext: str) -> bytes:
        """Seal ``plaintext`` (already normalised) as the value of ``field_name``."""
        if not isinstance(plaintext, str):
            raise VaultError("field plaintext must be a str")
        data = _utf8(plaintext)
        header = _FORMAT + self.key_id
        nonce = os.urandom(NONCE_BYTES)
        aad = header + self._aad_tail + _field_bytes(field_name)
        return header + nonce + self._aead.encrypt(nonce, data, aad)

    def decrypt(self, field_name: str, blob: bytes) -> str:
        """Open a blob sealed by ``encrypt`` for the same customer and field."""
        if len(blob) < FIELD_OVERHEAD or blob[0] != FORMAT_VERSION:
            raise _malformed_field(blob)
        name = _field_names.get(field_name) or _field_bytes(field_name)
        try:
            plain = self._aead.decrypt(blob[5:17], blob[17:], blob[:5] + self._aad_tail + name)
        except InvalidTag:
            failure = self._authentication_error(field_name, blob)
        else:
            return plain.decode()
        raise failure

    def decrypt_fields(self, blobs: Mapping[str, bytes]) -> dict[str, str]:
        """Decrypt several fields at once: ``{field name: blob}`` -> ``{field name: text}``."""
        return {name: self.decrypt(name, blob) for name, blob in blobs.items()}

    def _authentication_error(self, field_name: str, blob: bytes) -> DecryptionError:
        """Tell a blob of another data key apart from one of another customer or field."""
        if blob[1:5] != self.key_id:
            return DecryptionError(
                "field ciphertext was sealed under a different data key "
                "(or its key id is corrupted)"
            )
        return DecryptionError(
            f"field {field_name!r} failed authentication (other customer, other field, "
            "or corrupted)"
        )

    def __repr__(self) -> str:
        return f"FieldCipher(customer_ref={self.customer_ref!r})"

    def __reduce__(self) -> NoReturn:
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


def _unwrap(keyring: KeyRing, ref: bytes, wrapped: WrappedKey) -> bytes:
    """Open a wrapped data key for the already-encoded customer reference ``ref``."""
    version, blob = wrapped
    if len(blob) != WRAPPED_KEY_BYTES or blob[0] != FORMAT_VERSION:
        raise _malformed_wrapped_key(blob)
    aead = keyring.aesgcm(version)
    try:
        return aead.decrypt(blob[1:13], blob[13:], _dek_aad_prefix(version) + ref)
    except InvalidTag:
        pass
    raise DecryptionError(
        f"wrapped data key failed authentication under key version {version} "
        "(wrong key, other customer, or corrupted)"
    )


def _malformed_wrapped_key(blob: bytes) -> DecryptionError:
    """Explain a wrapped data key of the wrong length or format."""
    if len(blob) != WRAPPED_KEY_BYTES:
        return DecryptionError(
            f"wrapped data key has {len(blob)} bytes, expected {WRAPPED_KEY_BYTES} "
            "(truncated or corrupted)"
        )
    return DecryptionError(f"wrapped data key has unknown format version {blob[0]}")


def _malformed_field(blob: bytes) -> DecryptionError:
    """Explain a field ciphertext that is too short or of an unknown format."""
    if len(blob) < FIELD_OVERHEAD:
        return DecryptionError(
            f"field ciphertext is truncated ({len(blob)} bytes, at least {FIELD_OVERHEAD} needed)"
        )
    return DecryptionError(f"field ciphertext has unknown format version {blob[0]}")


def _check_dek(dek: object) -> None:
    """Data keys are exactly 32 bytes."""
    if not isinstance(dek, bytes) or len(dek) != KEY_BYTES:
        raise VaultError(f"a data key must be {KEY_BYTES} bytes")


def _dek_aad_prefix(kek_version: int) -> bytes:
    """The AAD of a wrapped DEK up to the customer reference (memoised per version)."""
    prefix = _dek_aad_prefixes.get(kek_version)
    if prefix is None:
        prefix = _DEK_AAD_LABEL + _FORMAT + struct.pack(">I", kek_version)
        if len(_dek_aad_prefixes) < 1024:
            _dek_aad_prefixes[kek_version] = prefix
    return prefix


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
