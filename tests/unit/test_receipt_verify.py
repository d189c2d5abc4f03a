"""Offline consent-receipt verification: every check, tampering, and the command line."""

from __future__ import annotations

import ast
import base64
import copy
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger import merkle
from app.ledger.canonical import canonical_bytes
from app.ledger.checkpoint import public_key_pem, sign_checkpoint
from app.ledger.receipt_verify import RECEIPT_FORMAT, main, verify_receipt

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTICE_TEXT = "We will email you offers at most once a week. Withdraw any time."
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _record(seq: int) -> dict:
    return {
        "format": "assenso-consent-record/1",
        "seq": seq,
        "record_id": f"rec-{seq}",
        "subject": f"cus-{seq % 3}",
        "purpose": "offers",
        "channel": "email",
        "action": "granted",
        "notice": {
            "id": 1,
            "version": 2,
            "sha256": hashlib.sha256(NOTICE_TEXT.encode()).hexdigest(),
        },
        "reason": None,
        "event_time": "2026-11-23T02:14:05.000000Z",
    }


def _receipt(seq: int = 5, size: int = 11) -> dict:
    """A receipt for record ``seq`` in a ledger of ``size`` records, as the service builds it."""
    records = [_record(i) for i in range(size)]
    leaves = [merkle.leaf_hash(canonical_bytes(r)) for r in records]
    when = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    cp = sign_checkpoint(SIGNING_KEY, "assenso.test/ledger", size, merkle.root_hash(leaves), when)
    return {
        "receipt_format": RECEIPT_FORMAT,
        "record": records[seq],
        "notice": {"id": 1, "version": 2, "text": NOTICE_TEXT, "sha256": "ignored by the check"},
        "proof": {
            "leaf_index": seq,
            "tree_size": size,
            "leaf_hash": _b64(leaves[seq]),
            "inclusion_proof": [_b64(node) for node in merkle.inclusion_proof(seq, leaves)],
        },
        "checkpoint": cp.to_dict(),
    }


def _failed(receipt: dict, key=None) -> set[str]:
    outcome = verify_receipt(receipt, key or SIGNING_KEY.public_key())
    return {check.name for check in outcome.checks if not check.passed}


@pytest.mark.parametrize(("seq", "size"), [(0, 1), (5, 11), (10, 11), (7, 8)])
def test_a_genuine_receipt_passes_every_check(seq, size):
    """A receipt from the ledger verifies with the published key alone."""
    outcome = verify_receipt(_receipt(seq, size), public_key_pem(SIGNING_KEY))
    assert outcome.ok
    assert [c.name for c in outcome.checks] == [
        "format",
        "leaf_hash",
        "inclusion",
        "signature",
        "key_id",
        "notice",
    ]


def _set(receipt: dict, path: str, value) -> dict:
    altered = copy.deepcopy(receipt)
    *parents, last = path.split(".")
    target = altered
    for name in parents:
        target = target[name]
    target[last] = value
    return altered


@pytest.mark.parametrize(
    ("path", "value", "failing"),
    [
        ("record.action", "withdrawn", {"leaf_hash"}),
        ("record.seq", 4, {"leaf_hash", "inclusion"}),
        ("proof.leaf_index", 4, {"inclusion"}),
        ("proof.tree_size", 12, {"inclusion"}),
        ("proof.inclusion_proof", [], {"inclusion"}),
        ("proof.leaf_hash", _b64(b"\0" * 32), {"leaf_hash", "inclusion"}),
        ("checkpoint.root_hash", _b64(b"\0" * 32), {"inclusion", "signature"}),
        ("checkpoint.tree_size", 12, {"inclusion", "signature"}),
        ("checkpoint.timestamp", "2030-01-01T00:00:00Z", {"signature"}),
        ("checkpoint.signature", _b64(b"\0" * 64), {"signature"}),
        ("checkpoint.key_id", "0000000000000000", {"signature", "key_id"}),
        ("notice.text", "We will text you hourly.", {"notice"}),
        ("receipt_format", "assenso-consent-receipt/9", {"format"}),
    ],
)
def test_tampering_fails_the_check_that_catches_it(path, value, failing):
    """Each alteration is caught by the checks a reader would expect, and only those."""
    assert _failed(_set(_receipt(), path, value)) == failing


