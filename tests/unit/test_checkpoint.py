"""Signed checkpoints: the body format, signing, verification and key handling."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger.checkpoint import (
    Checkpoint,
    checkpoint_body,
    key_id,
    load_private_key,
    load_public_key,
    public_key_pem,
    sign_checkpoint,
    verify_checkpoint,
)

SEED = bytes(range(32))
ROOT = hashlib.sha256(b"root").digest()
WHEN = datetime(2026, 11, 23, 2, 14, 5, 123456, tzinfo=UTC)


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    """A fixed Ed25519 key (from a known seed)."""
    return Ed25519PrivateKey.from_private_bytes(SEED)


@pytest.fixture
def checkpoint(signing_key) -> Checkpoint:
    """A checkpoint of 1042 leaves signed with ``signing_key``."""
    return sign_checkpoint(signing_key, "assenso.test/ledger", 1042, ROOT, WHEN)


def test_body_is_four_documented_lines():
    """Origin, decimal size, base64 root and RFC 3339 time, each ending in a newline."""
    body = checkpoint_body("assenso.test/ledger", 1042, ROOT, WHEN.replace(microsecond=0))
    root_b64 = base64.b64encode(ROOT).decode()
    assert body == f"assenso.test/ledger\n1042\n{root_b64}\n2026-11-23T02:14:05Z\n".encode()


def test_body_uses_utc_whatever_the_zone():
    """An aware time in another zone is written as the same instant in UTC."""
    paris = WHEN.astimezone(timezone(timedelta(hours=1)))
    assert checkpoint_body("o", 1, ROOT, paris) == checkpoint_body("o", 1, ROOT, WHEN)


@pytest.mark.parametrize(
    ("origin", "size", "root", "moment", "problem"),
    [
        ("two\nlines", 1, ROOT, WHEN, "origin"),
        ("", 1, ROOT, WHEN, "origin"),
        ("tab\there", 1, ROOT, WHEN, "origin"),
        ("\ud800", 1, ROOT, WHEN, "origin"),
        (" padded", 1, ROOT, WHEN, "origin"),
        ("o", -1, ROOT, WHEN, "size"),
        ("o", 1, b"short", WHEN, "root"),
        ("o", 1, ROOT, WHEN.replace(tzinfo=None), "timezone-aware"),
    ],
)
def test_body_refuses_what_would_make_it_ambiguous(origin, size, root, moment, problem):
    """A body must stay four unambiguous lines of well-formed values."""
    with pytest.raises(ValueError, match=problem):
        checkpoint_body(origin, size, root, moment)


def test_signed_checkpoint_verifies_and_names_its_key(signing_key, checkpoint):
    """A fresh checkpoint verifies with the public key; its time is kept to whole seconds."""
    public_key = signing_key.public_key()
    assert verify_checkpoint(public_key, checkpoint)
    assert checkpoint.timestamp == WHEN.replace(microsecond=0)
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert checkpoint.key_id == key_id(public_key) == hashlib.sha256(raw).hexdigest()[:16]


@pytest.mark.parametrize(
    "change",
    [
        {"origin": "other.test/ledger"},
        {"tree_size": 1043},
        {"root_hash": hashlib.sha256(b"other").digest()},
        {"timestamp": WHEN + timedelta(seconds=1)},
        {"signature": b"\0" * 64},
        {"signature": b"short"},
        {"key_id": "0123456789abcdef"},
        {"root_hash": b"short"},
        {"tree_size": -1},
        {"timestamp": WHEN.replace(tzinfo=None)},
        {"signature": None},
    ],
)
def test_any_change_breaks_verification(signing_key, checkpoint, change):
    """Altering any field, or malformed values, is a failed verification, never an exception."""
    altered = dataclasses.replace(checkpoint, **change)
    assert verify_checkpoint(signing_key.public_key(), altered) is False


def test_another_key_does_not_verify(checkpoint):
    """A checkpoint does not verify with someone else's key, nor with garbage as a key."""
    other = Ed25519PrivateKey.generate().public_key()
    assert verify_checkpoint(other, checkpoint) is False
    assert verify_checkpoint("not a key", checkpoint) is False  # type: ignore[arg-type]
    assert verify_checkpoint(other, "not a checkpoint") is False  # type: ignore[arg-type]


