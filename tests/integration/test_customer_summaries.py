"""Customers' suppression and sharing summaries: kept by the database, checked and repaired."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, select, text, update

from app.customers.models import Customer
from app.extensions import db
from app.outbox.models import Suppression
from app.vault import service as vault
from app.vault.erasure import erase_customer
from app.vault.models import SharingChoice
from app.vault.summaries import repair_summaries, stale_summaries, tokens_of
from tests.integration.builders import make_customer

CHANNELS = ["email", "sms", "*"]
PURPOSES = ["offers", "birthday"]
FIELDS = ["first_name", "city", "language"]


def _summaries(session, customer_id: int) -> tuple[frozenset[str], frozenset[str]]:
    row = session.execute(
        select(Customer.suppressed_on, Customer.shared_for).where(Customer.id == customer_id)
    ).one()
    return tokens_of(row[0]), tokens_of(row[1])


def _bare_customer(session) -> int:
    customer = Customer(jurisdiction="IT")
    session.add(customer)
    session.flush()
    return customer.id


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("share"),
            st.integers(0, 2),
            st.sampled_from(PURPOSES),
            st.sampled_from(FIELDS),
            st.booleans(),
        ),
        st.tuples(
            st.just("forget"), st.integers(0, 2), st.sampled_from(PURPOSES), st.sampled_from(FIELDS)
        ),
        st.tuples(st.just("suppress"), st.integers(0, 2), st.sampled_from(CHANNELS)),
        st.tuples(st.just("lift"), st.integers(0, 2), st.sampled_from(CHANNELS)),
        st.tuples(st.just("move"), st.integers(0, 2), st.sampled_from(CHANNELS), st.integers(0, 2)),
    ),
    max_size=25,
)


def _apply(session, ids, operation, shared, suppressed) -> None:
    """Apply one operation to the rows and to the expected state."""
    kind, who, *rest = operation
    cid = ids[who]
    if kind == "share":
        purpose, field, on = rest
        session.merge(SharingChoice(customer_id=cid, purpose=purpose, field=field, shared=on))
        (shared[cid].add if on else shared[cid].discard)(f"{purpose}:{field}")
    elif kind == "forget":
        purpose, field = rest
        session.execute(
            delete(SharingChoice).where(
                SharingChoice.customer_id == cid,
                SharingChoice.purpose == purpose,
                SharingChoice.field == field,
            )
        )
        shared[cid].discard(f"{purpose}:{field}")
    elif kind == "suppress":
        (channel,) = rest
        session.merge(Suppression(customer_id=cid, channel=channel, reason="bounce", source="t"))
        suppressed[cid].add(channel)
    elif kind == "lift":
        (channel,) = rest
        session.execute(
            delete(Suppression).where(
                Suppression.customer_id == cid, Suppression.channel == channel
            )
        )
        suppressed[cid].discard(channel)
    else:  # move a suppression to another customer (an UPDATE of the key columns)
        channel, to = rest
        target = ids[to]
        if channel not in suppressed[cid] or (channel in suppressed[target] and target != cid):
            return
        session.execute(
            update(Suppression)
            .where(Suppression.customer_id == cid, Suppression.channel == channel)
            .values(customer_id=target)
        )
        suppressed[cid].discard(channel)
        suppressed[target].add(channel)
    session.flush()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations, commit_every=st.integers(1, 6))
def test_summaries_follow_every_change_of_the_rows(session, ops, commit_every):
    """Whatever is inserted, updated or deleted, each customer's summaries equal their rows."""
    session.execute(delete(SharingChoice))
    session.execute(delete(Suppression))
    session.execute(delete(Customer))
    ids = [_bare_customer(session) for _ in range(3)]
    session.commit()
    shared = {cid: set() for cid in ids}
    suppressed = {cid: set() for cid in ids}
    for number, operation in enumerate(ops, 1):
        _apply(session, ids, operation, shared, suppressed)
        if number % commit_every == 0:
            session.commit()
    session.commit()
    for cid in ids:
        assert _summaries(session, cid) == (suppressed[cid], shared[cid])
    assert list(stale_summaries(session)) == []
    session.rollback()


