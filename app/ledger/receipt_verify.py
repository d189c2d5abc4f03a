"""Offline verification of a consent receipt: no database, no Flask app, just the public key.

A receipt is the customer's copy of one consent record with the proof that the ledger holds
it. Its JSON shape (``assenso-consent-receipt/1``)::

    {
      "receipt_format": "assenso-consent-receipt/1",
      "record": {...},        # the exact ledger record; its RFC 8785 bytes are the leaf data
      "notice": null | {"id": int, "purpose": str, "language": str, "version": int,
                        "title": str, "text": str, "sha256": hex of SHA-256(text UTF-8),
                        "effective_at": RFC 3339},
      "proof": {"leaf_index": int, "tree_size": int,
                "leaf_hash": base64, "inclusion_proof": [base64, ...]},
      "checkpoint": {"origin": str, "tree_size": int, "root_hash": base64,
                     "timestamp": RFC 3339, "key_id": hex, "signature": base64}
    }

The checks: the format is known; the leaf hash recomputed from the record matches
``proof.leaf_hash``; the inclusion proof leads from it to the checkpoint's root (for the
checkpoint's size and the record's own ``seq``); the checkpoint's Ed25519 signature verifies
with the given key and its ``key_id`` names that key; the notice shown is the one the record
refers to. Run ``python -m app.ledger.receipt_verify RECEIPT.json --public-key KEY.pem``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.ledger.canonical import canonical_bytes
from app.ledger.checkpoint import Checkpoint, key_id, load_public_key, verify_checkpoint
from app.ledger.merkle import leaf_hash, verify_inclusion

RECEIPT_FORMAT = "assenso-consent-receipt/1"
EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


@dataclass(frozen=True)
class ReceiptCheck:
    """One named check of a receipt, whether it passed, and a message for a person."""

    name: str
    passed: bool
    message: str


@dataclass
class ReceiptVerification:
    """The outcome of verifying a receipt: ``ok`` only when every check passed."""

    checks: list[ReceiptCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there are checks and all of them passed."""
        return bool(self.checks) and all(check.passed for check in self.checks)


class _CheckFailed(ValueError):
    """A check failed or a receipt part is missing or malformed; the message says which."""


