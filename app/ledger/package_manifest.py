"""The signed manifest of an evidence package: what makes every file and entry tamper-evident.

Consent events prove themselves (each receipt's inclusion proof leads to a signed checkpoint).
Messages and policy texts are not ledger leaves, so the package carries ``manifest.json``: the
SHA-256 of every file, of every message entry (RFC 8785 canonical JSON) and of every policy text,
and the list of events it holds, signed in ``manifest.sig`` with the ledger's Ed25519 key over
``MANIFEST_CONTEXT`` followed by the manifest's canonical bytes (the context keeps a manifest
signature from ever reading as a checkpoint's). Pure Python: bundled with the offline verifier.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.ledger.canonical import canonical_bytes
from app.ledger.checkpoint import key_id

MANIFEST_FORMAT = "assenso-evidence-manifest/1"
MANIFEST_CONTEXT = b"assenso-evidence-manifest/1\n"
MANIFEST_FILE, SIGNATURE_FILE = "manifest.json", "manifest.sig"


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """Hex SHA-256 of one JSON entry's RFC 8785 canonical bytes (messages, events)."""
    return sha256_hex(canonical_bytes(dict(entry)))


def text_hash(text: str) -> str:
    """Hex SHA-256 of a text's UTF-8 bytes (how policy files and notices are named)."""
    return sha256_hex(text.encode())


def signed_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The bytes the manifest's signature covers."""
    return MANIFEST_CONTEXT + canonical_bytes(dict(manifest))


def build_manifest(
    document: Mapping[str, Any], files: Mapping[str, bytes], private_key: Ed25519PrivateKey
) -> tuple[dict[str, Any], str]:
    """The manifest of a package (its ``evidence.json`` document and its other files) and the
    base64 signature of it."""
    manifest = {
        "manifest_format": MANIFEST_FORMAT,
        "package_format": document["package_format"],
        "customer_ref": document["customer"]["ref"],
        "generated_at": document["generated_at"],
        "key_id": key_id(private_key.public_key()),
        "files": {name: sha256_hex(data) for name, data in sorted(files.items())},
        "events": [
            {
                "seq": receipt["record"]["seq"],
                "record_id": receipt["record"]["record_id"],
                "leaf_hash": receipt["proof"]["leaf_hash"],
            }
            for receipt in document["consent_receipts"]
        ],
        "messages": [
            {"message": message["message"], "sha256": entry_hash(message)}
            for message in document["messages"]
        ],
        "policies": [
            {"policy_id": policy["policy_id"], "sha256": policy["sha256"]}
            for policy in document["policies"]
        ],
    }
    signature = base64.b64encode(private_key.sign(signed_bytes(manifest))).decode()
    return manifest, signature
