"""Signed checkpoints (tree heads) of the consent ledger, with Ed25519.

Modelled on the C2SP tlog-checkpoint "signed note" but self-contained. The signed body is
UTF-8 text of exactly four lines, each ending in ``"\\n"``::

    <origin>                       e.g. "assenso.example/consent-ledger" (printable text)
    <tree size, decimal>           e.g. "1042"
    <root hash, standard base64>   44 characters for 32 bytes
    <timestamp, RFC 3339 UTC>      "2026-11-23T02:14:05Z" (".ffffffZ" only if sub-second)

The signature is Ed25519 over those bytes. A checkpoint names its signer by ``key_id``: the
first 16 hex digits of SHA-256 over the raw 32-byte public key. Pure: no Flask, no database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_ID_HEX_DIGITS = 16
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the ledger ``origin`` had ``tree_size`` leaves with ``root_hash``."""

    origin: str
    tree_size: int
    root_hash: bytes
    timestamp: datetime
    key_id: str
    signature: bytes

    def body(self) -> bytes:
        """The signed text of this checkpoint (see the module docstring)."""
        return checkpoint_body(self.origin, self.tree_size, self.root_hash, self.timestamp)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: bytes as standard base64, the timestamp as RFC 3339 UTC."""
        return {
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": _b64(self.root_hash),
            "timestamp": format_timestamp(self.timestamp),
            "key_id": self.key_id,
            "signature": _b64(self.signature),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Checkpoint:
        """Read the JSON form of :meth:`to_dict`; ``ValueError`` naming the first bad field."""
        if not isinstance(data, dict):
            raise ValueError("checkpoint must be a JSON object")
        return cls(
            origin=_field(data, "origin", str),
            tree_size=_field(data, "tree_size", int),
            root_hash=_b64_field(data, "root_hash"),
            timestamp=parse_timestamp(_field(data, "timestamp", str)),
            key_id=_field(data, "key_id", str),
            signature=_b64_field(data, "signature"),
        )


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC text of an aware ``moment``: whole seconds, or microseconds when present."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("checkpoint timestamps must be timezone-aware")
    moment = moment.astimezone(UTC)
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.strftime(pattern)


def parse_timestamp(text: str) -> datetime:
    """The aware UTC datetime of RFC 3339 ``text`` as written by :func:`format_timestamp`."""
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"timestamp {text[:40]!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)")


def checkpoint_body(origin: str, size: int, root: bytes, timestamp: datetime) -> bytes:
    """The signed text: origin, decimal size, base64 root, RFC 3339 timestamp, one per line."""
    if not (
        isinstance(origin, str) and origin and origin.isprintable() and origin == origin.strip()
    ):
        raise ValueError("checkpoint origin must be non-empty printable text without edge spaces")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError("checkpoint tree size must be a non-negative integer")
    if not isinstance(root, bytes) or len(root) != 32:
        raise ValueError("checkpoint root hash must be 32 bytes")
    return f"{origin}\n{size}\n{_b64(root)}\n{format_timestamp(timestamp)}\n".encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    """The short name of a signing key: hex SHA-256 of the raw public key, 16 digits."""
    return hashlib.sha256(public_key.public_bytes(*_RAW)).hexdigest()[:KEY_ID_HEX_DIGITS]


def sign_checkpoint(
    private_key: Ed25519PrivateKey, origin: str, size: int, root: bytes, timestamp: datetime
) -> Checkpoint:
    """Sign the tree head ``(origin, size, root)`` at ``timestamp`` (kept to whole seconds)."""
    timestamp = timestamp.replace(microsecond=0)
    body = checkpoint_body(origin, size, root, timestamp)
    return Checkpoint(
        origin=origin,
        tree_size=size,
        root_hash=root,
        timestamp=timestamp,
        key_id=key_id(private_key.public_key()),
        signature=private_key.sign(body),
    )


def verify_checkpoint(public_key: Ed25519PublicKey, cp: Checkpoint) -> bool:
    """Whether ``cp`` is signed by ``public_key`` and names it; ``False`` on anything wrong."""
    try:
        if cp.key_id != key_id(public_key) or not isinstance(cp.signature, bytes):
            return False
        public_key.verify(cp.signature, cp.body())
    except (InvalidSignature, ValueError, TypeError, AttributeError):
        return False
    return True


def load_private_key(material: str | bytes) -> Ed25519PrivateKey:
    """The Ed25519 signing key from PEM (PKCS#8) or base64 of the raw 32-byte seed.

    Raises ``ValueError`` naming the problem; the key material itself is never echoed.
    """
    if isinstance(material, str):
        material = material.encode()
    if not isinstance(material, bytes) or not material.strip():
        raise ValueError("the ledger signing key is empty")
    material = material.strip()
    if material.startswith(b"-----BEGIN"):
        return _private_key_from_pem(material)
    try:
        seed = base64.b64decode(material, validate=True)
    except binascii.Error:
        raise ValueError("the ledger signing key is neither PEM nor valid base64") from None
    if len(seed) != 32:
        raise ValueError(f"the ledger signing key seed must be 32 bytes, got {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def _private_key_from_pem(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError(
            "the ledger signing key PEM cannot be read (encrypted or malformed?)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"the ledger signing key must be Ed25519, not {type(key).__name__}")
    return key


def load_public_key(material: str | bytes) -> Ed25519PublicKey:
    """The Ed25519 verification key from PEM (SubjectPublicKeyInfo) or base64 of raw 32 bytes."""
    if isinstance(material, str):
        material = material.encode()
    material = material.strip()
    try:
        if material.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(material)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(material, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        raise ValueError(
            "the public key is neither an Ed25519 PEM nor base64 of 32 bytes"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"the public key must be Ed25519, not {type(key).__name__}")
    return key


def public_key_pem(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The PEM (SubjectPublicKeyInfo) text of the public half of ``key``, for publishing."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"checkpoint field {name!r} must be a {kind.__name__}")
    return value


def _b64_field(data: dict[str, Any], name: str) -> bytes:
    try:
        return base64.b64decode(_field(data, name, str), validate=True)
    except binascii.Error:
        raise ValueError(f"checkpoint field {name!r} is not valid base64") from None
