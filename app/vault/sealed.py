"""Secrets of the platform itself sealed under the vault's key-encryption keys.

The same envelope as customers' wrapped data keys (:mod:`app.vault.envelope`): AES-256-GCM
under a version of the KEK ring, with a label of its own in the authenticated data so a blob
of one kind never opens as another. It seals what is neither a customer's profile nor theirs
to shred: webhook signing secrets, the answers stored for idempotent API requests, an erased
customer's reference kept until their last webhook is sent.

Blob (29 bytes + the plaintext's length)::

    format (1 byte, 0x01) | kek_version (uint32 BE) | nonce (12) | AES-GCM(KEK, plaintext) + tag
    AAD = b"assenso.vault.sealed\\0" | label | NUL | format | kek_version | context (UTF-8)

``context`` binds the blob to its place (a subscription's URL, an API key and its
``Idempotency-Key``): copied elsewhere it does not open. Rotation re-seals under the active
version (:func:`reseal`); a version removed from the ring no longer opens its blobs.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag

from app.vault.errors import DecryptionError
from app.vault.keyring import KeyRing

FORMAT_VERSION = 1
_HEADER = 5
_NONCE = 12
OVERHEAD = _HEADER + _NONCE + 16
_LABEL = b"assenso.vault.sealed\x00"


def _aad(label: str, header: bytes, context: str) -> bytes:
    return _LABEL + label.encode() + b"\x00" + header + context.encode()


def seal(keyring: KeyRing, label: str, context: str, plaintext: bytes) -> bytes:
    """Seal ``plaintext`` under the ring's active KEK, bound to ``label`` and ``context``."""
    version = keyring.active_version
    header = bytes([FORMAT_VERSION]) + struct.pack(">I", version)
    nonce = os.urandom(_NONCE)
    sealed = keyring.aesgcm(version).encrypt(nonce, plaintext, _aad(label, header, context))
    return header + nonce + sealed


def sealed_version(blob: bytes) -> int:
    """The KEK version ``blob`` is sealed under; ``DecryptionError`` for a malformed blob."""
    if len(blob) < OVERHEAD or blob[0] != FORMAT_VERSION:
        raise DecryptionError("sealed value is truncated or of an unknown format")
    return int(struct.unpack(">I", blob[1:_HEADER])[0])


def unseal(keyring: KeyRing, label: str, context: str, blob: bytes) -> bytes:
    """Open a blob made by :func:`seal` with the same label and context.

    Raises ``KeyUnavailableError`` (its KEK version is not in the ring) or ``DecryptionError``.
    """
    version = sealed_version(blob)
    aead = keyring.aesgcm(version)
    try:
        return aead.decrypt(
            blob[_HEADER : _HEADER + _NONCE],
            blob[_HEADER + _NONCE :],
            _aad(label, blob[:_HEADER], context),
        )
    except InvalidTag:
        pass
    raise DecryptionError(
        f"sealed {label} failed authentication under key version {version} "
        "(wrong key, other place, or corrupted)"
    )


def reseal(keyring: KeyRing, label: str, context: str, blob: bytes) -> bytes:
    """``blob`` sealed again under the active KEK (itself when already under it)."""
    if sealed_version(blob) == keyring.active_version:
        return blob
    return seal(keyring, label, context, unseal(keyring, label, context, blob))