def test_another_key_fails_signature_and_key_id():
    """A receipt does not verify against someone else's ledger key."""
    other = Ed25519PrivateKey.generate().public_key()
    assert _failed(_receipt(), other) == {"signature", "key_id"}


@pytest.mark.parametrize(
    "receipt",
    [
        {},
        [],
        "receipt",
        {"receipt_format": RECEIPT_FORMAT, "record": 5, "proof": [], "checkpoint": None},
    ],
)
def test_garbage_is_reported_not_raised(receipt):
    """A malformed receipt fails its checks with messages instead of raising."""
    outcome = verify_receipt(receipt, SIGNING_KEY.public_key())
    assert not outcome.ok
    assert all(check.message for check in outcome.checks)


def test_a_record_without_notice_needs_none():
    """Records that refer to no notice pass the notice check without one."""
    receipt = _set(_receipt(0, 1), "record.notice", None)
    leaf = merkle.leaf_hash(canonical_bytes(receipt["record"]))
    cp = sign_checkpoint(SIGNING_KEY, "assenso.test/ledger", 1, leaf, datetime.now(UTC))
    receipt.update(notice=None, checkpoint=cp.to_dict())
    receipt["proof"]["leaf_hash"] = _b64(leaf)
    assert verify_receipt(receipt, SIGNING_KEY.public_key()).ok


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A genuine receipt and the public key PEM, written to files."""
    receipt, key = tmp_path / "receipt.json", tmp_path / "key.pem"
    receipt.write_text(json.dumps(_receipt()))
    key.write_text(public_key_pem(SIGNING_KEY))
    return receipt, key


def test_command_line_exit_codes(files, tmp_path, capsys):
    """0 for a valid receipt, 1 for an invalid one, 2 for unreadable input, each explained."""
    receipt, key = files
    assert main([str(receipt), "--public-key", str(key)]) == 0
    assert "PASS  signature" in capsys.readouterr().out
    receipt.write_text(json.dumps(_set(_receipt(), "record.action", "withdrawn")))
    assert main([str(receipt), "--public-key", str(key)]) == 1
    assert "FAIL  leaf_hash" in capsys.readouterr().out
    receipt.write_text("{not json")
    assert main([str(receipt), "--public-key", str(key)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.json"), "--public-key", str(key)]) == 2
    assert "cannot read receipt" in capsys.readouterr().err
    receipt.write_text(json.dumps(_receipt()))
    key.write_text("not a key")
    assert main([str(receipt), "--public-key", str(key)]) == 2
    assert "public key" in capsys.readouterr().err


def test_runs_as_a_module(files):
    """``python -m app.ledger.receipt_verify`` works from the repository root."""
    receipt, key = files
    done = subprocess.run(
        [sys.executable, "-m", "app.ledger.receipt_verify", str(receipt), "--public-key", str(key)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "VALID" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("module", ["merkle", "tree", "canonical", "checkpoint", "receipt_verify"])
def test_pure_ledger_modules_import_no_flask_or_database(module):
    """The verifier's modules stay usable offline: no Flask, SQLAlchemy or app services."""
    source = (REPO_ROOT / "app" / "ledger" / f"{module}.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    allowed_app = {"app.ledger.merkle", "app.ledger.canonical", "app.ledger.checkpoint"}
    for name in imported:
        assert not name.startswith(("flask", "sqlalchemy")), name
        assert not name.startswith("app") or name in allowed_app, name


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
RECEIPT_PATHS = [
    "record",
    "record.seq",
    "record.notice",
    "notice",
    "notice.text",
    "proof",
    "proof.leaf_index",
    "proof.tree_size",
    "proof.leaf_hash",
    "proof.inclusion_proof",
    "checkpoint",
    "checkpoint.tree_size",
    "checkpoint.timestamp",
    "checkpoint.signature",
    "checkpoint.root_hash",
]


@settings(max_examples=80, deadline=None)
@given(path=st.sampled_from(RECEIPT_PATHS), value=json_values)
def test_any_json_anywhere_is_judged_never_raised(path, value):
    """Whatever JSON replaces a part of a receipt, verification reports instead of raising."""
    outcome = verify_receipt(_set(_receipt(), path, value), SIGNING_KEY.public_key())
    assert len(outcome.checks) == 6
