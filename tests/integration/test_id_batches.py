"""``among``: batches of ids as one array parameter on PostgreSQL, an IN list on SQLite."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import StatementError

from app.customers.models import Customer
from app.decisions.facts_db import load_recent_sends
from app.models_base import (
    SQLITE_JSON_BATCH,
    BigintIds,
    among,
    dialect_name,
    pg_array,
    utcnow,
)
from app.outbox.models import SendLog
from app.vault.models import CustomerKey
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


def _unanalysed_send_log(session, rows: int) -> None:
    """``rows`` send-log rows loaded in bulk, as after a restore: no statistics gathered."""
    session.execute(text("ALTER TABLE send_log SET (autovacuum_enabled = false)"))
    session.execute(text("SET LOCAL session_replication_role = replica"))  # no FK per row
    session.execute(
        text(
            "INSERT INTO send_log (customer_id, channel, purpose, transactional, sent_at) "
            "SELECT g % 50000 + 1, 'email', 'offers', false, now() - (g % 900) * interval '1 min' "
            "FROM generate_series(1, :rows) AS g"
        ),
        {"rows": rows},
    )
    session.commit()


def test_a_claim_reads_an_unanalysed_table_with_the_ids_as_one_constant(session, engine_name):
    """After a restore or bulk load nothing has statistics yet: the ids still travel as one
    native array, read once per statement, never parsed again for every row scanned."""
    if engine_name != "postgresql":
        pytest.skip("arrays are PostgreSQL's")
    _unanalysed_send_log(session, 300_000)
    try:
        never_analysed = text(
            "SELECT last_analyze IS NULL AND last_autoanalyze IS NULL "
            "FROM pg_stat_user_tables WHERE relname = 'send_log'"
        )
        assert session.scalar(never_analysed)
        ids = list(range(1, 1001, 2))  # a batch of 500 customers
        query = select(SendLog.customer_id).where(among(session, SendLog.customer_id, ids))
        compiled = query.compile(session.get_bind())
        plan = (
            session.connection()
            .exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params)
            .scalar_one()
        )
        assert "cstring" not in json.dumps(plan)  # no text-to-array parse in the plan
        started = time.perf_counter()
        recent = load_recent_sends(session, ids, utcnow())
        elapsed = time.perf_counter() - started
        assert len(recent) == 500 and sum(len(v["email"]) for v in recent.values()) == 3000
        assert elapsed < 5, f"the claim's send-log read took {elapsed:.1f} s without statistics"
    finally:
        session.rollback()
        session.execute(text("ALTER TABLE send_log RESET (autovacuum_enabled)"))
        session.commit()


def test_ids_reach_postgresql_as_one_typed_array_and_only_integers_pass(session, engine_name):
    """The quick writer of id arrays (text form) still sends a ``bigint[]``, read as a constant,
    and refuses anything that is not an integer before it reaches the server."""
    if engine_name != "postgresql":
        pytest.skip("arrays are PostgreSQL's")
    ids = [add_customer(session, Profile()) for _ in range(5)]
    typed = text("SELECT pg_typeof(:ids)::text, cardinality(:ids)").bindparams(
        bindparam("ids", type_=BigintIds())
    )
    assert tuple(session.execute(typed, {"ids": ids}).one()) == ("bigint[]", 5)
    plan = session.execute(
        text("EXPLAIN (FORMAT JSON) SELECT id FROM customers WHERE id = ANY(:ids)").bindparams(
            bindparam("ids", type_=BigintIds())
        ),
        {"ids": ids},
    ).scalar_one()
    assert "cstring" not in json.dumps(plan)
    for bad in ("1,2", "1 OR 1=1", 1.5, None):
        with pytest.raises((TypeError, StatementError)):
            session.scalars(select(Customer.id).where(among(session, Customer.id, [*ids, bad])))
        session.rollback()
