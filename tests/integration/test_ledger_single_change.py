"""A single consent change: on its own connection, or inside the caller's unit of work."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import InvalidInput
from app.extensions import db
from app.ledger import appender, consent, state, verify
from app.ledger.models import ConsentEvent, ConsentState
from app.models_base import utcnow
from app.vault.models import Customer
from tests.integration.builders import grant, make_customer


def _withdraw(session, customer, channel="email"):
    return consent.withdraw(
        session, customer, purpose="offers", channel=channel, source="portal",
        method="web_form", actor="customer",
    )  # fmt: skip


def _size(session) -> int:
    size = appender.ledger_size(session)
    session.rollback()
    return size


def test_a_change_beside_a_reading_session_refreshes_what_it_loaded(session):
    customer = make_customer(session)
    grant(session, customer)
    session.commit()
    loaded = session.get(ConsentState, (customer.id, "offers", "email"))
    assert loaded.status == "granted"
    event = _withdraw(session, customer)
    # The state row the caller had loaded shows the committed change, not the old status.
    assert loaded.status == "withdrawn" and loaded.last_seq == event.seq
    # Committed for every other connection too.
    with db.engine.connect() as other:
        assert (
            other.scalar(select(ConsentState.status).where(ConsentState.customer_id == customer.id))
            == "withdrawn"
        )
    assert verify.verify_ledger(session).ok


def test_a_change_inside_a_unit_of_work_commits_with_it(session):
    customer = make_customer(session)
    session.commit()
    assert customer.language == "en"  # loaded again after the commit
    customer.language = "it"  # a pending change of the caller's own, not yet flushed
    assert customer in session.dirty
    grant(session, customer)
    session.expire_all()
    assert customer.language == "it"  # flushed and committed with the consent
    event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq.desc())).first()
    assert event.language == "it" and event.action == "granted"
    assert state.rebuild_state(session, fix=False).differences == []
    assert verify.verify_ledger(session).ok


def test_a_new_customer_and_their_consent_are_one_transaction(session):
    from app.vault.service import register_customer

    customer = register_customer(session, email="fresh@example.com", jurisdiction="IT")
    assert customer in session.new or customer.id is not None
    grant(session, customer)
    assert session.get(ConsentState, (customer.id, "offers", "email")).status == "granted"
    assert verify.verify_ledger(session).ok


def test_a_refused_change_writes_nothing_and_the_next_one_chains_on(session):
    customer = make_customer(session)
    grant(session, customer)
    session.commit()
    before = _size(session)
    with pytest.raises(InvalidInput, match="Unknown purpose"):
        consent.withdraw(
            session, customer, purpose="no-such-purpose", channel="email",
            source="portal", method="web_form", actor="customer",
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="reason"):
        consent.withdraw(
            session, customer, purpose="offers", channel="email",
            source="staff", method="staff", actor="officer@example.com",
        )  # fmt: skip
    assert _size(session) == before
    _withdraw(session, customer)
    assert _size(session) == before + 1
    assert verify.verify_ledger(session).ok


def test_the_customer_is_read_inside_the_change(session):
    customer = make_customer(session)
    session.commit()
    assert customer.erased_at is None  # loaded, then erased elsewhere
    with db.engine.begin() as other:
        other.execute(
            Customer.__table__.update()
            .where(Customer.__table__.c.id == customer.id)
            .values(erased_at=utcnow())
        )
    with pytest.raises(InvalidInput, match="erased"):
        _withdraw(session, customer)
    session.rollback()


def test_an_objection_and_a_later_consent_update_the_loaded_customer(session):
    customer = make_customer(session)
    session.commit()
    assert customer.objected_at is None  # loaded, nothing pending: the change runs on its own
    consent.object_to_direct_marketing(
        session, customer, source="portal", method="web_form", actor="customer"
    )
    assert customer.objected_at is not None
    assert not session.dirty
    grant(session, customer, channel="sms")
    assert customer.objected_at is None
    with db.engine.connect() as other:
        assert other.scalar(select(Customer.objected_at).where(Customer.id == customer.id)) is None
    assert state.rebuild_state(session, fix=False).differences == []


def test_changes_after_another_writer_resume_the_tree_from_stored_nodes(session):
    customer = make_customer(session)
    for _ in range(3):
        grant(session, customer)
        _withdraw(session, customer)
    appender._frontiers.clear()  # as if another process had appended meanwhile
    for _ in range(3):
        grant(session, customer)
    assert verify.verify_ledger(session).ok


def test_unflushed_objects_make_the_change_join_the_callers_transaction(session):
    from app.ledger import single

    customer = make_customer(session)
    session.commit()
    assert customer.language == "en"
    # Only a read so far: SQLite's driver holds no transaction for it; elsewhere the read's
    # transaction may have written, so the change joins it.
    reading_joins = db.engine.dialect.name != "sqlite"
    assert single._joins_caller(session()) is reading_joins
    customer.language = "it"
    assert single._joins_caller(session())  # a pending change the change must not bypass
