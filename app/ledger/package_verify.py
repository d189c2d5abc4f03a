"""Offline verification of a whole evidence package: every file, event, message and policy text.

Run ``python -m app.ledger.package_verify PACKAGE_DIR`` from the package's ``verifier`` folder
(the public key defaults to ``PACKAGE_DIR/public-key.pem``). The checks:

* ``manifest.sig`` is the ledger key's signature of ``manifest.json`` (see
  :mod:`app.ledger.package_manifest`), and the manifest names that key;
* every file the manifest lists is present with the SHA-256 it records, and ``receipts/`` holds
  no receipt it does not list;
* every consent receipt, in ``receipts/`` and in ``evidence.json``, verifies on its own
  (:func:`app.ledger.receipt_verify.verify_receipt`: record, inclusion proof, signed checkpoint,
  notice text), is about the package's customer and is one of the manifest's events;
* every message entry, in ``evidence.json`` and ``messages.json``, hashes to the manifest's entry,
  and cites a policy the package holds;
* every policy text, in ``evidence.json`` and ``policies.json``, hashes to the SHA-256 it is
  named by, and that SHA-256 is one the manifest lists.

Each check prints one line naming the file and the entry; the exit code is 0 when all pass,
1 when any fails, 2 when the package cannot be read at all.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.ledger.checkpoint import key_id, load_public_key
from app.ledger.package_manifest import (
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    SIGNATURE_FILE,
    entry_hash,
    sha256_hex,
    signed_bytes,
    text_hash,
)
from app.ledger.receipt_verify import verify_receipt

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


class PackageUnreadable(ValueError):
    """The package's manifest, signature or public key cannot be read at all."""


@dataclass(frozen=True)
class Finding:
    """One check: the file and entry it is about, whether it passed, and why."""

    file: str
    entry: str
    passed: bool
    message: str

    def line(self) -> str:
        """The finding as one printed line."""
        where = f"{self.file} {self.entry}".strip()
        return f"{'PASS' if self.passed else 'FAIL'}  {where}: {self.message}"


