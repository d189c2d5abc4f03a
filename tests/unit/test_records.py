"""Consent records: their time format, their canonical bytes, and the verifier's reading of rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger.canonical import canonical_bytes
from app.ledger.merkle import leaf_hash
from app.ledger.records import RECORD_COLUMNS, format_time, record_from_values
from app.ledger.verify import _leaf_of_row

moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
texts = st.text(max_size=40)  # any code point: controls, quotes, non-ASCII, surrogates
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), zones)
def test_record_times_are_rfc3339_utc_with_microseconds_for_every_year(naive, zone):
    """The one time format of records, whatever the year or zone of the moment given."""
    moment = naive.replace(tzinfo=zone)
    assert format_time(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@st.composite
def rows(draw):
    """Column values of an event, of every content the columns can hold."""
    return {
        "seq": draw(st.integers(0, 2**40)),
        "record_id": draw(texts),
        "customer_ref": draw(texts),
        "purpose": draw(texts),
        "channel": draw(texts),
        "action": draw(texts),
        "lawful_basis": draw(texts),
        "notice_id": draw(st.none() | st.integers(1, 10**6)),
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


def _record(values: dict) -> dict:
    return record_from_values(*(values[name] for name in RECORD_COLUMNS))


@settings(max_examples=300, deadline=None)
@given(rows())
def test_record_bytes_equal_the_rfc8785_reference_or_both_refuse(values):
    """The encoder's fast path gives the reference JCS bytes for every record it may meet."""
    record = _record(values)
    try:
        expected = rfc8785.dumps(record)
    except ValueError:  # JCS cannot encode it (a lone surrogate): neither may the ledger
        with pytest.raises(ValueError):
            canonical_bytes(record)
        return
    assert canonical_bytes(record) == expected


def _as_driver_returns(values: dict, sqlite: bool) -> tuple:
    """The row as a driver returns it: SQLite holds naive UTC text, PostgreSQL aware times."""
    raw = dict(values)
    for name in ("event_time", "expires_at"):
        if raw[name] is not None:
            local = raw[name].astimezone(ZoneInfo("Europe/Rome"))
            raw[name] = raw[name].strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else local
    if raw["evidence"] is not None and not sqlite:
        raw["evidence"] = memoryview(raw["evidence"])  # some drivers return buffers
    return (*(raw[name] for name in RECORD_COLUMNS), b"stored leaf hash")


@settings(max_examples=200, deadline=None)
@given(rows(), st.booleans())
def test_the_verifier_reads_a_stored_row_back_to_the_appended_leaf(values, sqlite):
    """A row read back through either driver hashes to the leaf its values were appended as."""
    raw = _as_driver_returns(values, sqlite)
    try:
        expected = leaf_hash(canonical_bytes(_record(values)))
    except ValueError:
        with pytest.raises(ValueError):
            _leaf_of_row(raw)
        return
    assert _leaf_of_row(raw) == expected


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("event_time", "yesterday"),
        ("event_time", 1732338001),
        ("evidence", "text instead of bytes"),
        ("evidence", 42),
        ("notice_version", 2.5),
        ("seq", 2**60),
    ],
)
def test_values_that_are_no_record_value_cannot_be_read(column, value):
    """What no append could have written raises, and the verifier reports the entry."""
    values = {
        "seq": 7,
        "record_id": "r-1",
        "customer_ref": "c-1",
        "purpose": "offers",
        "channel": "email",
        "action": "granted",
        "lawful_basis": "consent",
        "notice_id": 3,
        "notice_version": 2,
        "notice_hash": "a" * 64,
        "method": "web_form",
        "source": "portal",
        "actor": "customer",
        "reason": None,
        "jurisdiction": "IT",
        "language": "it",
        "event_time": datetime(2026, 11, 23, 5, 0, 1, 2, tzinfo=UTC),
        "expires_at": None,
        "evidence": b"\x00\xff",
    }
    raw = list(_as_driver_returns(values, sqlite=True))
    raw[RECORD_COLUMNS.index(column)] = value
    with pytest.raises((TypeError, ValueError)):
        _leaf_of_row(raw)
