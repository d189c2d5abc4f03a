"""The verifier's fast record encoder equals the record's definition, or refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger.canonical import canonical_bytes
from app.ledger.records import RECORD_COLUMNS, record_from_values
from app.ledger.row_bytes import record_bytes, reference_bytes

moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
texts = st.text(max_size=40)  # any code point: controls, quotes, non-ASCII, surrogates


def _sqlite_text(moment: datetime) -> str:
    """How SQLAlchemy stores an aware UTC datetime in SQLite."""
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


@st.composite
def rows(draw):
    notice_id = draw(st.none() | st.integers(1, 10**6))
    values = {
        "seq": draw(st.integers(0, 2**40)),
        "record_id": draw(texts),
        "customer_ref": draw(texts),
        "purpose": draw(texts),
        "channel": draw(texts),
        "action": draw(texts),
        "lawful_basis": draw(texts),
        "notice_id": notice_id,
        "notice_version": draw(st.none() | st.integers(1, 500)),
        "notice_hash": draw(st.none() | texts),
        "method": draw(texts),
        "source": draw(texts),
        "actor": draw(texts),
        "reason": draw(st.none() | texts),
        "jurisdiction": draw(texts),
        "language": draw(texts),
        "event_time": draw(moments),
        "expires_at": draw(st.none() | moments),
        "evidence": draw(st.none() | st.binary(max_size=40)),
    }
    return values


def _definition(values: dict) -> bytes:
    return canonical_bytes(record_from_values(*(values[name] for name in RECORD_COLUMNS)))


def _raw(values: dict, sqlite: bool) -> tuple:
    raw = dict(values)
    if sqlite:
        for name in ("event_time", "expires_at"):
            if raw[name] is not None:
                raw[name] = _sqlite_text(raw[name])
    return tuple(raw[name] for name in RECORD_COLUMNS)


@settings(max_examples=300, deadline=None)
@given(rows(), st.booleans())
def test_fast_bytes_equal_the_definition_or_the_fast_path_refuses(values, sqlite):
    raw = _raw(values, sqlite)
    try:
        expected = _definition(values)
    except ValueError:  # JCS cannot encode it (a lone surrogate): neither path may
        with pytest.raises((ValueError, TypeError, UnicodeEncodeError)):
            record_bytes(*raw)
        return
    try:
        fast = record_bytes(*raw)
    except (TypeError, ValueError):
        fast = None
    if fast is not None:
        assert fast == expected
    assert reference_bytes(*raw) == expected


def test_a_postgresql_timestamp_in_another_zone_encodes_as_utc():
    values = _example()
    local = values["event_time"].astimezone(ZoneInfo("Europe/Rome"))
    raw = list(_raw(values, sqlite=False))
    raw[RECORD_COLUMNS.index("event_time")] = local
    assert record_bytes(*raw) == _definition(values)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("notice_version", "2"),  # a number stored as text
        ("seq", 7.0),
        ("event_time", "2026-11-23T05:00:01.000002"),  # another text format
        ("event_time", datetime(2026, 11, 23)),  # naive
        ("evidence", "text instead of bytes"),
        ("actor", 42),
    ],
)
def test_values_of_another_shape_are_refused_not_guessed(column, value):
    raw = list(_raw(_example(), sqlite=True))
    raw[RECORD_COLUMNS.index(column)] = value
    with pytest.raises((TypeError, ValueError)):
        record_bytes(*raw)


def _example() -> dict:
    when = datetime(2026, 11, 23, 5, 0, 1, 2, tzinfo=UTC)
    return {
        "seq": 7, "record_id": "r-1", "customer_ref": "c-1", "purpose": "offers",
        "channel": "email", "action": "granted", "lawful_basis": "consent", "notice_id": 3,
        "notice_version": 2, "notice_hash": "a" * 64, "method": "web_form",
        "source": "portal", "actor": "customer", "reason": None, "jurisdiction": "IT",
        "language": "it", "event_time": when, "expires_at": when + timedelta(days=365),
        "evidence": b"\x00\xff",
    }  # fmt: skip
