"""``among``: batches of ids as one array parameter on PostgreSQL, an IN list on SQLite."""

from __future__ import annotations

from sqlalchemy import select

from app.models_base import among, dialect_name
from app.vault.models import Customer, CustomerKey
from app.vault.service import register_customer
from tests.integration.test_policy_builders import Profile, add_customer


def test_among_selects_exactly_the_given_ids(session, engine_name):
    ids = [add_customer(session, Profile()) for _ in range(60)]  # over psycopg's 50-parameter cache
    wanted = ids[::3]
    found = session.scalars(select(Customer.id).where(among(session, Customer.id, wanted)))
    assert sorted(found) == sorted(wanted)
    assert session.scalars(select(Customer.id).where(among(session, Customer.id, []))).all() == []
    compiled = str(select(Customer.id).where(among(session, Customer.id, wanted)).compile(
        session.get_bind()
    ))  # fmt: skip
    assert ("ANY" in compiled) == (engine_name == "postgresql")


def test_among_follows_the_database_that_holds_the_table(session):
    """Data keys live in the key store (its own database): its dialect decides the form."""
    customer = register_customer(session, email="keys@example.com", jurisdiction="IT")
    session.commit()
    keystore = dialect_name(session, CustomerKey.__table__)
    assert keystore == session.get_bind(clause=CustomerKey.__table__).dialect.name
    rows = session.execute(
        select(CustomerKey.customer_id).where(
            among(session, CustomerKey.customer_id, [customer.id])
        )
    ).all()
    assert [row[0] for row in rows] == [customer.id]
