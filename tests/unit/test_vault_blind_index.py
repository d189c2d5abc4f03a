"""Blind index: stable under normalisation, different across keys and versions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.vault import (
    FieldValidationError,
    KeyRing,
    blind_index,
    blind_index_candidates,
    blind_index_version,
    normalise_email,
)
from tests.unit.test_vault_support import assert_no_secret

KEY1 = bytes(range(7, 39))
KEY2 = bytes(range(60, 92))
RING = KeyRing({1: KEY1, 2: KEY2})


@pytest.mark.parametrize(
    "variant",
    [
        "anna@bücher.example",
        "  ANNA@Bücher.Example\t",
        "Anna@xn--bcher-kva.example",
        "anna@bu\u0308cher.example",  # decomposed ü (NFD)
    ],
)
def test_equivalent_spellings_share_one_index(variant: str) -> None:
    assert normalise_email(variant) == "anna@xn--bcher-kva.example"
    assert blind_index(RING, variant) == blind_index(RING, "anna@bücher.example")


def test_token_format_and_version() -> None:
    token = blind_index(RING, "anna@example.com")
    assert token.startswith("v2:") and len(token) == 67
    assert blind_index_version(token) == 2
    assert blind_index(RING, "anna@example.com", version=1).startswith("v1:")


def test_differs_across_addresses_keys_and_versions() -> None:
    tokens = {
        blind_index(RING, "anna@example.com"),
        blind_index(RING, "anna@example.com", version=1),
        blind_index(RING, "anne@example.com"),
        blind_index(KeyRing({2: KEY1}), "anna@example.com"),
    }
    assert len(tokens) == 4
    digests = {token.split(":")[1] for token in tokens}
    assert len(digests) == 4


def test_candidates_list_the_active_version_first() -> None:
    candidates = blind_index_candidates(RING, "Anna@Example.com")
    assert [blind_index_version(t) for t in candidates] == [2, 1]
    assert candidates[0] == blind_index(RING, "anna@example.com")


def test_digest_is_not_a_plain_hmac_of_the_address() -> None:
    import hashlib
    import hmac

    plain = hmac.new(KEY2, b"anna@example.com", hashlib.sha256).hexdigest()
    assert blind_index(RING, "anna@example.com") != f"v2:{plain}"


@pytest.mark.parametrize("bad", ["", "no-at-sign", "two@@example.com", "a@b", 42])
def test_invalid_addresses_are_rejected_without_echo(bad: object) -> None:
    with pytest.raises(FieldValidationError) as caught:
        blind_index(RING, bad)  # type: ignore[arg-type]
    assert caught.value.__context__ is None
    if isinstance(bad, str) and len(bad) > 3:
        assert_no_secret(caught.value.message, [bad])


def test_malformed_tokens_are_refused() -> None:
    for token in ["", "1:abc", "v:" + "0" * 64, "vx:" + "0" * 64, "v1:abc"]:
        with pytest.raises(ValueError, match="not a blind index token"):
            blind_index_version(token)


@settings(max_examples=60, deadline=None)
@given(
    local=st.from_regex(r"[a-z0-9]{1,20}(\.[a-z0-9]{1,10})?", fullmatch=True),
    domain=st.from_regex(r"[a-z]{1,15}\.(com|it|example)", fullmatch=True),
)
def test_case_and_whitespace_never_change_the_index(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    shouted = f"  {address.upper()} "
    assert blind_index(RING, shouted) == blind_index(RING, address)
