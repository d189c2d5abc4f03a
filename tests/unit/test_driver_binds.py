"""Values the ledger hands to the driver directly must equal what SQLAlchemy's types bind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from app.ledger.drafts import EventDraft, LedgerError
from app.ledger.writer import time_binder
from app.models_base import UTCDateTime

SQLITE = sqlite.dialect()
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
)


def _sqlalchemy_text(moment: datetime) -> str:
    """What SQLAlchemy stores in SQLite for a UTCDateTime column."""
    bound = UTCDateTime().process_bind_param(moment, SQLITE)
    return SQLITE.type_descriptor(UTCDateTime().impl).bind_processor(SQLITE)(bound)


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)), zones)
def test_sqlite_times_are_bound_exactly_as_the_column_type_binds_them(naive, zone):
    moment = naive.replace(tzinfo=zone)
    assert time_binder(SQLITE)(moment) == _sqlalchemy_text(moment)


def test_naive_times_and_none():
    bind = time_binder(SQLITE)
    assert bind(None) is None
    with pytest.raises(LedgerError, match="naive"):
        bind(datetime(2024, 1, 1))


def _draft(**changes) -> EventDraft:
    values = {
        "customer_ref": "r",
        "purpose": "offers",
        "channel": "email",
        "action": "granted",
        "lawful_basis": "consent",
        "method": "web_form",
        "source": "portal",
        "actor": "customer",
        "jurisdiction": "IT",
        "language": "it",
    }
    return EventDraft(**(values | changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"action": "liked"}, "unknown action"),
        ({"method": ["web_form"]}, "unknown method"),  # unhashable: refused, not a TypeError
        ({"lawful_basis": None}, "unknown lawful_basis"),
        ({"source": "staff", "method": "staff", "reason": "  "}, "must give a reason"),
    ],
)
def test_draft_check_names_the_unknown_word(changes, message):
    with pytest.raises(LedgerError, match=message):
        _draft(**changes).check()


def test_draft_check_accepts_known_vocabulary():
    _draft().check()
    _draft(source="staff", method="staff", reason="asked by phone").check()
