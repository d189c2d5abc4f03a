"""RFC 8785 (JCS) canonical JSON of consent records: the exact bytes hashed into a leaf.

Records hold only ASCII ``str`` keys and ``str``, ``int`` (``|x| < 2**53``), ``bool``, ``None``
and nested ``dict``/``list`` values of those. Floats are refused: their JCS form depends on
ECMAScript number formatting, and nothing in a consent record needs one.

For such records Python's ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` is byte-for-byte RFC 8785, because

* ASCII keys sort the same by code point (Python) as by UTF-16 code unit (JCS);
* both escape exactly ``"``, ``\\``, and U+0000 to U+001F (``\\b \\t \\n \\f \\r`` in short form,
  the rest as lowercase ``\\u00xx``) and write everything else as UTF-8;
* safe integers, ``true``, ``false`` and ``null`` print identically.

So that fast path (several times quicker) is used when every key is ASCII and the UTF-8
encoding succeeds; any other record (non-ASCII keys, lone surrogates) goes through the
``rfc8785`` reference implementation, which raises ``ValueError`` for what JCS cannot encode.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import rfc8785

SAFE_INTEGER_LIMIT = 2**53


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")  # unreachable after the shape check


def _make_fast_dumps() -> Callable[[dict], str]:
    """``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` made once.

    ``JSONEncoder.encode`` builds a new C encoder on every call; building it once saves
    about 15% per record. Falls back to the public API where the C accelerator is missing.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    escape = getattr(json.encoder, "c_encode_basestring", None)
    public = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
    ).encode
    if make is None or escape is None:
        return public
    try:
        chunks = make(None, _refuse, escape, None, ":", ",", True, False, False)
    except TypeError:  # a future signature: keep to the public API
        return public
    return lambda record: "".join(chunks(record, 0))


_fast_dumps = _make_fast_dumps()


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """The RFC 8785 canonical JSON bytes of ``record``; ``ValueError`` for non-record content."""
    if type(record) is not dict:  # exact type test first: isinstance on an ABC is slow
        if not isinstance(record, Mapping):
            kind = type(record).__name__
            raise ValueError(f"a consent record must be a JSON object, not {kind}")
        record = dict(record)
    if _check_object(record, "record"):
        try:
            return _fast_dumps(record).encode()
        except UnicodeEncodeError:
            pass  # a lone surrogate: let the reference implementation decide
    return rfc8785.dumps(record)


def canonical_record_bytes(record: dict[str, Any]) -> bytes:
    """:func:`canonical_bytes` of a record built by ``record_from_values`` from stored columns.

    Such a record has fixed ASCII keys and column values (text, integers, ``None``, the nested
    notice), so the shape check is skipped; anything the fast path cannot encode still goes
    through :func:`canonical_bytes`. A value of a foreign type smuggled into a column changes
    the bytes, hence the leaf hash, and is reported as an altered entry.
    """
    try:
        return _fast_dumps(record).encode()
    except (UnicodeEncodeError, TypeError):
        return canonical_bytes(record)


def _check_object(obj: dict, where: str) -> bool:
    """Refuse non-record content inside ``obj``; True when all keys inside are ASCII."""
    try:
        ascii_keys = all(map(str.isascii, obj))
    except TypeError:
        bad = next(key for key in obj if not isinstance(key, str))
        raise ValueError(f"{where}: key {bad!r} is not a string") from None
    for key, value in obj.items():
        kind = type(value)
        if kind is str or value is None or kind is bool:
            continue
        if kind is int and -SAFE_INTEGER_LIMIT < value < SAFE_INTEGER_LIMIT:
            continue
        ascii_keys = _check_value(value, kind, f"{where}.{key}") and ascii_keys
    return ascii_keys


def _check_value(value: Any, kind: type, where: str) -> bool:
    """Check one non-string value; True when any objects inside have only ASCII keys."""
    if kind is int:
        if -SAFE_INTEGER_LIMIT < value < SAFE_INTEGER_LIMIT:
            return True
        raise ValueError(f"{where}: integer {value} is outside ±2**53 (not exact in JSON)")
    if kind is dict:
        return _check_object(value, where)
    if kind is list:
        ascii_keys = True
        for position, item in enumerate(value):
            item_kind = type(item)
            if item_kind is str or item_kind is bool or item is None:
                continue
            ascii_keys = _check_value(item, item_kind, f"{where}[{position}]") and ascii_keys
        return ascii_keys
    if kind is float:
        raise ValueError(f"{where}: floats are not allowed in consent records ({value!r})")
    raise ValueError(f"{where}: values of type {kind.__name__} are not allowed in consent records")