@dataclass
class PackageVerification:
    """Every finding about a package; ``ok`` only when there are some and all passed."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.findings) and all(f.passed for f in self.findings)

    @property
    def failures(self) -> list[Finding]:
        """The checks that failed, in the order they ran."""
        return [f for f in self.findings if not f.passed]

    def add(self, file: str, entry: str, passed: bool, message: str) -> None:
        """Record one finding."""
        self.findings.append(Finding(file, entry, passed, message))


def _read_json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def _load(root: Path, key_path: Path | None) -> tuple[dict, bytes, Ed25519PublicKey]:
    try:
        manifest = _read_json(root / MANIFEST_FILE)
        signature = base64.b64decode((root / SIGNATURE_FILE).read_bytes().strip(), validate=True)
        public_key = load_public_key((key_path or root / "public-key.pem").read_bytes())
    except (OSError, ValueError, binascii.Error) as exc:
        raise PackageUnreadable(f"cannot read the package in {root}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("manifest_format") != MANIFEST_FORMAT:
        raise PackageUnreadable(f"{MANIFEST_FILE} is not an {MANIFEST_FORMAT} manifest")
    return manifest, signature, public_key


def _check_signature(out: PackageVerification, manifest, signature, public_key) -> None:
    try:
        public_key.verify(signature, signed_bytes(manifest))
        out.add(SIGNATURE_FILE, "", True, f"the manifest is signed by key {key_id(public_key)}")
    except (InvalidSignature, ValueError):
        out.add(SIGNATURE_FILE, "", False, "the manifest's signature does not verify: altered")
    named = manifest.get("key_id")
    if named != key_id(public_key):
        out.add(MANIFEST_FILE, "key_id", False, f"names key {named!r}, not the given key")


def _check_files(out: PackageVerification, root: Path, files: dict[str, str]) -> None:
    for name, digest in sorted(files.items()):
        path = root / name
        if not path.is_file():
            out.add(name, "", False, "listed in the manifest but missing")
        elif sha256_hex(path.read_bytes()) != digest:
            out.add(name, "", False, "changed since the package was signed")
        else:
            out.add(name, "", True, "unchanged since the package was signed")
    receipts = root / "receipts"
    for path in sorted(receipts.glob("*.json")) if receipts.is_dir() else []:
        name = f"receipts/{path.name}"
        if name not in files:
            out.add(name, "", False, "a receipt the manifest does not list")


def _check_receipt(out, file, entry, receipt, public_key, manifest, events) -> None:
    record = receipt.get("record") if isinstance(receipt, dict) else None
    record = record if isinstance(record, dict) else {}
    label = f"{entry} (ledger entry {record.get('seq')})".strip()
    outcome = verify_receipt(receipt, public_key)
    problems = [f"{c.name}: {c.message}" for c in outcome.checks if not c.passed]
    if record.get("subject") != manifest.get("customer_ref"):
        problems.append("the record is about another customer")
    proof = receipt.get("proof") if isinstance(receipt, dict) else None
    leaf = proof.get("leaf_hash") if isinstance(proof, dict) else None
    if (record.get("seq"), record.get("record_id"), leaf) not in events:
        problems.append("not one of the events the manifest lists")
    message = "; ".join(problems) or "record, proof, checkpoint and notice verify"
    out.add(file, label, not problems, message)


def _check_receipts(out, file, receipts, public_key, manifest, events, prefix="") -> None:
    if not isinstance(receipts, list):
        out.add(file, prefix.rstrip("."), False, "no list of consent receipts")
        return
    for index, receipt in enumerate(receipts):
        _check_receipt(out, file, f"{prefix}[{index}]", receipt, public_key, manifest, events)
    if len(receipts) != len(events):
        out.add(file, prefix, False, f"holds {len(receipts)} events, the manifest {len(events)}")


def _check_messages(out, file, messages, manifest, prefix="") -> None:
    signed = manifest.get("messages") or []
    if not isinstance(messages, list) or len(messages) != len(signed):
        out.add(file, prefix, False, f"does not hold the {len(signed)} messages signed")
        return
    for index, (message, expected) in enumerate(zip(messages, signed, strict=True)):
        label = f"{prefix}[{index}] (message {expected.get('message')})"
        try:
            same = entry_hash(message) == expected.get("sha256")
        except (ValueError, TypeError):
            same = False
        reason = "matches the signed manifest" if same else "differs from the signed manifest"
        out.add(file, label, same, reason)


def _check_policies(out, file, policies, manifest, prefix="") -> None:
    signed = {p.get("sha256") for p in manifest.get("policies") or []}
    if not isinstance(policies, list):
        out.add(file, prefix, False, "no list of policies")
        return
    for index, policy in enumerate(policies):
        policy = policy if isinstance(policy, dict) else {}
        label = f"{prefix}[{index}] ({policy.get('filename')})"
        text, named = policy.get("text"), policy.get("sha256")
        if not isinstance(text, str) or text_hash(text) != named:
            out.add(file, label, False, "the policy text does not hash to its SHA-256")
        elif named not in signed:
            out.add(file, label, False, "a policy the signed manifest does not list")
        else:
            out.add(file, label, True, f"the text hashes to {named[:16]}…")


def _check_citations(out, messages, policies) -> None:
    held = {p.get("sha256") for p in policies if isinstance(p, dict)}
    for index, message in enumerate(messages):
        cited = message.get("policy_sha256") if isinstance(message, dict) else None
        if cited and cited not in held:
            label = f"messages[{index}] (message {message.get('message')})"
            out.add("evidence.json", label, False, f"cites policy {cited[:16]}… not in the package")


def _part(out: PackageVerification, root: Path, name: str) -> Any:
    try:
        return _read_json(root / name)
    except (OSError, ValueError):
        out.add(name, "", False, "missing or not JSON")
        return None


def verify_package(root: Path | str, key_path: Path | str | None = None) -> PackageVerification:
    """Check the unzipped package in ``root``; :class:`PackageUnreadable` when it cannot be read."""
    root = Path(root)
    manifest, signature, public_key = _load(root, Path(key_path) if key_path else None)
    out = PackageVerification()
    _check_signature(out, manifest, signature, public_key)
    _check_files(out, root, manifest.get("files") or {})
    listed = [e for e in manifest.get("events") or [] if isinstance(e, dict)]
    events = {(e.get("seq"), e.get("record_id"), e.get("leaf_hash")) for e in listed}
    for name in sorted(manifest.get("files") or {}):
        if name.startswith("receipts/") and (root / name).is_file():
            receipt = _part(out, root, name)
            if receipt is not None:
                _check_receipt(out, name, "", receipt, public_key, manifest, events)
    evidence = _part(out, root, "evidence.json")
    if isinstance(evidence, dict):
        if (evidence.get("customer") or {}).get("ref") != manifest.get("customer_ref"):
            out.add("evidence.json", "customer", False, "names another customer than signed")
        receipts = evidence.get("consent_receipts")
        _check_receipts(
            out, "evidence.json", receipts, public_key, manifest, events, "consent_receipts"
        )
        _check_messages(out, "evidence.json", evidence.get("messages"), manifest, "messages")
        _check_policies(out, "evidence.json", evidence.get("policies"), manifest, "policies")
        _check_citations(out, evidence.get("messages") or [], evidence.get("policies") or [])
    messages = _part(out, root, "messages.json")
    if messages is not None:
        _check_messages(out, "messages.json", messages, manifest)
    policies = _part(out, root, "policies.json")
    if policies is not None:
        _check_policies(out, "policies.json", policies, manifest)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: one line per check; exit 0 valid, 1 invalid, 2 unreadable."""
    parser = argparse.ArgumentParser(
        prog="python -m app.ledger.package_verify",
        description="Verify an unzipped Assenso evidence package, file by file and entry by entry.",
    )
    parser.add_argument("package", help="the folder the package was unzipped into")
    parser.add_argument("--public-key", help="the ledger's public key (default: the package's)")
    parser.add_argument("--failures-only", action="store_true", help="print failed checks only")
    args = parser.parse_args(argv)
    try:
        outcome = verify_package(args.package, args.public_key)
    except PackageUnreadable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    for finding in outcome.findings:
        if finding.passed and args.failures_only:
            continue
        print(finding.line())
    if outcome.ok:
        print(f"VALID: all {len(outcome.findings)} checks passed.")
        return EXIT_VALID
    print(f"INVALID: {len(outcome.failures)} of {len(outcome.findings)} checks failed.")
    return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
