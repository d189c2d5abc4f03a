"""Key ring parsing, versions, rotation helpers and secrecy of key material."""

from __future__ import annotations

import base64
import pickle

import pytest

from app.vault import KeyConfigError, KeyRing, KeyUnavailableError
from tests.unit.test_vault_support import assert_no_secret

K1 = bytes(range(1, 33))
K2 = bytes(range(101, 133))
B1 = base64.b64encode(K1).decode()
B2 = base64.b64encode(K2).decode()


def test_highest_version_is_active_and_whitespace_is_tolerated() -> None:
    ring = KeyRing.parse(f"  1 : {B1} ,\n 2:{B2}\n,")
    assert ring.active_version == 2
    assert ring.versions == (1, 2)
    assert ring.key(1) == K1 and ring.active_key == K2


def test_explicit_active_version_wins() -> None:
    ring = KeyRing.parse(f"1:{B1},2:{B2}", active_version=1)
    assert ring.active_version == 1


def test_urlsafe_base64_is_accepted() -> None:
    key = bytes([0xFB] * 32)
    ring = KeyRing.parse("3:" + base64.urlsafe_b64encode(key).decode())
    assert ring.key(3) == key


def test_generated_config_parses_to_a_fresh_key() -> None:
    first, second = KeyRing.generate_config(), KeyRing.generate_config(version=4)
    assert first.startswith("1:") and second.startswith("4:")
    assert KeyRing.parse(first).key(1) != KeyRing.parse(second).key(4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("   ,  ", "empty"),
        (B1, "entry #1 is not of the form"),
        (f"one:{B1}", "entry #1 has a version that is not a positive integer"),
        (f"-1:{B1}", "entry #1 has a version"),
        (f"0:{B1}", "key version 0 is out of range"),
        (f"1:{B1},1:{B2}", "key version 1 appears more than once"),
        ("2:", "key version 2 has no key"),
        (f"2:{B1[:-2]}!!", "key version 2 is not valid base64"),
        ("5:" + base64.b64encode(K1[:16]).decode(), "key version 5 must be 32 bytes, got 16"),
        ("1:" + base64.b64encode(bytes(32)).decode(), "key version 1 is all zero bytes"),
    ],
)
def test_bad_configuration_is_named_without_key_material(text: str, expected: str) -> None:
    with pytest.raises(KeyConfigError, match=expected) as caught:
        KeyRing.parse(text)
    assert_no_secret(caught.value, [K1, K2])


def test_active_version_must_exist() -> None:
    with pytest.raises(KeyConfigError, match="active key version 3 is not in the key ring"):
        KeyRing.parse(f"1:{B1}", active_version=3)


def test_missing_version_is_unavailable() -> None:
    ring = KeyRing.parse(f"1:{B1}")
    with pytest.raises(KeyUnavailableError, match="key version 9 is not in the key ring"):
        ring.key(9)


def test_with_key_and_retire_return_new_rings() -> None:
    ring = KeyRing.parse(f"1:{B1}")
    rotated = ring.with_key(2, K2)
    assert rotated.active_version == 2 and ring.versions == (1,)
    retired = rotated.retire(1)
    assert retired.versions == (2,) and 1 not in retired
    with pytest.raises(KeyConfigError, match="key version 2 is active"):
        retired.retire(2)
    with pytest.raises(KeyConfigError, match="already in the key ring"):
        rotated.with_key(2, K2)


def test_repr_str_and_pickle_never_reveal_keys() -> None:
    ring = KeyRing.parse(f"1:{B1},2:{B2}")
    assert repr(ring) == "KeyRing(versions=[1, 2], active_version=2)"
    assert_no_secret(repr(ring) + str(ring), [K1, K2])
    with pytest.raises(TypeError):
        pickle.dumps(ring)
