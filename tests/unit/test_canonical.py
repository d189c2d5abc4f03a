"""Canonical consent records are exactly RFC 8785 (JCS) and refuse what JCS cannot pin down."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger.canonical import canonical_bytes

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x7F)),
    st.sampled_from(["\ud800", "a\udfff", "\U0001f600\ue000"]),
)
keys = st.one_of(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=12), st.text())
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)
records = st.dictionaries(keys, json_values, max_size=20)


def _reference(record: dict) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(record)
    except ValueError:
        return ValueError


@settings(max_examples=150, deadline=None)
@given(record=records)
def test_canonical_bytes_equal_rfc8785(record):
    """For every record shape, the bytes equal the reference JCS (or both refuse)."""
    expected = _reference(record)
    if expected is ValueError:
        with pytest.raises(ValueError):
            canonical_bytes(record)
    else:
        assert canonical_bytes(record) == expected


def test_keys_sort_by_utf16_code_units_not_code_points():
    """Non-ASCII keys take the JCS order (U+E000 sorts after the surrogate pair of U+1F600)."""
    record = {"\ue000": 1, "\U0001f600": 2, "a": 3}
    assert canonical_bytes(record) == rfc8785.dumps(record)
    assert canonical_bytes(record).index("\U0001f600".encode()) < canonical_bytes(record).index(
        "\ue000".encode()
    )


def test_control_characters_and_quotes_are_escaped_like_jcs():
    """Short escapes for \\b \\t \\n \\f \\r, lowercase \\u00xx for other controls."""
    record = {"text": 'a"\\\b\t\n\f\r\x01\x1f\x7f\u2028é😀'}
    assert canonical_bytes(record) == rfc8785.dumps(record)
    assert b"\\b\\t\\n\\f\\r\\u0001\\u001f" in canonical_bytes(record)


def test_a_typical_record_is_compact_and_sorted():
    """The consent record's bytes are sorted, without whitespace, null kept."""
    record = {"seq": 7, "action": "granted", "notice": None, "ok": True, "tags": ["b", "a"]}
    assert canonical_bytes(record) == (
        b'{"action":"granted","notice":null,"ok":true,"seq":7,"tags":["b","a"]}'
    )


def test_other_mappings_are_accepted():
    """Any mapping gives the bytes of the equivalent dict (order does not matter)."""
    ordered = OrderedDict([("b", 1), ("a", 2)])
    assert canonical_bytes(ordered) == b'{"a":2,"b":1}'


@pytest.mark.parametrize(
    ("record", "named"),
    [
        ({"score": 1.5}, "floats are not allowed"),
        ({"nested": {"deep": [1, 2.0]}}, "record.nested.deep[1]"),
        ({"big": 2**53}, "outside"),
        ({"small": -(2**53)}, "outside"),
        ({"when": object()}, "type object"),
        ({"raw": b"bytes"}, "type bytes"),
        ({1: "int key"}, "not a string"),
        ({"set": {1, 2}}, "type set"),
    ],
)
def test_non_record_content_is_refused_with_a_clear_message(record, named):
    """Floats, unsafe integers, non-string keys and foreign types raise ValueError naming them."""
    with pytest.raises(ValueError, match=named.replace("[", r"\[").replace("]", r"\]")):
        canonical_bytes(record)


def test_lone_surrogates_are_refused():
    """A string that is not valid Unicode cannot be canonicalised."""
    with pytest.raises(ValueError):
        canonical_bytes({"text": "\ud800"})


def test_top_level_must_be_an_object():
    """A list or string is not a consent record."""
    with pytest.raises(ValueError, match="JSON object"):
        canonical_bytes(["not", "a", "record"])  # type: ignore[arg-type]
