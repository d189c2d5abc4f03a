"""RFC 8785 (JCS) canonical JSON of consent records: the exact bytes hashed into a leaf.

Records hold only ``str`` keys and ``str``, ``int`` (``|x| < 2**53``), ``bool``, ``None`` and
nested ``dict``/``list`` values of those. Floats are refused: their JCS form depends on
ECMAScript number formatting, and nothing in a consent record needs one.

For such a record with ASCII keys, ``orjson`` with sorted keys writes exactly the JCS bytes:

* ASCII keys sort the same by code point (orjson) as by UTF-16 code unit (JCS);
* both escape exactly ``"``, ``\\``, and U+0000 to U+001F (``\\b \\t \\n \\f \\r`` in short form,
  the rest as lowercase ``\\u00xx``) and write everything else as UTF-8;
* safe integers, ``true``, ``false`` and ``null`` print identically.

A record with a non-ASCII key goes through the ``rfc8785`` reference implementation instead.
A property test compares :func:`canonical_bytes` with ``rfc8785`` over random records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import rfc8785

SAFE_INTEGER_LIMIT = 2**53
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_PLAIN = frozenset({str, bool, type(None)})


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """The RFC 8785 canonical JSON bytes of ``record``; ``ValueError`` for non-record content."""
    if type(record) is not dict:  # exact type test first: isinstance on an ABC is slow
        if not isinstance(record, Mapping):
            kind = type(record).__name__
            raise ValueError(f"a consent record must be a JSON object, not {kind}")
        record = dict(record)
    if not _check_object(record, "record"):
        return rfc8785.dumps(record)
    try:
        return orjson.dumps(record, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:  # a lone surrogate: not Unicode, so not JSON text
        raise ValueError(f"record: {exc}") from None


def _check_object(obj: dict[Any, Any], where: str) -> bool:
    """Refuse non-record content inside ``obj``; True when all keys inside are ASCII."""
    try:
        ascii_keys = all(map(str.isascii, obj))
    except TypeError:
        bad = next(key for key in obj if not isinstance(key, str))
        raise ValueError(f"{where}: key {bad!r} is not a string") from None
    for key, value in obj.items():
        kind = type(value)
        if kind in _PLAIN:
            continue
        if kind is int and -SAFE_INTEGER_LIMIT < value < SAFE_INTEGER_LIMIT:
            continue
        ascii_keys = _check_value(value, kind, f"{where}.{key}") and ascii_keys
    return ascii_keys


def _check_value(value: Any, kind: type, where: str) -> bool:
    """Check one value that is not a string; True when any objects inside have only ASCII keys."""
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
            if item_kind not in _PLAIN:
                ascii_keys = _check_value(item, item_kind, f"{where}[{position}]") and ascii_keys
        return ascii_keys
    if kind is float:
        raise ValueError(f"{where}: floats are not allowed in consent records ({value!r})")
    raise ValueError(f"{where}: values of type {kind.__name__} are not allowed in consent records")
