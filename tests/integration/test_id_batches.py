"""``among``: batches of ids as one array parameter on PostgreSQL, an IN list on SQLite."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from app.models_base import SQLITE_JSON_BATCH, among, dialect_name, pg_array
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


def test_among_large_batches_on_every_database(session, engine_name):
    """Above SQLITE_JSON_BATCH ids SQLite reads one JSON array; the rows are the same."""
    ids = [add_customer(session, Profile()) for _ in range(SQLITE_JSON_BATCH + 40)]
    wanted = [*ids[1:], 10**12]  # the last id matches nothing
    found = session.scalars(select(Customer.id).where(among(session, Customer.id, wanted)))
    assert sorted(found) == sorted(ids[1:])
    compiled = str(select(Customer.id).where(among(session, Customer.id, wanted)).compile(
        session.get_bind()
    ))  # fmt: skip
    assert ("json_each" in compiled) == (engine_name == "sqlite")
    if engine_name == "sqlite":
        with pytest.raises(TypeError):
            among(session, Customer.id, [*ids, "1 OR 1=1"])  # only integers in the JSON array


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


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(2**63), 2**63 - 1),
            st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
        ),
        max_size=8,
    )
)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_pg_array_text_round_trips_through_postgresql(session, engine_name, values):
    """Whatever the values (quotes, backslashes, braces, commas, NULL-like text), the server
    reads back exactly the list that was written."""
    if engine_name != "postgresql":
        pytest.skip("arrays are PostgreSQL's")
    kinds = {type(v) for v in values if v is not None}
    if len(kinds) > 1:
        values = [v for v in values if v is None or isinstance(v, str)]
    kind = (kinds - {type(None)} or {str}).pop() if len(kinds) == 1 else str
    sql_type = {bool: "BOOLEAN[]", int: "BIGINT[]", str: "TEXT[]"}[kind]
    back = session.execute(
        text(f"SELECT CAST(:a AS {sql_type})"), {"a": pg_array(values)}
    ).scalar_one()
    assert back == values