class _Unreadable(ValueError):
    """An input file cannot be read or parsed at all."""


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise _CheckFailed(f"{what} is missing or not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise _CheckFailed(f"{what} is not valid base64") from None


def _part(receipt: Any, name: str) -> dict[str, Any]:
    part = receipt.get(name) if isinstance(receipt, dict) else None
    if not isinstance(part, dict):
        raise _CheckFailed(f"the receipt has no {name!r} object")
    return part


def _integer(part: dict[str, Any], name: str) -> int:
    value = part.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _CheckFailed(f"proof.{name} is missing or not an integer")
    return value


def _check_format(receipt: Any) -> str:
    found = receipt.get("receipt_format") if isinstance(receipt, dict) else None
    if found != RECEIPT_FORMAT:
        raise _CheckFailed(f"receipt_format is {found!r}, expected {RECEIPT_FORMAT!r}")
    return f"format {RECEIPT_FORMAT}"


def _check_leaf_hash(receipt: Any) -> str:
    record, proof = _part(receipt, "record"), _part(receipt, "proof")
    claimed = _b64(proof.get("leaf_hash"), "proof.leaf_hash")
    try:
        recomputed = leaf_hash(canonical_bytes(record))
    except ValueError as exc:
        raise _CheckFailed(f"the record cannot be canonicalised: {exc}") from None
    if recomputed != claimed:
        raise _CheckFailed("the record's hash differs from proof.leaf_hash: the record was altered")
    return f"record hashes to leaf {recomputed.hex()[:16]}…"


def _check_inclusion(receipt: Any) -> str:
    proof, checkpoint = _part(receipt, "proof"), _part(receipt, "checkpoint")
    index, size = _integer(proof, "leaf_index"), _integer(proof, "tree_size")
    if size != checkpoint.get("tree_size"):
        raise _CheckFailed(
            f"proof is for {size} leaves, checkpoint signs {checkpoint.get('tree_size')}"
        )
    seq = _part(receipt, "record").get("seq", index)
    if seq != index:
        raise _CheckFailed(f"record seq {seq} differs from proof.leaf_index {index}")
    path = proof.get("inclusion_proof")
    if not isinstance(path, list):
        raise _CheckFailed("proof.inclusion_proof is missing or not a list")
    nodes = [_b64(node, f"proof.inclusion_proof[{i}]") for i, node in enumerate(path)]
    root = _b64(checkpoint.get("root_hash"), "checkpoint.root_hash")
    claimed = _b64(proof.get("leaf_hash"), "proof.leaf_hash")
    if not verify_inclusion(index, size, claimed, nodes, root):
        raise _CheckFailed(f"leaf {index} does not lead to the checkpoint root of {size} leaves")
    return f"leaf {index} is in the tree of {size} leaves ({len(nodes)} proof hashes)"


def _check_signature(receipt: Any, public_key: Ed25519PublicKey) -> str:
    checkpoint = Checkpoint.from_dict(_part(receipt, "checkpoint"))
    if not verify_checkpoint(public_key, checkpoint):
        raise _CheckFailed("the checkpoint signature does not verify with this public key")
    return f"checkpoint of {checkpoint.origin} signed at {checkpoint.to_dict()['timestamp']}"


def _check_key_id(receipt: Any, public_key: Ed25519PublicKey) -> str:
    claimed, expected = _part(receipt, "checkpoint").get("key_id"), key_id(public_key)
    if claimed != expected:
        raise _CheckFailed(f"checkpoint names key {claimed!r}, the given key is {expected}")
    return f"signed by key {expected}"


def _check_notice(receipt: Any) -> str:
    referenced = _part(receipt, "record").get("notice")
    if referenced is None:
        return "the record refers to no notice"
    notice = _part(receipt, "notice")
    text = notice.get("text")
    if not isinstance(referenced, dict) or not isinstance(text, str):
        raise _CheckFailed("the notice text or the record's notice reference is malformed")
    if hashlib.sha256(text.encode()).hexdigest() != referenced.get("sha256"):
        raise _CheckFailed("the notice text shown is not the one the consent was given to")
    return f"notice version {referenced.get('version')} matches the record"


def _run(name: str, check: Callable[[], str]) -> ReceiptCheck:
    try:
        return ReceiptCheck(name, True, check())
    except ValueError as exc:  # _CheckFailed and malformed checkpoint fields alike
        return ReceiptCheck(name, False, str(exc))


def verify_receipt(receipt: Any, public_key: Ed25519PublicKey | str | bytes) -> ReceiptVerification:
    """Check a parsed receipt against the ledger's public key (object, PEM or base64 raw).

    Never raises for a bad receipt (each check reports); ``ValueError`` for unreadable key text.
    """
    if not isinstance(public_key, Ed25519PublicKey):
        public_key = load_public_key(public_key)
    checks = [
        ("format", lambda: _check_format(receipt)),
        ("leaf_hash", lambda: _check_leaf_hash(receipt)),
        ("inclusion", lambda: _check_inclusion(receipt)),
        ("signature", lambda: _check_signature(receipt, public_key)),
        ("key_id", lambda: _check_key_id(receipt, public_key)),
        ("notice", lambda: _check_notice(receipt)),
    ]
    return ReceiptVerification([_run(name, check) for name, check in checks])


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise _Unreadable(f"cannot read {what} {path}: {exc.strerror}") from None


def _load_inputs(receipt_path: str, key_path: str) -> tuple[Any, Ed25519PublicKey]:
    try:
        receipt = json.loads(_read(receipt_path, "receipt"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Unreadable(f"receipt {receipt_path} is not valid JSON") from None
    if not isinstance(receipt, dict):
        raise _Unreadable(f"receipt {receipt_path} is not a JSON object")
    try:
        return receipt, load_public_key(_read(key_path, "public key"))
    except _Unreadable:
        raise
    except ValueError as exc:
        raise _Unreadable(f"public key {key_path}: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print each check; exit 0 valid, 1 invalid, 2 unreadable input."""
    parser = argparse.ArgumentParser(
        prog="python -m app.ledger.receipt_verify", description="Verify an Assenso consent receipt."
    )
    parser.add_argument("receipt", help="the receipt JSON file")
    parser.add_argument("--public-key", required=True, help="the ledger's public key (PEM file)")
    args = parser.parse_args(argv)
    try:
        receipt, public_key = _load_inputs(args.receipt, args.public_key)
    except _Unreadable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    outcome = verify_receipt(receipt, public_key)
    for check in outcome.checks:
        print(f"{'PASS' if check.passed else 'FAIL'}  {check.name:<10} {check.message}")
    print("VALID: the ledger holds this consent record." if outcome.ok else "INVALID receipt.")
    return EXIT_VALID if outcome.ok else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
