"""Large audiences on PostgreSQL are read in two halves at once, with the same decisions."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session

from app.audience import resolve_audience
from app.audience import rows as audience_rows
from app.decisions.facts_db import load_facts
from app.extensions import db
from app.policy import Intent, decide, load_policies
from tests.integration.test_policy_builders import AT, Profile, add_customer, clear_customers

POLICIES = load_policies("policies")
INTENT = {
    "purpose": "offers",
    "channel": "email",
    "at": AT,
    "template_fields": frozenset({"first_name"}),
}
GRANTED = {("offers", "email"): ("granted", True, 10, None)}


@pytest.fixture
def halves(session, engine_name, monkeypatch):
    """Forty committed customers of every kind, and any audience read in two halves."""
    if engine_name != "postgresql":
        pytest.skip("only PostgreSQL reads an audience in halves")
    clear_customers(session)
    profiles = [
        Profile(
            jurisdiction=("IT", "US", "DE")[n % 3],
            consents=GRANTED if n % 4 else {},
            shares={"offers": ["first_name"]} if n % 5 else {},
            suppressions=("email",) if n % 7 == 0 else (),
            weekly_cap=1 if n % 6 == 0 else None,
            sends=(("email", 5, False),) if n % 2 else (),
        )
        for n in range(40)
    ]
    ids = [add_customer(session, profile) for profile in profiles]
    session.commit()
    monkeypatch.setattr(audience_rows, "SPLIT_FROM", 0)
    return ids


def _expected(session, ids):
    facts = load_facts(session, ids, at=AT)
    session.rollback()
    return {cid: decide(POLICIES, f, Intent(**INTENT)) for cid, f in facts.items()}


def test_both_halves_give_every_candidate_its_own_decision(halves):
    reader = Session(bind=db.engine)
    try:
        assert audience_rows._split_point(reader) is not None  # a fresh reader, a large span
        resolved = list(resolve_audience(reader, **INTENT, policy_set=POLICIES, batch_size=3))
    finally:
        reader.close()
    assert len(resolved) == len(halves)
    assert dict(resolved) == _expected(db.session, halves)


def test_the_halves_read_one_snapshot(halves, monkeypatch):
    """A customer committed after the first half began is in neither half, though its id
    falls in the second, which starts later."""
    late: list[int] = []
    opened = audience_rows._reader

    def reader_after_a_commit(engine, snapshot):
        if snapshot is not None:
            late.append(add_customer(db.session, Profile(consents=GRANTED)))
            db.session.commit()
        return opened(engine, snapshot)

    monkeypatch.setattr(audience_rows, "_reader", reader_after_a_commit)
    reader = Session(bind=db.engine)
    try:
        seen = {cid for cid, _ in resolve_audience(reader, **INTENT, policy_set=POLICIES)}
    finally:
        reader.close()
    assert late and late[0] > max(halves)
    assert seen == set(halves)


def test_stopping_early_releases_both_connections(halves):
    threads = threading.active_count()
    reader = Session(bind=db.engine)
    stream = resolve_audience(reader, **INTENT, policy_set=POLICIES, batch_size=2)
    next(stream)
    stream.close()
    reader.close()
    assert threading.active_count() == threads
    assert db.engine.pool.checkedout() <= 1


def test_an_error_in_a_half_reaches_the_caller(halves, monkeypatch):
    def broken(connection, statement, size):
        raise RuntimeError("the server went away")
        yield  # pragma: no cover

    monkeypatch.setattr(audience_rows, "driver_batches", broken)
    reader = Session(bind=db.engine)
    try:
        with pytest.raises(RuntimeError, match="went away"):
            list(resolve_audience(reader, **INTENT, policy_set=POLICIES))
    finally:
        reader.close()