def test_dict_form_round_trips(signing_key, checkpoint):
    """The JSON form uses base64 and RFC 3339 and reads back to the same valid checkpoint."""
    data = checkpoint.to_dict()
    assert data["root_hash"] == base64.b64encode(ROOT).decode()
    assert data["timestamp"] == "2026-11-23T02:14:05Z"
    again = Checkpoint.from_dict(data)
    assert again == checkpoint
    assert verify_checkpoint(signing_key.public_key(), again)


def test_sub_second_timestamps_round_trip():
    """A checkpoint made elsewhere with microseconds keeps them in its body and JSON."""
    cp = Checkpoint("o", 1, ROOT, WHEN, "k", b"s")
    assert Checkpoint.from_dict(cp.to_dict()).timestamp == WHEN
    assert b"2026-11-23T02:14:05.123456Z" in cp.body()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tree_size": "12"}, "tree_size"),
        ({"tree_size": True}, "tree_size"),
        ({"root_hash": "***"}, "root_hash"),
        ({"signature": None}, "signature"),
        ({"timestamp": "yesterday"}, "RFC 3339"),
        ({"origin": 5}, "origin"),
    ],
)
def test_dict_form_names_the_bad_field(checkpoint, change, field):
    """Reading a malformed JSON checkpoint raises ValueError naming the field."""
    with pytest.raises(ValueError, match=field):
        Checkpoint.from_dict({**checkpoint.to_dict(), **change})
    with pytest.raises(ValueError, match="JSON object"):
        Checkpoint.from_dict(["not", "an", "object"])


def test_private_key_from_seed_and_pem(signing_key):
    """The signing key loads from base64 of its seed or from PKCS#8 PEM, str or bytes."""
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    for material in (base64.b64encode(SEED).decode(), base64.b64encode(SEED), pem, pem.decode()):
        loaded = load_private_key(material)
        assert key_id(loaded.public_key()) == key_id(signing_key.public_key())


def _ec_pem() -> bytes:
    return generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    ("material", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("not base64 at all!", "neither PEM nor valid base64"),
        (base64.b64encode(b"\x07" * 31).decode(), "32 bytes, got 31"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "cannot be read"),
        (_ec_pem(), "must be Ed25519"),
    ],
)
def test_private_key_errors_are_clear_and_never_echo_the_key(material, problem):
    """Bad key material raises ValueError naming the problem, without the material itself."""
    with pytest.raises(ValueError, match=problem) as caught:
        load_private_key(material)
    text = material.decode() if isinstance(material, bytes) else material
    if text.strip():
        assert text.strip() not in str(caught.value)


def test_public_key_pem_round_trips(signing_key):
    """The published PEM loads back as the same key, from a private or a public key."""
    pem = public_key_pem(signing_key)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert pem == public_key_pem(signing_key.public_key())
    assert key_id(load_public_key(pem)) == key_id(signing_key.public_key())
    raw = signing_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert key_id(load_public_key(base64.b64encode(raw))) == key_id(signing_key.public_key())
    with pytest.raises(ValueError, match="neither an Ed25519 PEM"):
        load_public_key("garbage")


@settings(max_examples=30, deadline=None)
@given(
    origin=st.text(min_size=1).map(str.strip).filter(lambda o: o and o.isprintable()),
    size=st.integers(0, 2**63),
    root=st.binary(min_size=32, max_size=32),
    seconds=st.integers(0, 4_000_000_000),
)
def test_any_well_formed_checkpoint_signs_and_verifies(origin, size, root, seconds):
    """Signing then verifying works for any printable origin, size, root and time."""
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    moment = datetime.fromtimestamp(seconds, UTC)
    cp = sign_checkpoint(key, origin, size, root, moment)
    assert verify_checkpoint(key.public_key(), Checkpoint.from_dict(cp.to_dict()))
