"""The ledger's one write path: a change commits on its own or joins the caller's transaction,
as the caller says; batches go through the same appender."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.customers.models import Customer
from app.errors import InvalidInput
from app.extensions import db
from app.ledger import appender, consent, state, verify, writer
from app.ledger.drafts import EventDraft, LedgerError
from app.ledger.models import ConsentEvent, ConsentState
from app.models_base import utcnow
from tests.integration.builders import ensure_notice, grant, make_customer


def _withdraw(session, customer, channel="email", **kw):
    return consent.withdraw(
        session,
        customer,
        purpose="offers",
        channel=channel,
        source="portal",
        method="web_form",
        actor="customer",
        **kw,
    )


def _size(session) -> int:
    size = appender.ledger_size(session)
    session.rollback()
    return size


def _committed_status(customer_id: int) -> str | None:
    """The consent state as another connection sees it (what is committed)."""
    with db.engine.connect() as other:
        return other.scalar(
            select(ConsentState.status).where(
                ConsentState.customer_id == customer_id, ConsentState.purpose == "offers"
            )
        )


def test_a_change_beside_a_reading_session_refreshes_what_it_loaded(session):
    customer = make_customer(session)
    grant(session, customer)
    session.commit()
    loaded = session.get(ConsentState, (customer.id, "offers", "email"))
    assert loaded.status == "granted"
    event = _withdraw(session, customer)
    # The state row the caller had loaded shows the committed change, not the old status.
    assert loaded.status == "withdrawn" and loaded.last_seq == event.seq
    assert _committed_status(customer.id) == "withdrawn"  # committed for everyone
    assert verify.verify_ledger(session).ok


def test_a_change_in_the_callers_transaction_commits_with_it(session):
    customer = make_customer(session)
    ensure_notice(session, "offers")
    session.commit()
    customer.language = "it"  # a change of the caller's own, not yet flushed
    grant(session, customer, caller_owns_transaction=True)
    assert _committed_status(customer.id) is None  # nothing committed yet
    session.commit()
    session.expire_all()
    assert customer.language == "it"
    event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq.desc())).first()
    assert event.language == "it" and event.action == "granted"  # read inside the transaction
    assert _committed_status(customer.id) == "granted"
    assert state.rebuild_state(session, fix=False).differences == []
    assert verify.verify_ledger(session).ok


def test_a_change_in_the_callers_transaction_is_undone_by_its_rollback(session):
    customer = make_customer(session)
    grant(session, customer)
    session.commit()
    before = _size(session)
    _withdraw(session, customer, caller_owns_transaction=True)
    session.rollback()
    assert _size(session) == before
    assert _committed_status(customer.id) == "granted"
    _withdraw(session, customer)  # the tree goes on from the committed leaves
    assert _size(session) == before + 1
    assert verify.verify_ledger(session).ok


def test_a_change_of_its_own_refuses_a_session_with_unsaved_objects(session):
    customer = make_customer(session)
    session.commit()
    assert customer.erased_at is None  # loaded
    customer.language = "it"
    with pytest.raises(RuntimeError, match="caller_owns_transaction"):
        _withdraw(session, customer)
    session.rollback()


@pytest.mark.parametrize("caller_owns_transaction", [False, True])
def test_a_refused_change_writes_nothing_and_the_next_one_chains_on(
    session, caller_owns_transaction
):
    customer = make_customer(session)
    grant(session, customer)
    session.commit()
    before = _size(session)
    with pytest.raises(InvalidInput, match="Unknown purpose"):
        consent.withdraw(
            session,
            customer,
            purpose="no-such-purpose",
            channel="email",
            source="portal",
            method="web_form",
            actor="customer",
            caller_owns_transaction=caller_owns_transaction,
        )
    with pytest.raises(InvalidInput, match="reason"):
        consent.withdraw(
            session,
            customer,
            purpose="offers",
            channel="email",
            source="staff",
            method="staff",
            actor="officer@example.com",
            caller_owns_transaction=caller_owns_transaction,
        )
    session.commit()
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
    writer.forget_frontiers()  # as if another process had appended meanwhile
    for _ in range(3):
        grant(session, customer)
    assert verify.verify_ledger(session).ok


def _imported(customer, action, minutes, purpose="offers", channel="email"):
    return EventDraft(
        customer_ref=customer.ref,
        purpose=purpose,
        channel=channel,
        action=action,
        lawful_basis="legitimate_interest" if action == "objected" else "consent",
        method="import",
        source="import",
        actor="import",
        jurisdiction="IT",
        language="it",
        event_time=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
    )


def test_a_batch_is_appended_and_projected_like_single_changes(session):
    first, second = make_customer(session), make_customer(session)
    grant(session, first)  # a single change before the batch, on the same tree
    session.commit()
    batch = [
        (first.id, _imported(first, "withdrawn", 1)),
        (second.id, _imported(second, "granted", 2, channel="sms")),
        (second.id, _imported(second, "objected", 3, purpose="*", channel="*")),
        (second.id, _imported(second, "granted", 4, purpose="surveys")),  # lifts the objection
        (first.id, _imported(first, "objected", 5, purpose="*", channel="*")),
    ]
    appender.record_batch(session, batch)
    session.expire_all()
    assert [draft.seq for _, draft in batch] == [1, 2, 3, 4, 5]
    assert session.get(ConsentState, (first.id, "offers", "email")).status == "withdrawn"
    assert session.get(ConsentState, (second.id, "surveys", "email")).status == "granted"
    assert second.objected_at is None and first.objected_at is not None
    assert state.rebuild_state(session, fix=False).differences == []
    grant(session, second)  # and single changes chain on after it
    assert verify.verify_ledger(session).ok


def test_a_batch_naming_the_wrong_customer_writes_nothing(session):
    first, second = make_customer(session), make_customer(session)
    session.commit()
    before = _size(session)
    with pytest.raises(LedgerError, match="not the subject"):
        appender.record_batch(
            session,
            [
                (first.id, _imported(first, "granted", 1)),
                (second.id, _imported(first, "granted", 2)),
            ],
        )
    assert _size(session) == before
    assert session.scalars(select(ConsentEvent)).first() is None
