"""Envelope encryption: round trips, rotation, every tamper case, and no leaks."""

from __future__ import annotations

import pickle
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.vault import (
    DecryptionError,
    FieldCipher,
    KeyRing,
    KeyUnavailableError,
    VaultError,
    WrappedKey,
    decrypt_field,
    encrypt_field,
    needs_rewrap,
    new_data_key,
    rewrap_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from app.vault.envelope import FIELD_OVERHEAD, WRAPPED_KEY_BYTES
from tests.unit.test_vault_support import assert_no_secret

ALICE = "3f1e6a0c-4b7d-4c1e-9a55-0d2f8e6b1c01"
BOB = "8a2b4c6d-1e3f-4a5b-8c7d-9e0f1a2b3c4d"
SECRET = "giulia.rossi@example.it"
KEK1 = bytes(range(1, 33))
KEK2 = bytes(range(201, 233))
RING_V1 = KeyRing({1: KEK1})
RING_V2 = RING_V1.with_key(2, KEK2)


@pytest.fixture
def dek() -> bytes:
    return new_data_key()


def test_data_keys_are_random_256_bit() -> None:
    assert len(new_data_key()) == 32 and new_data_key() != new_data_key()


def test_wrap_unwrap_round_trip(dek: bytes) -> None:
    wrapped = wrap_data_key(RING_V2, ALICE, dek)
    assert wrapped.kek_version == 2 and len(wrapped.blob) == WRAPPED_KEY_BYTES
    assert unwrap_data_key(RING_V2, ALICE, wrapped) == dek
    assert wrap_data_key(RING_V2, ALICE, dek).blob != wrapped.blob  # fresh nonce


def test_field_round_trip_and_layout(dek: bytes) -> None:
    blob = encrypt_field(dek, ALICE, "email", SECRET)
    assert len(blob) == FIELD_OVERHEAD + len(SECRET.encode()) and blob[0] == 1
    assert SECRET.encode() not in blob
    assert decrypt_field(dek, ALICE, "email", blob) == SECRET


def test_field_cipher_decrypts_several_fields(dek: bytes) -> None:
    cipher = FieldCipher.open(RING_V1, ALICE, wrap_data_key(RING_V1, ALICE, dek))
    blobs = {"email": cipher.encrypt("email", SECRET), "city": cipher.encrypt("city", "Città")}
    assert cipher.decrypt_fields(blobs) == {"email": SECRET, "city": "Città"}


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300), field=st.sampled_from(["email", "first_name", "x"]))
def test_any_text_round_trips(text: str, field: str) -> None:
    dek = new_data_key()
    blob = encrypt_field(dek, BOB, field, text)
    assert decrypt_field(dek, BOB, field, blob) == text


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.text(max_size=50), min_size=1, max_size=4), ref=st.uuids())
def test_rotation_keeps_fields_readable_until_old_kek_is_retired(
    values: list[str], ref: uuid.UUID
) -> None:
    customer = str(ref)
    dek = new_data_key()
    old = wrap_data_key(RING_V1, customer, dek)
    blobs = [encrypt_field(dek, customer, f"f{i}", v) for i, v in enumerate(values)]
    assert needs_rewrap(RING_V2, old)
    new = rewrap_data_key(RING_V2, customer, old)
    assert new.kek_version == 2 and not needs_rewrap(RING_V2, new)
    retired = RING_V2.retire(1)
    cipher = FieldCipher.open(retired, customer, new)
    assert [cipher.decrypt(f"f{i}", b) for i, b in enumerate(blobs)] == values
    with pytest.raises(KeyUnavailableError, match="key version 1 is not in the key ring"):
        unwrap_data_key(retired, customer, old)


def test_unwrap_with_wrong_kek_fails(dek: bytes) -> None:
    wrapped = wrap_data_key(RING_V1, ALICE, dek)
    impostor = KeyRing({1: KEK2})
    with pytest.raises(DecryptionError, match="failed authentication") as caught:
        unwrap_data_key(impostor, ALICE, wrapped)
    assert_no_secret(caught.value, [KEK1, KEK2, dek])


def test_wrapped_key_of_another_customer_fails(dek: bytes) -> None:
    wrapped = wrap_data_key(RING_V1, ALICE, dek)
    with pytest.raises(DecryptionError):
        unwrap_data_key(RING_V1, BOB, wrapped)