def test_a_rolled_back_change_leaves_the_summary_as_it_was(session):
    cid = _bare_customer(session)
    session.commit()
    session.add(Suppression(customer_id=cid, channel="email", reason="bounce", source="t"))
    session.flush()
    assert _summaries(session, cid)[0] == {"email"}
    session.rollback()
    assert _summaries(session, cid)[0] == frozenset()


def test_registration_and_sharing_choices_reach_the_summary(session):
    customer = make_customer(session)
    vault.set_sharing(session, customer, {("city", "offers"): True, ("first_name", "offers"): True})
    assert {"offers:city", "offers:first_name"} <= _summaries(session, customer.id)[1]
    vault.set_sharing(session, customer, {("city", "offers"): False})
    shared = _summaries(session, customer.id)[1]
    assert "offers:city" not in shared and "offers:first_name" in shared


def test_an_erased_customer_is_suppressed_everywhere_and_shares_nothing(session):
    customer = make_customer(session)
    vault.set_sharing(session, customer, {("city", "offers"): True})
    erase_customer(session, customer, actor="compliance:test", reason="Art. 17 request")
    assert _summaries(session, customer.id) == ({"*"}, frozenset())


def _stale_one(session) -> int:
    """A customer whose stored summary was overwritten behind the triggers' back."""
    cid = _bare_customer(session)
    session.add(Suppression(customer_id=cid, channel="sms", reason="complaint", source="t"))
    session.commit()
    session.execute(update(Customer).where(Customer.id == cid).values(suppressed_on=","))
    session.commit()
    return cid


def test_the_vault_summaries_command_finds_and_repairs_stale_summaries(session, runner):
    cid = _stale_one(session)
    found = runner.invoke(args=["vault", "summaries"])
    assert found.exit_code == 1 and "1 customer summaries differ" in found.output
    repaired = runner.invoke(args=["vault", "summaries", "--repair"])
    assert repaired.exit_code == 0 and "Rewrote 1 stale" in repaired.output
    session.expire_all()
    assert _summaries(session, cid)[0] == {"sms"}
    clean = runner.invoke(args=["vault", "summaries"])
    assert clean.exit_code == 0 and "matches" in clean.output


def test_repair_rewrites_only_the_stale_ones(session):
    cid = _stale_one(session)
    fine = _bare_customer(session)
    session.commit()
    assert [row[0] for row in stale_summaries(session)] == [cid]
    session.rollback()
    assert repair_summaries(session) == 1
    assert list(stale_summaries(session)) == [] and _summaries(session, fine)[0] == frozenset()


def test_concurrent_changes_of_one_customer_are_both_summarised(session, engine_name):
    """Two transactions adding rows for the same customer: neither change is lost."""
    if engine_name != "postgresql":
        pytest.skip("SQLite has a single writer")
    cid = _bare_customer(session)
    session.commit()
    engine = create_engine(db.engine.url)
    insert = text(
        "INSERT INTO sharing_choices (customer_id, field, purpose, shared, changed_at) "
        "VALUES (:cid, :field, 'offers', true, now())"
    )
    try:
        with engine.connect() as first, engine.connect() as second:
            first.begin()
            first.execute(insert, {"cid": cid, "field": "city"})
            done = threading.Event()

            def add_second() -> None:
                with second.begin():
                    second.execute(insert, {"cid": cid, "field": "first_name"})
                done.set()

            worker = threading.Thread(target=add_second)
            worker.start()
            assert not done.wait(0.5), "the second change should wait for the first"
            first.commit()
            worker.join(10)
            assert done.is_set()
    finally:
        engine.dispose()
    session.expire_all()
    assert _summaries(session, cid)[1] == {"offers:city", "offers:first_name"}