def test_wrapped_key_relabelled_with_another_version_fails(dek: bytes) -> None:
    wrapped = wrap_data_key(RING_V2, ALICE, dek)
    ring = KeyRing({1: KEK2, 2: KEK2})  # even with the same key bytes under both versions
    with pytest.raises(DecryptionError):
        unwrap_data_key(ring, ALICE, WrappedKey(1, wrapped.blob))


def test_every_bit_flip_and_truncation_of_a_wrapped_key_fails(dek: bytes) -> None:
    blob = wrap_data_key(RING_V1, ALICE, dek).blob
    for broken in [*_bit_flips(blob), *_truncations(blob), blob + b"\x00"]:
        with pytest.raises(DecryptionError) as caught:
            unwrap_data_key(RING_V1, ALICE, WrappedKey(1, broken))
        assert_no_secret(caught.value, [KEK1, dek])


def test_every_bit_flip_and_truncation_of_a_field_fails(dek: bytes) -> None:
    cipher = FieldCipher(dek, ALICE)
    blob = cipher.encrypt("email", SECRET)
    for broken in [*_bit_flips(blob), *_truncations(blob), blob + b"\x00"]:
        with pytest.raises(DecryptionError) as caught:
            cipher.decrypt("email", broken)
        assert_no_secret(caught.value, [dek, SECRET])


@pytest.mark.parametrize(
    ("position", "expected"),
    [(0, "unknown format version"), (2, "different data key"), (20, "failed authentication")],
)
def test_field_errors_say_what_went_wrong(dek: bytes, position: int, expected: str) -> None:
    blob = bytearray(encrypt_field(dek, ALICE, "email", SECRET))
    blob[position] ^= 0x04
    with pytest.raises(DecryptionError, match=expected):
        decrypt_field(dek, ALICE, "email", bytes(blob))


def test_truncated_field_says_so(dek: bytes) -> None:
    with pytest.raises(DecryptionError, match="truncated"):
        decrypt_field(dek, ALICE, "email", encrypt_field(dek, ALICE, "email", "x")[:20])


def test_unknown_wrapped_key_format_is_named(dek: bytes) -> None:
    blob = b"\x07" + wrap_data_key(RING_V1, ALICE, dek).blob[1:]
    with pytest.raises(DecryptionError, match="unknown format version 7"):
        unwrap_data_key(RING_V1, ALICE, WrappedKey(1, blob))


def test_field_copied_to_another_customer_or_field_fails(dek: bytes) -> None:
    blob = encrypt_field(dek, ALICE, "email", SECRET)
    with pytest.raises(DecryptionError, match="failed authentication") as caught:
        decrypt_field(dek, BOB, "email", blob)
    assert_no_secret(caught.value, [dek, SECRET])
    with pytest.raises(DecryptionError, match="failed authentication"):
        decrypt_field(dek, ALICE, "phone", blob)


def test_field_under_another_data_key_fails(dek: bytes) -> None:
    blob = encrypt_field(dek, ALICE, "email", SECRET)
    with pytest.raises(DecryptionError, match="different data key") as caught:
        decrypt_field(new_data_key(), ALICE, "email", blob)
    assert_no_secret(caught.value, [dek, SECRET])


def test_bad_inputs_are_refused_without_echo(dek: bytes) -> None:
    with pytest.raises(VaultError, match="32 bytes"):
        FieldCipher(dek[:16], ALICE)
    with pytest.raises(VaultError, match="customer_ref"):
        FieldCipher(dek, "")
    city = "".join(["Mon", "tebel", "luna"])  # kept out of the source shown in tracebacks
    with pytest.raises(VaultError, match="not valid Unicode") as caught:
        encrypt_field(dek, ALICE, "city", city + "\ud800")
    assert caught.value.__context__ is None
    assert_no_secret(caught.value, [city])


def test_reprs_and_pickling_never_reveal_keys(dek: bytes) -> None:
    wrapped = wrap_data_key(RING_V1, ALICE, dek)
    cipher = FieldCipher(dek, ALICE)
    assert_no_secret(repr(wrapped) + repr(cipher) + str(cipher), [dek, KEK1, wrapped.blob])
    with pytest.raises(TypeError):
        pickle.dumps(cipher)


def _bit_flips(blob: bytes) -> list[bytes]:
    """Every single-bit change of ``blob``."""
    flips = []
    for index in range(len(blob)):
        for bit in range(8):
            changed = bytearray(blob)
            changed[index] ^= 1 << bit
            flips.append(bytes(changed))
    return flips


def _truncations(blob: bytes) -> list[bytes]:
    """``blob`` cut at every shorter length, the empty blob included."""
    return [blob[:length] for length in range(len(blob))]
